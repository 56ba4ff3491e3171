#!/usr/bin/env node
// Checks the import rules of docs/ARCHITECTURE.md against the code:
// `node tools/check_imports.mjs` (part of the `lint` task).
//
// The rules are read from the table in docs/ARCHITECTURE.md whose header is
// `| room | may import | packages |`, so the page and the check cannot drift
// apart. A room is a folder under src/ (for http/, each subfolder is a room of
// its own); `mod.ts` at the top is the package entry. Every module's imports
// are read with TypeScript's own pre-processor (comments and JSDoc examples
// are not imports; `import type`, `export … from` and `import("…")` are).
//
// It reports, with file and line:
// - a module in a folder the table does not name, or a room with no folder;
// - an import of another room that the table does not allow (nothing may
//   import `cli`, because no row lists it);
// - a bare import other than `node:*` that the room's `packages` cell does not
//   list (so an npm dependency cannot leak into a room that must stay light);
// - a relative import of a file that does not exist;
// - an import cycle between modules, type-only imports included.
//
// Exits 1 when anything is reported. `checkImports(root)` returns the
// problems for tests (tools/check_imports_test.mjs).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const HEADER = /^\|\s*room\s*\|\s*may import\s*\|\s*packages\s*\|\s*$/i;
const NONE = new Set(["", "—", "-", "none"]);

/** The cells of a markdown table row, without backticks. */
function cells(line) {
  return line.trim().replace(/^\||\|$/g, "").split("|").map((cell) =>
    cell.replaceAll("`", "").trim()
  );
}

/** A comma-separated cell as a list; "—" is empty. */
function list(cell) {
  return NONE.has(cell) ? [] : cell.split(",").map((item) => item.trim()).filter(Boolean);
}

/** The rules table of the architecture page: room -> { imports, packages, line }. */
export function readRules(markdown, where) {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => HEADER.test(line));
  if (start < 0) {
    throw new Error(`${where}: no table with the header "| room | may import | packages |"`);
  }
  const rules = new Map();
  for (
    let index = start + 2;
    index < lines.length && lines[index].trim().startsWith("|");
    index++
  ) {
    const [room, imports, packages] = cells(lines[index]);
    if (!room || imports === undefined || packages === undefined) {
      throw new Error(`${where}:${index + 1}: a rules row needs three cells`);
    }
    rules.set(room, { imports: list(imports), packages: list(packages), line: index + 1 });
  }
  return rules;
}

function walk(dir) {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** The room of a module: its folder under src/, with http/ split by subfolder. */
function roomOf(root, file) {
  const path = relative(root, file).split(sep);
  if (path.length === 1) return path[0]; // mod.ts
  const [, first, second] = path; // "src", room, [subroom or file]
  return path.length > 3 && first === "http" ? `${first}/${second}` : first;
}

function loadTypeScript(root) {
  const require = createRequire(join(root, "package.json"));
  return require("typescript");
}

/**
 * Every problem of the tree at `root` (a folder with mod.ts, src/ and
 * docs/ARCHITECTURE.md), as "path:line: message" strings, sorted.
 */
export function checkImports(root, ts = loadTypeScript(root)) {
  const page = join(root, "docs", "ARCHITECTURE.md");
  const rules = readRules(readFileSync(page, "utf8"), relative(root, page));
  const problems = [];
  const modules = [join(root, "mod.ts"), ...walk(join(root, "src"))].filter((file) =>
    file.endsWith(".ts")
  );
  const graph = new Map(); // module -> [{ target, line }]
  const seenRooms = new Set();

  for (const file of modules) {
    const name = relative(root, file).split(sep).join("/");
    const room = roomOf(root, file);
    seenRooms.add(room);
    const rule = rules.get(room);
    if (!rule) {
      problems.push(`${name}:1: room "${room}" is not in the rules table of docs/ARCHITECTURE.md`);
    }
    const text = readFileSync(file, "utf8");
    const lineOf = (position) => text.slice(0, position).split("\n").length;
    const edges = [];
    for (const imported of ts.preProcessFile(text, true, true).importedFiles) {
      const specifier = imported.fileName;
      const line = lineOf(imported.pos);
      if (!specifier.startsWith(".")) {
        if (specifier.startsWith("node:")) continue;
        const pkg = specifier.split("/").slice(0, specifier.startsWith("@") ? 2 : 1).join("/");
        if (rule && !rule.packages.includes(pkg)) {
          problems.push(
            `${name}:${line}: "${specifier}": room "${room}" may use the packages [${
              rule.packages.join(", ")
            }] (and node:*); import other rooms by relative path`,
          );
        }
        continue;
      }
      const target = resolve(dirname(file), specifier);
      if (!existsSync(target)) {
        problems.push(`${name}:${line}: "${specifier}" does not exist`);
        continue;
      }
      edges.push({ target, line, specifier });
      const targetRoom = roomOf(root, target);
      if (rule && targetRoom !== room && !rule.imports.includes(targetRoom)) {
        problems.push(
          `${name}:${line}: room "${room}" may not import room "${targetRoom}" ("${specifier}"); it may import [${
            rule.imports.join(", ")
          }]`,
        );
      }
    }
    graph.set(file, edges);
  }

  for (const [room, rule] of rules) {
    if (!seenRooms.has(room)) {
      problems.push(
        `docs/ARCHITECTURE.md:${rule.line}: room "${room}" has no modules in the tree`,
      );
    }
  }

  for (const cycle of cycles(graph)) {
    const names = cycle.map((file) => relative(root, file).split(sep).join("/"));
    const first = graph.get(cycle[0]).find((edge) => edge.target === cycle[1 % cycle.length]);
    problems.push(
      `${names[0]}:${first?.line ?? 1}: import cycle: ${[...names, names[0]].join(" -> ")}`,
    );
  }
  return problems.sort();
}

/** The cycles of a module graph: one representative loop per strongly connected component. */
function cycles(graph) {
  // Tarjan's algorithm, iterative so a deep tree cannot overflow the stack.
  let counter = 0;
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const components = [];
  for (const start of graph.keys()) {
    if (index.has(start)) continue;
    const work = [{ node: start, next: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work.at(-1);
      const edges = graph.get(frame.node) ?? [];
      if (frame.next < edges.length) {
        const { target } = edges[frame.next++];
        if (!graph.has(target)) continue;
        if (!index.has(target)) {
          index.set(target, counter);
          low.set(target, counter++);
          stack.push(target);
          onStack.add(target);
          work.push({ node: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(frame.node, Math.min(low.get(frame.node), index.get(target)));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work.at(-1).node;
        low.set(parent, Math.min(low.get(parent), low.get(frame.node)));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component = [];
        let member;
        do {
          member = stack.pop();
          onStack.delete(member);
          component.push(member);
        } while (member !== frame.node);
        const selfLoop = edges.some((edge) => edge.target === frame.node);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  return components.map((component) => loop(graph, new Set(component)));
}

/** A simple loop through a strongly connected component, starting at its first module by name. */
function loop(graph, members) {
  const start = [...members].sort()[0];
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const node = queue.shift();
    for (const { target } of graph.get(node)) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [];
        for (let at = node; at !== undefined; at = previous.get(at)) path.unshift(at);
        return path;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return [start];
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = dirname(dirname(fileURLToPath(import.meta.url)));
  const problems = checkImports(root);
  if (problems.length) {
    console.error(`Import rules (docs/ARCHITECTURE.md) broken in ${problems.length} place(s):`);
    for (const problem of problems) console.error(`  ${problem}`);
    process.exit(1);
  }
  const count = [join(root, "mod.ts"), ...walk(join(root, "src"))].filter((file) =>
    file.endsWith(".ts")
  ).length;
  console.log(`Import rules hold: ${count} modules, no cycles (docs/ARCHITECTURE.md)`);
}
