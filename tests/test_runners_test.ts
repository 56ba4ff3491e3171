import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { startServer } from "./_http.ts";
import { withFolder } from "./_helpers.ts";
import { RUNTIME } from "./_intercept_basics.ts";

// Real Vitest and Jest runs of the fixture tests in tests/fixtures/runners/:
// they use withCassette({ intercept: true }) with no name, so the runner's
// own idea of the test's name must reach it. From TypeScript sources (Deno)
// they load the source tree; compiled (Node, Bun) they load the installed
// package. Both runners run on Node, whichever runtime runs this file.

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, "fixtures", "runners");
const fromSource = import.meta.url.endsWith(".ts");
const node = RUNTIME === "Node" ? process.execPath : "node";

/** A package's bin script, found the way Node finds packages: in node_modules up from here. */
function binOf(name: string): string {
  for (let dir = here;; dir = dirname(dir)) {
    const root = join(dir, "node_modules", name);
    if (existsSync(join(root, "package.json"))) {
      const { bin } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
      return join(root, typeof bin === "string" ? bin : bin[name]);
    }
    if (dirname(dir) === dir) throw new Error(`${name} is not installed`);
  }
}

/** The cassette file name withCassette() gives a test name (ADR 0024). */
function cassetteName(name: string): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^[-.]+|-+$/g, "");
  return `${slug}-${createHash("sha256").update(name).digest("hex").slice(0, 8)}.json`;
}

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function run(args: readonly string[], env: Record<string, string>): Promise<Run> {
  const clean = { ...process.env };
  delete clean.CI;
  delete clean.REPLAY_MODE;
  delete clean.NODE_OPTIONS;
  const child = spawn(node, args, {
    cwd: fixtures,
    env: {
      ...clean,
      ...env,
      ...(fromSource ? { X_REPLAY_SOURCE: join(dirname(here), "mod.ts") } : {}),
      NO_COLOR: "1",
      FORCE_COLOR: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

const runners = {
  vitest: (env: Record<string, string>) =>
    run([binOf("vitest"), "run", "--config", "vitest.config.mjs"], env),
  jest: (env: Record<string, string>) =>
    run([
      "--experimental-vm-modules",
      "--no-warnings",
      binOf("jest"),
      "--config",
      "jest.config.mjs",
      "--runInBand",
    ], env),
};

test(
  "withCassette() names cassettes after the test under real Vitest and Jest runs, and intercepts there",
  { timeout: 120_000 },
  async () => {
    await withFolder(async (folder) => {
      const server = await startServer((received, response) => {
        response.end(`live ${received.url.slice(1)}`);
      });
      const env = (mode: string, extra: Record<string, string>) => ({
        X_REPLAY_URL: server.origin,
        X_REPLAY_EXPECT_MODE: mode,
        X_REPLAY_JEST_CACHE: join(folder, "jest-cache"),
        ...extra,
      });
      const names = ["vitest", "jest"] as const;
      const dirs = { vitest: join(folder, "vitest"), jest: join(folder, "jest") };
      // Both runners at once: each records its test through the live server.
      const recorded = await Promise.all(
        names.map((name) =>
          runners[name](env("record", { X_REPLAY_DIR: dirs[name], REPLAY_MODE: "record" }))
        ),
      );
      await server.close();
      for (const [index, result] of recorded.entries()) {
        assert.equal(result.code, 0, `${names[index]} recording run:\n${result.output}`);
      }
      assert.equal(server.received.length, 2);
      assert.deepEqual(readdirSync(dirs.vitest), [cassetteName("reads the status page")]);
      assert.deepEqual(readdirSync(dirs.jest), [cassetteName("status reads the status page")]);
      // CI: replayed with the server gone, and a request never recorded is a miss.
      const replayed = await Promise.all(
        names.map((name) => runners[name](env("replay", { X_REPLAY_DIR: dirs[name], CI: "true" }))),
      );
      for (const [index, result] of replayed.entries()) {
        const name = names[index];
        assert.equal(result.code, 0, `${name} replaying run:\n${result.output}`);
        assert.match(result.output, /2 passed/, `${name}:\n${result.output}`);
      }
    });
  },
);
