// Which modules a bare `import "@x/replay"` (with "@x/replay/fetch") loads
// (issue 14, ADR 0009): not the yaml package until a YAML cassette is read
// or written, and never the CLI, the server, the interception adapter or
// @mswjs/interceptors. On Node and Bun this checks the npm build, on Deno
// the sources. Nothing here is timed; bench/peers/cold_start.mjs measures.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import { childCommand } from "./_helpers.ts";

const runtime = (globalThis as { Deno?: unknown }).Deno !== undefined
  ? "deno"
  : (globalThis as { Bun?: unknown }).Bun !== undefined
  ? "bun"
  : "node";

/** Modules no bare import of the library may load, by path or specifier. */
const FORBIDDEN: readonly [string, RegExp][] = [
  ["the yaml package", /(^|[\\/]|npm:\/?)yaml([\\/@]|$)/],
  ["@mswjs/interceptors", /@mswjs[\\/]interceptors/],
  ["the CLI", /[\\/]src[\\/]cli[\\/]/],
  ["the server", /[\\/]src[\\/]http[\\/]server[\\/]/],
  ["the interception adapter", /[\\/]src[\\/]http[\\/]intercept[\\/]/],
];

function offenders(modules: readonly string[]): string[] {
  return FORBIDDEN.flatMap(([name, pattern]) => {
    const hits = modules.filter((module) => pattern.test(module));
    return hits.length === 0 ? [] : [`${name}: ${hits.slice(0, 3).join(", ")}`];
  });
}

/** Runs the probe child with whatever the runtime needs to show its module loads. */
function probe(): { atImport: string[]; afterYaml: string[] } {
  const { command, args, cwd } = childCommand("_import_probe");
  const folder = mkdtempSync(join(tmpdir(), "replay-module-load-"));
  try {
    const extra: string[] = [];
    if (runtime === "node") {
      // A loader hook (it runs in its own thread) reports every ES module load.
      writeFileSync(
        join(folder, "hooks.mjs"),
        'import { writeSync } from "node:fs";\n' +
          "export async function load(url, context, next) {\n" +
          "  writeSync(2, `x-replay-loaded ${url}\\n`);\n" +
          "  return next(url, context);\n}\n",
      );
      writeFileSync(
        join(folder, "register.mjs"),
        'import { register } from "node:module";\n' +
          'register(new URL("./hooks.mjs", import.meta.url));\n',
      );
      extra.push("--import", join(folder, "register.mjs"));
    } else if (runtime === "bun") {
      // A runtime plugin sees every specifier Bun resolves, and its importer.
      writeFileSync(
        join(folder, "preload.mjs"),
        "const seen = (globalThis.__xReplayLoaded = []);\n" +
          'Bun.plugin({ name: "x-replay-trace", setup(build) {\n' +
          "  build.onResolve({ filter: /.*/ }, (args) => {\n" +
          '    seen.push(args.path, args.importer ?? "");\n' +
          "    return undefined;\n  });\n} });\n",
      );
      extra.push("--preload", join(folder, "preload.mjs"));
    }
    const argv = runtime === "deno" ? args : [...extra, ...args];
    const result = spawnSync(command, argv, { cwd, encoding: "utf8" });
    assert.equal(result.status, 0, `probe failed: ${result.stderr}`);
    const report = JSON.parse(result.stdout.trim().split("\n").at(-1)!) as {
      atImport: string[];
      afterYaml: string[];
    };
    if (runtime === "node") {
      // The hook's lines before the phase marker are the loads of the imports.
      const lines = result.stderr.split("\n");
      const marker = lines.indexOf("x-replay-phase yaml");
      assert.notEqual(marker, -1, "the probe wrote its phase marker");
      const esm = (part: string[]) =>
        part.filter((line) => line.startsWith("x-replay-loaded ")).map((line) => line.slice(16));
      report.atImport.push(...esm(lines.slice(0, marker)));
      report.afterYaml.push(...esm(lines));
    }
    return report;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

test('import "@x/replay" loads neither yaml nor the CLI, server or interception code', () => {
  const { atImport, afterYaml } = probe();
  if (runtime !== "deno") {
    // The library itself shows up, so the lists really are what was loaded.
    assert.ok(
      atImport.some((module) => /[\\/]@x[\\/]replay[\\/]dist[\\/]mod\.js$/.test(module)),
      `the library's own entry is among the loaded modules: ${atImport.slice(0, 5).join(", ")}`,
    );
  }
  assert.deepEqual(offenders(atImport), []);
  // Reading a YAML cassette loads yaml, and the lists show it.
  assert.deepEqual(offenders(afterYaml).filter((line) => line.startsWith("the yaml")).length, 1);
});

test(
  'import "@x/replay" statically reaches neither yaml nor the CLI, server or interception code (Deno)',
  { skip: runtime !== "deno" },
  () => {
    // Deno loads the whole static graph before running anything, so the
    // graph `deno info` prints is what a bare import loads.
    const closure = (entry: string): string[] => {
      const result = spawnSync(process.execPath, ["info", "--json", entry], { encoding: "utf8" });
      assert.equal(result.status, 0, result.stderr);
      const graph = JSON.parse(result.stdout) as {
        roots: string[];
        modules: {
          specifier: string;
          dependencies?: { code?: { specifier?: string }; isDynamic?: boolean }[];
        }[];
      };
      const bySpecifier = new Map(graph.modules.map((module) => [module.specifier, module]));
      const reached = new Set<string>();
      const pending = [...graph.roots];
      while (pending.length > 0) {
        const specifier = pending.pop()!;
        if (reached.has(specifier)) continue;
        reached.add(specifier);
        for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
          const next = dependency.code?.specifier;
          if (next !== undefined && dependency.isDynamic !== true) pending.push(next);
        }
      }
      return [...reached];
    };
    const modules = [
      ...closure(import.meta.resolve("@x/replay")),
      ...closure(import.meta.resolve("@x/replay/fetch")),
    ];
    assert.ok(modules.some((module) => module.endsWith("/src/core/replay.ts")));
    assert.deepEqual(offenders(modules), []);
    // The same walk finds the server's own modules from its entry.
    const server = closure(import.meta.resolve("@x/replay/server"));
    assert.ok(offenders(server).some((line) => line.startsWith("the server")));
  },
);
