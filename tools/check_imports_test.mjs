// Tests of tools/check_imports.mjs: `node --test tools/` (part of the `check` task).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { checkImports, readRules } from "./check_imports.mjs";

const repository = dirname(dirname(fileURLToPath(import.meta.url)));
const ts = createRequire(join(repository, "package.json"))("typescript");

const RULES = `# Architecture

| room     | may import      | packages |
| -------- | --------------- | -------- |
| \`core\`   | —               | —        |
| \`store\`  | \`core\`          | —        |
| \`broker\` | \`core\`, \`store\` | —        |
| \`cli\`    | \`core\`, \`store\`, \`broker\` | \`yaml\` |
| \`mod.ts\` | \`core\`, \`store\`, \`broker\` | — |
`;

/** A scratch tree: `files` maps paths to contents; the rules page is added unless given. */
function tree(files) {
  const root = mkdtempSync(join(tmpdir(), "check-imports-"));
  const all = {
    "docs/ARCHITECTURE.md": RULES,
    "mod.ts": 'export * from "./src/core/a.ts";\n',
    ...files,
  };
  for (const [path, text] of Object.entries(all)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

function problemsOf(files) {
  const root = tree(files);
  try {
    return checkImports(root, ts);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** A tree in which every room of RULES has a module and every rule holds. */
const CLEAN = {
  "src/core/a.ts": "export const a = 1;\n",
  "src/store/s.ts": 'import { a } from "../core/a.ts";\nexport const s = a;\n',
  "src/broker/b.ts": 'import { s } from "../store/s.ts";\nexport const b = s;\n',
  "src/cli/c.ts": 'import { b } from "../broker/b.ts";\nimport "yaml";\nexport const c = b;\n',
};

test("checkImports() passes the repository as it is", () => {
  assert.deepEqual(checkImports(repository, ts), []);
});

test("checkImports() passes a tree that keeps the rules, JSDoc examples included", () => {
  assert.deepEqual(
    problemsOf({
      ...CLEAN,
      "src/core/doc.ts": [
        "/**",
        " * @example",
        " * ```ts",
        ' * import { c } from "../cli/c.ts";',
        ' * import { replay } from "@x/replay";',
        " * ```",
        " */",
        "export const doc = 1;",
        "",
      ].join("\n"),
    }),
    [],
  );
});

test("checkImports() reports an import cycle, type-only imports included", () => {
  // The shape of the two cycles issue 10 removed: a public store file and the
  // private procedure that imported its options type back.
  const problems = problemsOf({
    ...CLEAN,
    "src/store/file_store.ts": 'import { run } from "./_procedures.ts";\nexport const f = run;\n',
    "src/store/_procedures.ts":
      'import type { Options } from "./file_store.ts";\nexport const run = (o?: Options) => o;\n',
  });
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(
    problems[0],
    /^src\/store\/_procedures\.ts:1: import cycle: src\/store\/_procedures\.ts -> src\/store\/file_store\.ts -> src\/store\/_procedures\.ts$/,
  );
});

test("checkImports() reports a cycle across rooms and a module importing itself", () => {
  const problems = problemsOf({
    ...CLEAN,
    "src/core/a.ts": 'import "./a.ts";\nexport const a = 1;\n',
    "src/core/x.ts": 'import { y } from "../store/y.ts";\nexport const x = y;\n',
    "src/store/y.ts": 'import { x } from "../core/x.ts";\nexport const y = x;\n',
  });
  assert.ok(
    problems.some((p) =>
      /^src\/core\/a\.ts:1: import cycle: src\/core\/a\.ts -> src\/core\/a\.ts$/.test(p)
    ),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) =>
      /import cycle: src\/core\/x\.ts -> src\/store\/y\.ts -> src\/core\/x\.ts/.test(p)
    ),
    problems.join("\n"),
  );
  assert.ok(
    problems.some((p) => /src\/core\/x\.ts:1: room "core" may not import room "store"/.test(p)),
    problems.join("\n"),
  );
});

test("checkImports() reports an import against the direction of the table", () => {
  const problems = problemsOf({
    ...CLEAN,
    "src/store/bad.ts": 'import { b } from "../broker/b.ts";\nexport const bad = b;\n',
    "src/broker/worse.ts": '\n\nexport { c } from "../cli/c.ts";\n',
    "src/core/lazy.ts": 'export const load = () => import("../store/s.ts");\n',
  });
  assert.deepEqual(problems.map((p) => p.replace(/; it may import.*/, "")), [
    'src/broker/worse.ts:3: room "broker" may not import room "cli" ("../cli/c.ts")',
    'src/core/lazy.ts:1: room "core" may not import room "store" ("../store/s.ts")',
    'src/store/bad.ts:1: room "store" may not import room "broker" ("../broker/b.ts")',
  ]);
});

test("checkImports() reports a package its room does not list, and self-imports by name", () => {
  const problems = problemsOf({
    ...CLEAN,
    "src/core/p.ts":
      'import { parse } from "yaml";\nimport { replay } from "@x/replay";\nimport { readFileSync } from "node:fs";\nexport const p = [parse, replay, readFileSync];\n',
  });
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(problems[0], /^src\/core\/p\.ts:1: "yaml": room "core" may use the packages \[\]/);
  assert.match(problems[1], /^src\/core\/p\.ts:2: "@x\/replay": room "core"/);
});

test("checkImports() reports rooms missing from the page, pages naming no room, and broken paths", () => {
  const problems = problemsOf({
    "src/core/a.ts": 'import "./gone.ts";\nexport const a = 1;\n',
    "src/store/s.ts": "export const s = 1;\n",
    "src/broker/b.ts": "export const b = 1;\n",
    "src/extra/e.ts": "export const e = 1;\n",
  });
  assert.deepEqual(problems, [
    'docs/ARCHITECTURE.md:8: room "cli" has no modules in the tree',
    'src/core/a.ts:1: "./gone.ts" does not exist',
    'src/extra/e.ts:1: room "extra" is not in the rules table of docs/ARCHITECTURE.md',
  ]);
});

test("readRules() reads the table and refuses a page without one", () => {
  const rules = readRules(RULES, "ARCHITECTURE.md");
  assert.deepEqual(rules.get("broker"), { imports: ["core", "store"], packages: [], line: 7 });
  assert.deepEqual(rules.get("cli")?.packages, ["yaml"]);
  assert.throws(() => readRules("# nothing here\n", "page.md"), /page\.md: no table/);
});
