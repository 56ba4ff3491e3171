#!/usr/bin/env node
// Second half of `npm run build` (ADR 0009): joins the per-file JavaScript
// that tsc wrote into dist/ into one file per entry of package.json
// `exports` (plus the `bin`), with the code that several entries share in
// dist/_chunks/. A cold `import "@x/replay"` then reads a handful of files
// instead of about seventy; Node 20's loader pays roughly 0.8 ms per module.
//
// - Each shared module lands in exactly one chunk, so module state (the
//   class whose private field marks valid values, the live-context WeakMap,
//   classes checked with instanceof) is one instance for all entries, as with
//   separate files.
// - Packages (`yaml`, `@mswjs/interceptors`, ...) and `node:` built-ins stay
//   imports: they are the consumer's to install, and lazy loads stay lazy.
// - The .d.ts files that tsc wrote stay where they are; only the .js files
//   are replaced, so the `types` paths of `exports` do not change.
//
//   node tools/bundle.mjs      (after `tsc -p tsconfig.build.json`)
import { build } from "esbuild";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(root, "dist");
const staging = join(root, ".tmp", "bundle");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

/** Every JavaScript file an entry of `exports` or `bin` names, relative to the root. */
function entryFiles() {
  const files = new Set();
  const collect = (target) => {
    if (typeof target === "string") {
      if (target.endsWith(".js")) files.add(join(root, target));
    } else if (target !== null && typeof target === "object") {
      for (const value of Object.values(target)) collect(value);
    }
  };
  collect(pkg.exports);
  collect(pkg.bin);
  for (const file of files) {
    if (!file.startsWith(dist + "/")) throw new Error(`entry outside dist/: ${file}`);
  }
  return [...files].sort();
}

/** All files under `dir` whose name ends with `suffix`. */
function filesUnder(dir, suffix) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(path, suffix);
    return entry.name.endsWith(suffix) ? [path] : [];
  });
}

const entries = entryFiles();
rmSync(staging, { recursive: true, force: true });
const result = await build({
  entryPoints: entries,
  outbase: dist,
  outdir: staging,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "es2022",
  packages: "external",
  // Class and function names stay as written: errors and describe() show them.
  keepNames: true,
  chunkNames: "_chunks/[name]-[hash]",
  legalComments: "none",
  logLevel: "warning",
  metafile: true,
});

// Replace tsc's JavaScript with the bundles; keep its declarations.
for (const file of filesUnder(dist, ".js")) rmSync(file);
for (const file of filesUnder(staging, ".js")) {
  const target = join(dist, relative(staging, file));
  mkdirSync(dirname(target), { recursive: true });
  renameSync(file, target);
}
rmSync(staging, { recursive: true, force: true });

const outputs = Object.keys(result.metafile.outputs);
console.log(
  `bundled ${entries.length} entries into ${outputs.length} files: ${
    outputs.map((file) => relative(staging, join(root, file))).sort().join(", ")
  }`,
);
