// `@x/replay` alone must never load @mswjs/interceptors or the interception
// room (src/http/intercept/): only `@x/replay/intercept`, and
// withCassette({ intercept: true }) through a dynamic import, may. This walks
// the import graph that loading mod.ts evaluates (value imports and
// re-exports; not `import type`, not `import()`) and checks it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const ts = createRequire(join(root, "package.json"))("typescript");

/** The specifiers a module evaluates when it loads, and those it imports dynamically. */
function importsOf(file) {
  const source = ts.createSourceFile(
    file,
    readFileSync(file, "utf8"),
    ts.ScriptTarget.Latest,
    true,
  );
  const loaded = [];
  const dynamic = [];
  const visit = (node) => {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) {
      const named = node.importClause?.namedBindings;
      const allTypes = node.importClause !== undefined && node.importClause.name === undefined &&
        named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 &&
        named.elements.every((element) => element.isTypeOnly);
      if (!allTypes) loaded.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && !node.isTypeOnly) {
      loaded.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      dynamic.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { loaded, dynamic };
}

/** Every module and package that loading `entry` evaluates, with the dynamic imports met on the way. */
function graph(entry) {
  const modules = new Set();
  const packages = new Set();
  const dynamic = [];
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop();
    if (modules.has(file)) continue;
    modules.add(file);
    const found = importsOf(file);
    for (const specifier of found.dynamic) dynamic.push({ from: file, specifier });
    for (const specifier of found.loaded) {
      if (specifier.startsWith(".")) queue.push(resolve(dirname(file), specifier));
      else if (!specifier.startsWith("node:")) packages.add(specifier);
    }
  }
  return { modules, packages, dynamic };
}

const name = (file) => relative(root, file).split(sep).join("/");

test("@x/replay alone never loads the interception room or @mswjs/interceptors", () => {
  const { modules, packages, dynamic } = graph(join(root, "mod.ts"));
  const intercept = [...modules].map(name).filter((file) => file.startsWith("src/http/intercept/"));
  assert.deepEqual(intercept, []);
  assert.deepEqual([...packages].filter((pkg) => pkg.startsWith("@mswjs/")), []);
  // The one way in: withCassette() imports the room when a test asks to intercept.
  // (codec/_yaml.ts imports yaml only where no synchronous require() exists,
  // on Deno from a remote URL: ADR 0009.)
  assert.deepEqual(
    dynamic.map(({ from, specifier }) => `${name(from)} -> ${specifier}`).sort(),
    ["src/codec/_yaml.ts -> yaml", "src/testing/with_cassette.ts -> ../http/intercept/mod.ts"],
  );
});

test("@x/replay/intercept loads @mswjs/interceptors", () => {
  const { packages } = graph(join(root, "src", "http", "intercept", "mod.ts"));
  assert.ok(packages.has("@mswjs/interceptors"), [...packages].join(", "));
});
