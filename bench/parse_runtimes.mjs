// parseCassette() of the parse bench's cassette (bench/_parse_fixture.mjs,
// 10,000 interactions, 13.3 MiB) against JSON.parse of the same text, on
// Node, Deno and Bun (issue 14, target 3 asks for at most 3x), each in its own
// processes.
//
//   node bench/parse_runtimes.mjs          (about 2 minutes)
//   PARSE_PROCESSES=9 node bench/parse_runtimes.mjs
//   PARSE_DIST=/path/to/other/dist node bench/parse_runtimes.mjs   (another build, to compare)
//
// Each process builds the text with the npm build (dist/, built if missing),
// warms both up, then times rounds in turns: one JSON.parse call, then one
// parseCassette call, each after a full collection (outside its time), so
// each pays for its own garbage and the collector's copying of what it
// keeps, and for nothing left by the other. A process's ratio is the median
// over its rounds of (parseCassette / JSON.parse). The runtimes take turns
// process by process; the table gives the median over processes and their
// range. deno bench's parse rows (parse_bench.ts), which the target is
// judged by, time the same two functions back to back in one Deno process,
// where each also pays for collecting what the calls before it left.
import { execSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { buildIfMissing } from "./_build.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const TARGET = 3;
const ROUNDS = 15;

if (process.env.X_REPLAY_PARSE_CHILD) {
  const lib = await import(
    pathToFileURL(join(process.env.PARSE_DIST ?? join(root, "dist"), "mod.js")).href
  );
  const { parseFixture } = await import("./_parse_fixture.mjs");
  const text = lib.stringifyCassette(parseFixture(lib, 10_000));
  let sink = 0;
  const json = () => (sink += JSON.parse(text).interactions.length);
  const ours = () => (sink += lib.parseCassette(text).index.size);
  // A full collection before each timed call (outside its time): no call
  // pays for the garbage of the one before, which would favour whichever
  // side runs after the other's garbage is gone.
  const collect = globalThis.Bun?.gc ? () => globalThis.Bun.gc(true) : globalThis.gc;
  if (typeof collect !== "function") throw new Error("run with the collector exposed");
  const time = (work) => {
    collect();
    const start = performance.now();
    work();
    return performance.now() - start;
  };
  for (let i = 0; i < 3; i++) json(), ours();
  const rounds = [];
  for (let round = 0; round < ROUNDS; round++) rounds.push([time(json), time(ours)]);
  if (sink !== 2 * 10_000 * (3 + ROUNDS)) throw new Error(`parsed ${sink}`);
  console.log(JSON.stringify(rounds));
  process.exit(0);
}

const PROCESSES = Number(process.env.PARSE_PROCESSES ?? 5);
if (!(Number.isInteger(PROCESSES) && PROCESSES >= 1)) {
  throw new Error("PARSE_PROCESSES must be a positive integer");
}
buildIfMissing(root, "dist/mod.js");
const self = fileURLToPath(import.meta.url);
const runtimes = [
  { name: `Node ${process.version}`, command: process.execPath, args: ["--expose-gc", self] },
  {
    name: "Deno",
    command: join(root, "node_modules/deno/deno"),
    args: ["run", "--allow-read", "--allow-env", "--v8-flags=--expose-gc", self],
  },
  { name: "Bun", command: join(root, "node_modules/bun/bin/bun.exe"), args: [self] },
].filter((runtime) => existsSync(runtime.command));

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const results = new Map(runtimes.map((runtime) => [runtime.name, []]));
for (let turn = 0; turn < PROCESSES; turn++) {
  for (const runtime of runtimes) {
    const child = spawnSync(runtime.command, runtime.args, {
      env: { ...process.env, X_REPLAY_PARSE_CHILD: "1" },
      encoding: "utf8",
      maxBuffer: 1 << 20,
    });
    if (child.status !== 0) {
      throw new Error(`${runtime.name} failed (${child.status}):\n${child.stderr}`);
    }
    const rounds = JSON.parse(child.stdout.trim().split("\n").at(-1));
    results.get(runtime.name).push({
      json: median(rounds.map(([json]) => json)),
      ours: median(rounds.map(([, ours]) => ours)),
      ratio: median(rounds.map(([json, ours]) => ours / json)),
    });
  }
}

const version = (command, flag) =>
  execSync(`"${command}" ${flag}`, { encoding: "utf8" }).split("\n")[0];
console.log(
  `parseCassette() vs JSON.parse, 10,000 interactions, ${PROCESSES} processes per runtime, ` +
    `${ROUNDS} rounds each, a full collection before every timed call; medians (range over processes)\n`,
);
console.log("| runtime | JSON.parse (ms) | parseCassette (ms) | ratio | target ≤ 3× |");
console.log("|---|---:|---:|---:|---|");
for (const runtime of runtimes) {
  const rows = results.get(runtime.name);
  const ratios = rows.map((row) => row.ratio);
  const ratio = median(ratios);
  console.log(
    `| ${runtime.name} | ${median(rows.map((row) => row.json)).toFixed(1)} | ${
      median(rows.map((row) => row.ours)).toFixed(1)
    } | ${ratio.toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${
      Math.max(...ratios).toFixed(2)
    }×) | ${ratio <= TARGET ? "met" : "not met"} |`,
  );
}
console.log(
  `\nVersions: ${
    runtimes.map((runtime) =>
      runtime.name.startsWith("Node")
        ? runtime.name
        : version(runtime.command, "--version").replace(/ \(.*/, "")
    ).join(", ")
  }`,
);
