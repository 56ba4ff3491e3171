// Cold start: what importing the library adds to a fresh process, on Node,
// Deno and Bun, beside nock and Polly.js on Node (issue 14, target 4).
//
//   node bench/peers/cold_start.mjs            (about a minute; run from run.mjs as Part 6)
//   COLD_RUNS=40 node bench/peers/cold_start.mjs
//
// Each row is a command started COLD_RUNS times (default 21); the commands
// take turns, so load on the machine falls on all of them alike. A row's
// figure is its median wall time minus the median of its runtime's empty
// program (`node -e 0`, `deno run empty.ts`, `bun -e 0`), measured in the
// same turns. Node and Bun import the npm build (dist/, built if missing)
// by the package's own name, as a user's code does; Deno imports the
// sources through deno.json's import map, as the tests do. Every child
// checks that what it imported has the expected exports, so a row cannot
// measure a failed import.
//
// Target: `@x/replay` + `@x/replay/fetch` at most 40 ms over `node -e 0`.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIfMissing } from "../_build.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const RUNS = Number(process.env.COLD_RUNS ?? 21);
if (!(Number.isInteger(RUNS) && RUNS >= 3)) throw new Error("COLD_RUNS must be an integer ≥ 3");
const TARGET_MS = 40;

buildIfMissing(root, "dist/mod.js");

const deno = join(root, "node_modules/deno/deno");
const bun = join(root, "node_modules/bun/bin/bun.exe");
const scratch = join(root, ".tmp", "cold-start");
mkdirSync(scratch, { recursive: true });
const empty = join(scratch, "empty.ts");
writeFileSync(empty, "\n");

// What each child imports, and a check that the import worked.
const OURS = `const m = await import("@x/replay"); const f = await import("@x/replay/fetch");
if (typeof m.replay !== "function" || typeof f.createReplayFetch !== "function") throw new Error("import failed");`;
const CORE = `const m = await import("@x/replay");
if (typeof m.replay !== "function") throw new Error("import failed");`;
const NOCK =
  `const m = await import("nock"); if (typeof m.default.back !== "function") throw new Error("import failed");`;
const POLLY = `const [{ Polly }, a, p] = await Promise.all([import("@pollyjs/core"),
  import("@pollyjs/adapter-fetch"), import("@pollyjs/persister-fs")]);
Polly.register(a.default); Polly.register(p.default);`;
const denoFile = (name, code) => {
  const path = join(scratch, `${name}.ts`);
  writeFileSync(path, `${code}\nexport {};\n`);
  return path;
};

const nodeEval = (code) => [process.execPath, "--input-type=module", "-e", code];
const rows = [
  { runtime: "node", name: "node -e 0 [baseline]", argv: [process.execPath, "-e", "0"] },
  { runtime: "node", name: "@x/replay + @x/replay/fetch", argv: nodeEval(OURS), target: true },
  { runtime: "node", name: "@x/replay alone", argv: nodeEval(CORE) },
  { runtime: "node", name: "nock (info)", argv: nodeEval(NOCK) },
  {
    runtime: "node",
    name: "Polly.js core + adapter-fetch + persister-fs (info)",
    argv: nodeEval(POLLY),
  },
];
if (existsSync(deno)) {
  // Two information rows show where Deno's time goes: the same code as one
  // bundled file (no module graph to resolve), and a file that imports only the
  // node: built-ins that code imports (Deno's Node compatibility layer).
  const bundle = join(scratch, "bundle.mjs");
  const esbuild = await import("esbuild");
  await esbuild.build({
    stdin: {
      contents: `export * from "./dist/mod.js"; export * from "./dist/src/http/fetch/mod.js";`,
      resolveDir: root,
      loader: "js",
    },
    bundle: true,
    format: "esm",
    platform: "node",
    outfile: bundle,
    // What loads on demand stays out: yaml, and the interception room withCassette() may import.
    external: ["yaml", "@mswjs/*", "./src/http/intercept/mod.js"],
    logLevel: "error",
  });
  const builtins = [
    ...new Set(
      [...readFileSync(bundle, "utf8").matchAll(/from "(node:[\w/]+)"/g)].map((match) => match[1]),
    ),
  ].sort();
  rows.push(
    { runtime: "deno", name: "deno run empty.ts [baseline]", argv: [deno, "run", "-A", empty] },
    {
      runtime: "deno",
      name: "@x/replay + @x/replay/fetch (sources)",
      argv: [deno, "run", "-A", denoFile("ours", OURS)],
    },
    {
      runtime: "deno",
      name: "the same as one bundled file (info)",
      argv: [
        deno,
        "run",
        "-A",
        denoFile(
          "bundled",
          `const m = await import(${JSON.stringify(bundle)});
if (typeof m.replay !== "function" || typeof m.createReplayFetch !== "function") throw new Error("import failed");`,
        ),
      ],
    },
    {
      runtime: "deno",
      name: `only its node: built-ins, ${builtins.join(", ")} (info)`,
      argv: [
        deno,
        "run",
        "-A",
        denoFile("builtins", builtins.map((name) => `import ${JSON.stringify(name)};`).join("\n")),
      ],
    },
  );
}
if (existsSync(bun)) {
  rows.push(
    { runtime: "bun", name: "bun -e 0 [baseline]", argv: [bun, "-e", "0"] },
    { runtime: "bun", name: "@x/replay + @x/replay/fetch", argv: [bun, "-e", OURS] },
  );
}

const times = rows.map(() => []);
const runOnce = (row) => {
  const t0 = process.hrtime.bigint();
  const result = spawnSync(row.argv[0], row.argv.slice(1), {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
  if (result.status !== 0) {
    throw new Error(`${row.runtime} ${row.name} failed (${result.status}): ${result.stderr}`);
  }
  return elapsed;
};
// One untimed turn first: Deno compiles and caches the sources on first use.
for (const row of rows) runOnce(row);
for (let turn = 0; turn < RUNS; turn++) {
  rows.forEach((row, i) => times[i].push(runOnce(row)));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const baselines = new Map();
rows.forEach((row, i) => {
  if (row.name.includes("[baseline]")) baselines.set(row.runtime, median(times[i]));
});
const versions = {
  node: process.version,
  deno: existsSync(deno)
    ? spawnSync(deno, ["--version"], { encoding: "utf8" }).stdout.split(" (")[0]
    : "-",
  bun: existsSync(bun)
    ? `bun ${spawnSync(bun, ["--version"], { encoding: "utf8" }).stdout.trim()}`
    : "-",
};
console.log(
  `Cold start: median wall time of ${RUNS} fresh processes per row, the rows taking turns; ` +
    `"over baseline" is the row's median minus its runtime's empty program`,
);
console.log("");
console.log(
  "| runtime | what is imported | median (ms) | min (ms) | over baseline (ms) | target | met? |",
);
console.log("|---|---|---:|---:|---:|---|---|");
let met = true;
rows.forEach((row, i) => {
  const mid = median(times[i]);
  const over = row.name.includes("[baseline]") ? "" : (mid - baselines.get(row.runtime)).toFixed(1);
  let target = "";
  let verdict = "";
  if (row.target) {
    target = `≤ ${TARGET_MS} ms`;
    const ok = mid - baselines.get(row.runtime) <= TARGET_MS;
    met &&= ok;
    verdict = ok ? "yes" : "**NO**";
  }
  console.log(
    `| ${versions[row.runtime]} | ${row.name} | ${mid.toFixed(1)} | ${
      Math.min(...times[i]).toFixed(1)
    } | ${over} | ${target} | ${verdict} |`,
  );
});
console.log("");
console.log(`Target "cold start ≤ ${TARGET_MS} ms over node -e 0": ${met ? "MET" : "NOT MET"}`);
rmSync(scratch, { recursive: true, force: true });
