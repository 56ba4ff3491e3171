// Memory and time of loading a big inline cassette file, JSON and YAML
// (issue 12, item 9): peak resident memory over a warmed-up baseline, and
// seconds, for fileStore(path).load() alone and followed by reading every
// chunk's bytes, beside the bare parse of the same file (JSON.parse, the yaml
// package's parse()) as a baseline.
//
//   node bench/peers/load_memory.mjs                 (Linux: reads /proc/self/status; ~1 min)
//   LOAD_JSON_MB=50 LOAD_YAML_MB=5 node bench/peers/load_memory.mjs
//   LOAD_DIST=/path/to/other/dist node bench/peers/load_memory.mjs   (another build, to compare)
//
// The cassettes: GET /items/<i>, 4 chunks of random ASCII letters per
// interaction (status and headers on the first), written once by
// stringifyCassette() into a temporary folder: about 200 MB of JSON in
// chunks of 16 KiB (LOAD_JSON_MB, LOAD_JSON_CHUNK), and about 20 MB of YAML
// in chunks of 256 bytes (LOAD_YAML_MB, LOAD_YAML_CHUNK), the shape that
// costs the yaml package most: its memory follows its number of nodes. Each row is a fresh Node
// process: import, warm-up on a tiny file of the same format, baseline =
// VmRSS, reset VmHWM (/proc/self/clear_refs), the work, peak = VmHWM. Every
// row checks the number of interactions and, where it reads them, the total
// number of bytes. The collector is never forced while measuring the peak.
// One more column, "held once loaded": what the heap and array buffers hold
// after the work, the collector forced, with the store (and its cassette)
// still reachable, as a test that keeps its store keeps them.
import { spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIfMissing } from "../_build.mjs";

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), "../..");
const CHILD = process.env.X_REPLAY_LOAD_CHILD;
const MB = 1e6;
const CHUNKS = 4;

/** Bytes in the JS heap and in array buffers and other external memory. */
function held() {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

function status() {
  const text = readFileSync("/proc/self/status", "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)[1]) * 1024;
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

if (CHILD) {
  const { task, path, format, interactions, chunk } = JSON.parse(CHILD);
  const lib = await import(join(process.env.LOAD_DIST ?? join(root, "dist"), "mod.js"));
  const yaml = format === "yaml" ? await import("yaml") : undefined;
  const work = {
    bare: (file) => {
      const text = readFileSync(file, "utf8");
      const document = format === "json" ? JSON.parse(text) : yaml.parse(text);
      return { interactions: document.interactions.length, bytes: 0 };
    },
    load: (file) => {
      const store = lib.fileStore(file);
      const cassette = store.load();
      return { interactions: cassette.interactions.length, bytes: 0, keep: [store, cassette] };
    },
    "load+read": (file) => {
      const store = lib.fileStore(file);
      const cassette = store.load();
      let bytes = 0;
      for (const interaction of cassette.interactions) {
        for (const chunk of interaction.responseChunks) bytes += chunk.data.length;
      }
      return { interactions: cassette.interactions.length, bytes, keep: [store, cassette] };
    },
  }[task];
  // Warm-up: the same work on a tiny file of the same format.
  const tiny = join(dirname(path), `tiny.${format}`);
  work(tiny);
  globalThis.gc();
  const heapBefore = held();
  const before = status();
  let reset = true;
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    reset = false;
  }
  const t0 = process.hrtime.bigint();
  const { interactions: n, bytes, keep } = work(path);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const after = status();
  globalThis.gc();
  const kept = held() - heapBefore;
  if (keep === undefined && task !== "bare") throw new Error(`${task}: nothing kept`);
  if (n !== interactions) throw new Error(`${task}: ${n} interactions, expected ${interactions}`);
  if (task === "load+read" && bytes !== interactions * CHUNKS * chunk) {
    throw new Error(`${task}: read ${bytes} bytes`);
  }
  console.log(JSON.stringify({ growth: after.hwm - before.rss, seconds, reset, kept }));
  process.exit(0);
}

buildIfMissing(root, "dist/mod.js");
const lib = await import(join(root, "dist/mod.js"));
const folder = mkdtempSync(join(tmpdir(), "x-replay-load-memory-"));
const letters = (n) => {
  const bytes = randomFillSync(Buffer.alloc(n));
  for (let i = 0; i < n; i++) bytes[i] = 97 + (bytes[i] % 26);
  return bytes.toString("latin1");
};
const cassetteOf = (n, size) =>
  lib.createCassette(Array.from({ length: n }, (_, i) =>
    lib.createInteraction(
      lib.createRequest({ protocol: "http", action: "GET", target: `/items/${i}` }),
      Array.from({ length: CHUNKS }, (_, j) =>
        lib.createChunk(
          letters(size),
          j,
          j === 0 ? [["status_code", "200"], ["header:content-type", "text/plain"]] : [],
        )),
    )));

const rows = [];
try {
  for (
    const [format, mb, chunk] of [
      [
        "json",
        Number(process.env.LOAD_JSON_MB ?? 200),
        Number(process.env.LOAD_JSON_CHUNK ?? 16384),
      ],
      ["yaml", Number(process.env.LOAD_YAML_MB ?? 20), Number(process.env.LOAD_YAML_CHUNK ?? 256)],
    ]
  ) {
    // Sized by the chunk bytes plus about 170 bytes of text per chunk around them.
    const interactions = Math.max(1, Math.round((mb * MB) / (CHUNKS * (chunk + 170))));
    const path = join(folder, `big.${format}`);
    writeFileSync(path, lib.stringifyCassette(cassetteOf(interactions, chunk), { format }));
    writeFileSync(
      join(folder, `tiny.${format}`),
      lib.stringifyCassette(cassetteOf(1, chunk), { format }),
    );
    const size = statSync(path).size;
    for (const task of ["bare", "load", "load+read"]) {
      const result = spawnSync(process.execPath, ["--expose-gc", self], {
        env: {
          ...process.env,
          X_REPLAY_LOAD_CHILD: JSON.stringify({ task, path, format, interactions, chunk }),
        },
        encoding: "utf8",
        maxBuffer: 1 << 20,
      });
      if (result.status !== 0) throw new Error(`${format} ${task} failed: ${result.stderr}`);
      rows.push({ format, size, interactions, chunk, task, ...JSON.parse(result.stdout.trim()) });
    }
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}

const names = {
  bare: (format) =>
    format === "json"
      ? "readFileSync + JSON.parse [baseline]"
      : "readFileSync + yaml parse() [baseline]",
  load: () => "fileStore(path).load()",
  "load+read": () => "fileStore(path).load() + read every chunk's data",
};
console.log(
  `Load memory: peak RSS − warmed-up baseline, one fresh process per row, node ${process.version}` +
    (process.env.LOAD_DIST ? `, library from ${process.env.LOAD_DIST}` : ""),
);
console.log("");
console.log("| file | what | peak growth (MB) | × file size | seconds | held once loaded (MB) |");
console.log("|---|---|---:|---:|---:|---:|");
for (const row of rows) {
  console.log(
    `| ${row.format.toUpperCase()}, ${
      (row.size / MB).toFixed(0)
    } MB (${row.interactions} interactions, ${row.chunk} B chunks) | ${
      names[row.task](row.format)
    } | ${(row.growth / MB).toFixed(0)} | ${(row.growth / row.size).toFixed(1)}× | ${
      row.seconds.toFixed(2)
    } | ${row.task === "bare" ? "—" : (row.kept / MB).toFixed(0)} |`,
  );
}
console.log("");
console.log(
  `Checks: every row loaded the expected number of interactions; the read rows read every byte; ` +
    `peak counter reset in ${rows.filter((row) => row.reset).length} of ${rows.length} processes.`,
);
