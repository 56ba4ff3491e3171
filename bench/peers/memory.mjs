// Memory benchmark: how much resident memory loading and replaying a cassette
// with one big response costs, in the in-memory, inline-JSON and blob forms.
//
//   node bench/peers/memory.mjs        (Node 20+, Linux: it reads /proc/self/status)
//
// Every measured scenario runs in its own fresh Node process, so the peak of
// one cannot leak into another. Inside that process:
//   1. the library is imported and a warm-up runs the same code paths on a
//      tiny cassette, so loading and compiling code is not counted;
//   2. baseline = VmRSS; then the peak counter (VmHWM) is reset to the current
//      RSS by writing "5" to /proc/self/clear_refs;
//   3. the work runs (load and/or replay of every chunk), checking the number
//      of bytes and the SHA-256 of the whole stream against the expected ones;
//   4. peak = VmHWM; growth = peak - baseline.
// The collector is never forced: the figures are what the runtime really uses.
//
// Scenarios, for each payload size in SIZES_MIB (default "64,1024"), made of
// 1 MiB chunks of random ASCII letters (valid UTF-8, so the inline JSON form
// is plain text):
//   - in memory: createChunk/createInteraction/createCassette, then replay();
//   - inline JSON file: fileStore(path).load() + replay() (file written by a
//     separate setup process). Only for payloads up to INLINE_MAX_MIB (default
//     256): V8 cannot hold a JSON text of 512 MiB or more in one string;
//   - blob form: recorded by createAsyncBroker({ recording: "streaming" }) into
//     fileStoreAsync(path, { blobThreshold: 65536 }) (that recording process is
//     measured too), then fileStore().load() + replay(), and
//     fileStoreAsync().load() + replayAsync().
//
// Environment: SIZES_MIB (default "64,1024"), INLINE_MAX_MIB (default 256).
// See bench/peers/README.md, "Part 4: memory".
import { spawnSync } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIfMissing } from "../_build.mjs";

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), "../..");
const CHILD = process.env.X_REPLAY_MEMORY_CHILD; // JSON task; set only in the child processes
const MiB = 1 << 20;
const CHUNK = MiB;
const BLOB_THRESHOLD = 65536;
const BLOB_TARGET_MIB = 16;
const MEMORY_TARGET_RATIO = 1.2;

// ===========================================================================
// Child side
// ===========================================================================

/** VmRSS and VmHWM of this process, in bytes. */
function status() {
  const text = readFileSync("/proc/self/status", "utf8");
  const field = (name) => {
    const match = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text);
    if (match === null) throw new Error(`/proc/self/status has no ${name} (Linux only)`);
    return Number(match[1]) * 1024;
  };
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** Resets VmHWM to the current RSS (Linux >= 4.0). Returns whether it worked. */
function resetPeak() {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

// 256 entries, each one of the 52 ASCII letters: random bytes become letters.
const LETTERS = (() => {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  const table = new Uint8Array(256);
  for (let i = 0; i < 256; i++) table[i] = alphabet.charCodeAt(i % alphabet.length);
  return table;
})();

/** Fills `bytes` with random ASCII letters, in place. */
function fillLetters(bytes) {
  randomFillSync(bytes);
  for (let i = 0; i < bytes.length; i++) bytes[i] = LETTERS[bytes[i]];
  return bytes;
}

/** Sums and hashes a stream of chunks; `chunks` may be sync or async. */
async function drain(chunks) {
  const hash = createHash("sha256");
  let bytes = 0;
  let count = 0;
  if (Symbol.asyncIterator in chunks) {
    for await (const chunk of chunks) {
      const data = chunk.data;
      bytes += data.length;
      hash.update(data);
      count++;
    }
  } else {
    for (const chunk of chunks) {
      const data = chunk.data;
      bytes += data.length;
      hash.update(data);
      count++;
    }
  }
  return { bytes, count, sha256: hash.digest("hex") };
}

function check(got, expected, what) {
  if (got.bytes !== expected.bytes || got.sha256 !== expected.sha256) {
    throw new Error(
      `${what}: replayed ${got.bytes} bytes with sha256 ${got.sha256}, ` +
        `expected ${expected.bytes} bytes with sha256 ${expected.sha256}`,
    );
  }
}

async function child(task) {
  if (process.platform !== "linux") throw new Error("this benchmark reads /proc: Linux only");
  const lib = await import("../../dist/mod.js");
  const request = lib.createRequest({ protocol: "http", action: "GET", target: "/big" });

  /**
   * Builds a cassette of `count` chunks of `size` random letters in memory.
   * One scratch buffer is filled per chunk; createChunk() copies it, so the
   * only bytes kept are the chunks' own. `hash` sees every byte.
   */
  function buildCassette(count, size, hash) {
    const scratch = new Uint8Array(size);
    function* chunks() {
      for (let i = 0; i < count; i++) {
        fillLetters(scratch);
        hash.update(scratch);
        yield lib.createChunk(scratch, i);
      }
    }
    return lib.createCassette([lib.createInteraction(request, chunks())]);
  }

  /** Records `count` chunks of `size` letters, streaming, into a blob store. */
  async function recordBlobs(path, count, size) {
    const expected = createHash("sha256");
    const broker = lib.createAsyncBroker({
      cassette: lib.createCassette(),
      mode: "record",
      recording: "streaming",
      store: lib.fileStoreAsync(path, { createIfMissing: true, blobThreshold: BLOB_THRESHOLD }),
      // A fresh buffer per chunk, as a network stream would hand them out.
      liveResponder: async function* () {
        for (let i = 0; i < count; i++) {
          const bytes = fillLetters(new Uint8Array(size));
          expected.update(bytes);
          yield bytes;
        }
      },
    });
    const got = await drain(broker.replay(request));
    return { got, expected: { bytes: count * size, sha256: expected.digest("hex") } };
  }

  // --- Warm-up: the same code paths on a tiny cassette (not counted). ---
  const warmFolder = join(task.work, `warm-${task.role}-${process.pid}`);
  mkdirSync(warmFolder, { recursive: true });
  const warmPath = join(warmFolder, "warm.json");
  switch (task.role) {
    case "memory": {
      const hash = createHash("sha256");
      const cassette = buildCassette(2, 4096, hash);
      check(
        await drain(lib.replay(cassette, request)),
        { bytes: 8192, sha256: hash.digest("hex") },
        "warm-up",
      );
      break;
    }
    case "write-inline":
      break;
    case "load-inline": {
      const hash = createHash("sha256");
      lib.fileStore(warmPath, { createIfMissing: true }).save(buildCassette(2, 4096, hash));
      const store = lib.fileStore(warmPath);
      check(await drain(lib.replay(store.load(), request)), {
        bytes: 8192,
        sha256: hash.digest("hex"),
      }, "warm-up");
      break;
    }
    case "record-blob":
    case "load-blob-sync":
    case "load-blob-async": {
      // Two chunks above the threshold, so the blob code paths run too.
      const size = 2 * BLOB_THRESHOLD;
      const { got, expected } = await recordBlobs(warmPath, 2, size);
      check(got, expected, "warm-up recording");
      if (task.role === "load-blob-sync") {
        check(
          await drain(lib.replay(lib.fileStore(warmPath).load(), request)),
          expected,
          "warm-up",
        );
      } else if (task.role === "load-blob-async") {
        const cassette = await lib.fileStoreAsync(warmPath).load();
        check(await drain(lib.replayAsync(cassette, request)), expected, "warm-up");
      }
      break;
    }
    default:
      throw new Error(`unknown role ${task.role}`);
  }
  rmSync(warmFolder, { recursive: true, force: true });

  // --- Baseline, then the work, then the peak. ---
  const baseline = status();
  const peakReset = resetPeak();
  const afterReset = status();
  const marks = {};
  const mark = (name) => (marks[name] = status().hwm);
  const started = performance.now();
  const count = task.mib; // 1 MiB chunks
  let result;
  let extra = {};
  switch (task.role) {
    case "memory": {
      const hash = createHash("sha256");
      const cassette = buildCassette(count, CHUNK, hash);
      mark("built");
      const expected = { bytes: count * CHUNK, sha256: hash.digest("hex") };
      result = await drain(lib.replay(cassette, request));
      mark("replayed");
      check(result, expected, "in-memory replay");
      break;
    }
    case "write-inline": {
      const hash = createHash("sha256");
      lib.fileStore(task.path, { createIfMissing: true }).save(buildCassette(count, CHUNK, hash));
      result = { bytes: count * CHUNK, sha256: hash.digest("hex") };
      extra = { fileBytes: statSync(task.path).size };
      break;
    }
    case "load-inline": {
      const store = lib.fileStore(task.path);
      const cassette = store.load();
      mark("loaded");
      result = await drain(lib.replay(cassette, request));
      mark("replayed");
      check(result, task.expected, "inline JSON replay");
      break;
    }
    case "record-blob": {
      const { got, expected } = await recordBlobs(task.path, count, CHUNK);
      mark("recorded");
      check(got, expected, "streaming recording");
      result = expected;
      const blobs = readdirSync(`${task.path}.blobs`).filter((name) => !name.startsWith("."));
      extra = { fileBytes: statSync(task.path).size, blobFiles: blobs.length };
      if (blobs.length !== count) {
        throw new Error(`expected ${count} blob files, found ${blobs.length}`);
      }
      break;
    }
    case "load-blob-sync": {
      const cassette = lib.fileStore(task.path).load();
      mark("loaded");
      result = await drain(lib.replay(cassette, request));
      mark("replayed");
      check(result, task.expected, "blob replay()");
      break;
    }
    case "load-blob-async": {
      const cassette = await lib.fileStoreAsync(task.path).load();
      mark("loaded");
      result = await drain(lib.replayAsync(cassette, request));
      mark("replayed");
      check(result, task.expected, "blob replayAsync()");
      break;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const end = status();
  const usage = process.memoryUsage();
  return {
    role: task.role,
    payload: count * CHUNK,
    bytes: result.bytes,
    sha256: result.sha256,
    baselineRss: baseline.rss,
    hwmBeforeReset: baseline.hwm,
    peakReset,
    hwmAfterReset: afterReset.hwm,
    peak: end.hwm,
    endRss: end.rss,
    // Without a reset the peak may come from before the baseline; then the
    // growth is an upper bound.
    growth: end.hwm - baseline.rss,
    marks: Object.fromEntries(Object.entries(marks).map(([k, v]) => [k, v - baseline.rss])),
    seconds,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    ...extra,
  };
}

if (CHILD) {
  const out = await child(JSON.parse(CHILD));
  process.stdout.write(`\n${JSON.stringify(out)}\n`);
  process.exit(0);
}

// ===========================================================================
// Parent side
// ===========================================================================

if (process.platform !== "linux") {
  console.error("bench/peers/memory.mjs reads /proc/self/status: it runs on Linux only.");
  process.exit(1);
}
const SIZES = (process.env.SIZES_MIB ?? "64,1024").split(",").map(Number);
if (!SIZES.every((n) => Number.isInteger(n) && n >= 1)) {
  throw new Error("SIZES_MIB must be a comma-separated list of whole numbers of MiB >= 1");
}
const INLINE_MAX_MIB = Number(process.env.INLINE_MAX_MIB ?? 256);
if (!(Number.isInteger(INLINE_MAX_MIB) && INLINE_MAX_MIB >= 0)) {
  throw new Error("INLINE_MAX_MIB must be a whole number of MiB >= 0");
}
buildIfMissing(root, "dist/mod.js");

/** Runs one task in a fresh Node process and returns what it reports. */
function run(task) {
  const done = spawnSync(process.execPath, [self], {
    cwd: root,
    env: { ...process.env, X_REPLAY_MEMORY_CHILD: JSON.stringify(task) },
    encoding: "utf8",
    maxBuffer: 16 * MiB,
  });
  if (done.status !== 0) {
    throw new Error(
      `child ${task.role} (${task.mib} MiB) failed with ${
        done.status ?? done.signal
      }:\n${done.stderr}`,
    );
  }
  const lines = done.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

const mib = (bytes) => bytes / MiB;
const sizeLabel = (n) => (n % 1024 === 0 ? `${n / 1024} GiB` : `${n} MiB`);
const fmt = (x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(1));
const size = (bytes) => (bytes < MiB ? `${fmt(bytes / 1024)} KiB` : `${fmt(mib(bytes))} MiB`);

const work = mkdtempSync(join(tmpdir(), "x-replay-memory-"));
const rows = [];
const details = [];
function row(scenario, result, target, met) {
  const growth = mib(result.growth);
  rows.push({
    scenario,
    payload: sizeLabel(mib(result.payload)),
    growth: fmt(growth),
    ratio: `${(result.growth / result.payload).toFixed(2)}×`,
    target,
    met,
  });
  details.push({ scenario, payload: sizeLabel(mib(result.payload)), result });
  console.log(`  ${scenario}, ${sizeLabel(mib(result.payload))}: ${fmt(growth)} MiB`);
}

try {
  for (const size of SIZES) {
    const folder = join(work, `${size}`);
    mkdirSync(folder);
    const common = { work: folder, mib: size };
    console.log(`payload ${sizeLabel(size)} ...`);

    if (size <= INLINE_MAX_MIB) {
      const memory = run({ ...common, role: "memory" });
      row(
        "in memory: createCassette + replay()",
        memory,
        `≤ ${MEMORY_TARGET_RATIO}× payload`,
        memory.growth <= MEMORY_TARGET_RATIO * memory.payload ? "yes" : "**NO**",
      );

      const inlinePath = join(folder, "inline.json");
      const written = run({ ...common, role: "write-inline", path: inlinePath });
      const inline = run({
        ...common,
        role: "load-inline",
        path: inlinePath,
        expected: { bytes: written.bytes, sha256: written.sha256 },
      });
      inline.fileBytes = written.fileBytes;
      row(
        "inline JSON file: fileStore().load() + replay()",
        inline,
        "none (interposition ≈ 2×)",
        "info",
      );
      rmSync(inlinePath);
    }

    const blobPath = join(folder, "blob.json");
    const recorded = run({ ...common, role: "record-blob", path: blobPath });
    row(
      "blob form, recording: async broker, streaming, blobThreshold",
      recorded,
      `≤ ${BLOB_TARGET_MIB} MiB (info)`,
      mib(recorded.growth) <= BLOB_TARGET_MIB ? "yes" : "**NO**",
    );
    const expected = { bytes: recorded.bytes, sha256: recorded.sha256 };
    for (
      const [role, label] of [
        ["load-blob-sync", "blob form: fileStore().load() + replay()"],
        ["load-blob-async", "blob form: fileStoreAsync().load() + replayAsync()"],
      ]
    ) {
      const result = run({ ...common, role, path: blobPath, expected });
      result.fileBytes = recorded.fileBytes;
      row(
        label,
        result,
        `≤ ${BLOB_TARGET_MIB} MiB`,
        mib(result.growth) <= BLOB_TARGET_MIB ? "yes" : "**NO**",
      );
    }
    rmSync(folder, { recursive: true, force: true });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log();
console.log("Part 4: memory, peak RSS growth over a warmed-up baseline, one fresh process per row");
console.log("(Linux VmHWM - VmRSS; 1 MiB chunks of random ASCII letters; collector never forced)");
console.log();
console.log(
  "| scenario | payload | peak RSS − baseline (MiB) | ratio to payload | target | met? |",
);
console.log("|---|---:|---:|---:|---|---|");
for (const r of rows) {
  console.log(
    `| ${r.scenario} | ${r.payload} | ${r.growth} | ${r.ratio} | ${r.target} | ${r.met} |`,
  );
}
console.log();
console.log(
  "Details (MiB over baseline; phase marks are the peak so far at the end of each phase):",
);
console.log();
console.log("| scenario | payload | baseline RSS | phases | end RSS | seconds | cassette file |");
console.log("|---|---:|---:|---|---:|---:|---:|");
for (const { scenario, payload, result } of details) {
  const phases = Object.entries(result.marks).map(([k, v]) => `${k} ${fmt(mib(v))}`).join(", ");
  const file = result.fileBytes === undefined ? "" : size(result.fileBytes) +
    (result.blobFiles === undefined ? "" : ` + ${result.blobFiles} blobs`);
  console.log(
    `| ${scenario} | ${payload} | ${fmt(mib(result.baselineRss))} | ${phases || "—"} | ` +
      `${fmt(mib(result.endRss - result.baselineRss))} | ${result.seconds.toFixed(1)} | ${file} |`,
  );
}
const unreset = details.filter((d) => !d.result.peakReset).length;
console.log();
console.log(
  `Checks: every row replayed exactly the payload's bytes with the expected SHA-256; ` +
    `peak counter reset after the baseline in ${
      details.length - unreset
    } of ${details.length} processes` +
    (unreset > 0 ? " (the others give an upper bound)" : "") + ".",
);
if (SIZES.some((n) => n > INLINE_MAX_MIB)) {
  console.log(
    `The in-memory and inline-JSON rows run only up to ${INLINE_MAX_MIB} MiB: ` +
      "a JSON text of 512 MiB or more exceeds the longest string V8 can hold.",
  );
}
console.log(
  "Blob rows: the library holds one chunk at a time; most of the rest is chunk buffers already " +
    "dropped but not yet collected (V8 starts a young-generation collection for array buffers " +
    "only once they add up to twice its default semi-space size). See the README, Part 4.",
);
console.log(
  `Node ${process.version} (V8 ${process.versions.v8}), ${process.platform} ${process.arch}`,
);
