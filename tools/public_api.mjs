#!/usr/bin/env node
// The public API as the TypeScript checker sees it: every name each entry of
// deno.json's `exports` makes public (values and types), sorted.
// `node tools/public_api.mjs` prints it as JSON; tools/public_api_test.mjs
// compares it with tools/public_api.json, so no change to the published
// names, on JSR or npm, goes unnoticed. After a deliberate change:
// `node tools/public_api.mjs > tools/public_api.json`.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));

/** `{ subpath: [names] }` for every entry of deno.json's exports. */
export function publicApi() {
  const ts = createRequire(join(root, "package.json"))("typescript");
  const entries = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).exports;
  const files = Object.values(entries).map((file) => resolve(root, file));
  const program = ts.createProgram(files, {
    allowImportingTsExtensions: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  });
  const checker = program.getTypeChecker();
  return Object.fromEntries(
    Object.entries(entries).map(([subpath, file]) => {
      const source = program.getSourceFile(resolve(root, file));
      const names = checker.getExportsOfModule(checker.getSymbolAtLocation(source))
        .map((symbol) => symbol.getName())
        .sort();
      return [subpath, names];
    }),
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(publicApi(), null, 2));
}
