// Tests that the published names stay what tools/public_api.json says, and
// that JSR (deno.json) and npm (package.json) publish the same entries.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { publicApi } from "./public_api.mjs";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const json = (path) => JSON.parse(readFileSync(join(root, path), "utf8"));

test("publicApi() names exactly what tools/public_api.json records", () => {
  assert.deepEqual(
    publicApi(),
    json("tools/public_api.json"),
    "the public API changed; if that is deliberate, run `node tools/public_api.mjs > tools/public_api.json`",
  );
});

test("package.json exports the same entries as deno.json, built from the same modules", () => {
  const deno = json("deno.json").exports;
  const npm = json("package.json").exports;
  assert.deepEqual(Object.keys(npm).sort(), Object.keys(deno).sort());
  for (const [subpath, source] of Object.entries(deno)) {
    const built = source.replace(/^\.\//, "./dist/").replace(/\.ts$/, "");
    assert.deepEqual(npm[subpath], { types: `${built}.d.ts`, import: `${built}.js` }, subpath);
  }
});
