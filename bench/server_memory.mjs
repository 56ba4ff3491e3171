// Bounded memory through `x-replay serve` (issue 14, target 5): a large
// response replayed from a blob cassette, and the same response recorded
// through the proxy with --blob-threshold, against a plain node:http server
// streaming the same bytes from a file, in the same run; and a large request
// body recorded through the proxy.
//
//   node bench/server_memory.mjs        (Node 20+, Linux: it reads /proc/<pid>/status;
//                                        builds dist/ if missing)
//
// Each server runs in its own process, started the way a user starts it
// (`node dist/src/cli/mod.js serve ...`, the npm bin); this process is only
// the client. For each server:
//   1. wait for its "listening on" line, send one small warm-up request;
//   2. baseline = its VmRSS; reset its peak (VmHWM) to the current RSS by
//      writing "5" to /proc/<pid>/clear_refs;
//   3. GET the large resource with node:http, reading every byte and checking
//      the count and the SHA-256 of the whole body;
//   4. peak = its VmHWM; growth = peak - baseline; throughput = bytes / time
//      from the request to the last byte; CPU = its user + system time.
// Scenarios (in this order, so the recording feeds the replay):
//   plain     node:http + fs.createReadStream(file).pipe(response)  [baseline]
//   record    x-replay serve big.json --mode record --upstream <plain>
//             --blob-threshold 65536 (the upstream is a second plain server)
//   replay    x-replay serve big.json (the blob cassette just recorded)
//   floor     (no server) the same bytes written as 1 MiB files, each
//             fsynced and renamed into place, as a blob store must: what
//             recording cannot beat on this disk
//   page cache (no server) the same bytes written once into one new file,
//             no fsync, with this process's system CPU time: what putting
//             the bytes into the page cache alone costs (on a VM whose
//             balloon takes back free memory, far more than a copy)
//   upload    POST of UPLOAD_MIB through x-replay serve --mode record
//             --body-limit <more> to a plain server that discards it: the
//             proxy's RSS growth for a request body it must hold and store
//   spooled   POST of SPOOL_MIB of binary bytes the same way with
//             --blob-threshold 65536: the body goes to a temporary file as it
//             arrives, then upstream and into the blob folder from it (ADR
//             0053; a UTF-8 text body is read whole once, to be redacted),
//             against the same POST sent to the plain server alone
// Targets: growth <= 64 MiB for record and replay (and the spooled upload),
// throughput >= 0.5x plain.
//
// Environment: SIZE_MIB (default 1024), UPLOAD_MIB (default 48), SPOOL_MIB
// (default SIZE_MIB), X_REPLAY_CLI
// (default dist/src/cli/mod.js: another build, to compare before and after),
// VERBOSE=1 (each measurement as JSON).
import { execSync, spawn } from "node:child_process";
import { createHash, randomFillSync } from "node:crypto";
import {
  closeSync,
  createReadStream,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createServer, get, request } from "node:http";
import { cpus, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildIfMissing } from "./_build.mjs";

const self = fileURLToPath(import.meta.url);
const root = resolve(dirname(self), "..");
const MiB = 1 << 20;
const SIZE = Number(process.env.SIZE_MIB ?? 1024) * MiB;
const UPLOAD = Number(process.env.UPLOAD_MIB ?? 48) * MiB;
const SPOOLED = Number(process.env.SPOOL_MIB ?? SIZE / MiB) * MiB;
const GROWTH_TARGET = 64 * MiB;
const THROUGHPUT_TARGET = 0.5;

// A child started with X_REPLAY_PLAIN_SERVER=<file> is the plain server: it
// streams the file for GET /big and reads and discards any request body.
if (process.env.X_REPLAY_PLAIN_SERVER !== undefined) {
  const file = process.env.X_REPLAY_PLAIN_SERVER;
  const size = statSync(file).size;
  const server = createServer((incoming, response) => {
    if (incoming.method === "POST") {
      let bytes = 0;
      incoming.on("data", (piece) => (bytes += piece.length));
      incoming.on("end", () => response.end(String(bytes)));
      return;
    }
    if (incoming.url !== "/big") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": "application/octet-stream", "content-length": size });
    createReadStream(file).pipe(response);
  });
  server.listen(0, "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${server.address().port}`);
  });
} else {
  await main();
}

/** VmRSS and VmHWM of a process, in bytes. */
function status(pid) {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)[1]) * 1024;
  return { rss: field("VmRSS"), hwm: field("VmHWM") };
}

/** User + system CPU time of a process, in ms (all its threads). */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Starts a server process and resolves once it printed its "listening on" line. */
function start(args, env) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (text) => (err += text));
    child.stdout.setEncoding("utf8").on("data", (text) => {
      out += text;
      const found = /listening on (http:\/\/\S+)/.exec(out);
      if (found) resolvePromise({ child, url: found[1], stderr: () => err });
    });
    child.on("exit", (code) => reject(new Error(`${args.join(" ")} exited with ${code}: ${err}`)));
  });
}

function stop({ child }) {
  return new Promise((resolvePromise) => {
    child.removeAllListeners("exit");
    child.on("exit", () => resolvePromise());
    child.kill("SIGTERM");
  });
}

/** Starts a server process, runs `work` against it, and always stops it. */
async function serving(args, work, env) {
  const server = await start(args, env);
  try {
    return await work(server);
  } finally {
    await stop(server);
  }
}

/** GETs `url`, hashing every byte; resolves with the time to the last byte. */
function download(url) {
  return new Promise((resolvePromise, reject) => {
    const hash = createHash("sha256");
    let bytes = 0;
    const begin = performance.now();
    get(url, (response) => {
      response.on("data", (piece) => {
        bytes += piece.length;
        hash.update(piece);
      });
      response.on("end", () =>
        resolvePromise({
          status: response.statusCode,
          body: { bytes, sha256: hash.digest("hex") },
          ms: performance.now() - begin,
        }));
      response.on("error", reject);
    }).on("error", reject);
  });
}

/**
 * POSTs `size` bytes to `url` in 1 MiB writes (text, or with `binary` one
 * random MiB over and over, as an archive or an image upload is to
 * redaction); resolves with the answer's text.
 */
function upload(url, size, binary = false) {
  return new Promise((resolvePromise, reject) => {
    const begin = performance.now();
    const outgoing = request(
      url,
      { method: "POST", headers: { "content-length": size } },
      (response) => {
        let text = "";
        response.setEncoding("utf8").on("data", (piece) => (text += piece));
        response.on("end", () =>
          resolvePromise({
            status: response.statusCode,
            body: text,
            ms: performance.now() - begin,
          }));
      },
    );
    outgoing.on("error", reject);
    const piece = binary ? randomFillSync(Buffer.alloc(MiB)) : Buffer.alloc(MiB, "x");
    let sent = 0;
    const write = () => {
      while (sent < size) {
        const part = piece.subarray(0, Math.min(MiB, size - sent));
        sent += part.length;
        if (!outgoing.write(part)) return void outgoing.once("drain", write);
      }
      outgoing.end();
    };
    write();
  });
}

/** Runs `work` against `server`, measuring its RSS growth and CPU. */
async function measure(name, server, work, check) {
  await download(`${server.url}/warm-up`).catch(() => undefined);
  const pid = server.child.pid;
  const before = status(pid).rss;
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
  const cpu = cpuOf(pid);
  const result = await work();
  const row = {
    name,
    ms: result.ms,
    cpu: cpuOf(pid) - cpu,
    before,
    growth: status(pid).hwm - before,
  };
  if (process.env.VERBOSE) console.log(JSON.stringify({ ...row, result }));
  if (!check(result)) {
    throw new Error(`${name}: got ${JSON.stringify(result)}: ${server.stderr()}`);
  }
  return row;
}

/** Calls `visit` with the file's bytes, 1 MiB at a time, from one reused buffer. */
function eachMiB(file, visit) {
  const source = openSync(file, "r");
  try {
    const buffer = Buffer.alloc(MiB);
    for (;;) {
      const count = readSync(source, buffer, 0, MiB, null);
      if (count === 0) break;
      visit(buffer.subarray(0, count));
    }
  } finally {
    closeSync(source);
  }
}

/** Writes the file's bytes as 1 MiB files, each fsynced then renamed, as blobs are. */
function floor(file, folder) {
  mkdirSync(folder);
  const begin = performance.now();
  eachMiB(file, (bytes) => {
    const name = createHash("sha256").update(bytes).digest("hex");
    const temporary = join(folder, `.${name}.tmp`);
    const descriptor = openSync(temporary, "wx");
    writeSync(descriptor, bytes);
    fsyncSync(descriptor);
    closeSync(descriptor);
    renameSync(temporary, join(folder, name));
  });
  return performance.now() - begin;
}

/**
 * The same bytes written once into one new file with 1 MiB writes, no
 * fsync, no hashing: what putting them into the page cache alone costs here.
 * Returns the wall time and this process's system CPU time, in ms.
 */
function pageCacheFloor(file, folder) {
  const target = openSync(join(folder, "page-cache.bin"), "wx");
  try {
    const cpu0 = process.cpuUsage();
    const begin = performance.now();
    eachMiB(file, (bytes) => writeSync(target, bytes));
    const ms = performance.now() - begin;
    return { ms, systemMs: process.cpuUsage(cpu0).system / 1000 };
  } finally {
    closeSync(target);
  }
}

function sizeOf(bytes) {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

async function main() {
  const cli = process.env.X_REPLAY_CLI ?? join(root, "dist/src/cli/mod.js");
  buildIfMissing(root, cli);
  const folder = mkdtempSync(join(tmpdir(), "x-replay-server-memory-"));
  try {
    // Random bytes, so no two chunks share a blob file.
    const file = join(folder, "big.bin");
    const hash = createHash("sha256");
    const block = Buffer.alloc(4 * MiB);
    const descriptor = openSync(file, "w");
    for (let written = 0; written < SIZE; written += block.length) {
      randomFillSync(block);
      const piece = block.subarray(0, Math.min(block.length, SIZE - written));
      hash.update(piece);
      writeSync(descriptor, piece);
    }
    closeSync(descriptor);
    const expected = { bytes: SIZE, sha256: hash.digest("hex") };
    const same = (result) =>
      result.status === 200 && result.body.bytes === expected.bytes &&
      result.body.sha256 === expected.sha256;
    console.log(`# x-replay serve, ${SIZE / MiB} MiB body, ${new Date().toISOString()}`);
    console.log(
      `# ${cpus().length} × ${cpus()[0]?.model}, ${
        Math.round(totalmem() / MiB / 1024)
      } GiB, Node ${process.version}, ${cli}`,
    );

    const rows = [];
    const cassette = join(folder, "big.json");
    let uploadRow;
    let spooledRow;
    let plainUploadRow;
    await serving([self], async (plain) => {
      rows.push(
        await measure(
          "plain node:http from a file",
          plain,
          () => download(`${plain.url}/big`),
          same,
        ),
      );
      plainUploadRow = await measure(
        `plain node:http, POST of ${SPOOLED / MiB} MiB (binary) read and discarded`,
        plain,
        () => upload(`${plain.url}/upload`, SPOOLED, true),
        (result) => result.status === 200 && result.body === String(SPOOLED),
      );
      const recordArgs = ["--mode", "record", "--upstream", plain.url];
      rows.push(
        await serving(
          [cli, "serve", cassette, ...recordArgs, "--blob-threshold", "65536"],
          (proxy) =>
            measure(
              "x-replay serve --mode record --blob-threshold 65536",
              proxy,
              () => download(`${proxy.url}/big`),
              same,
            ),
        ),
      );
      // A build from before --body-limit reads any body.
      const help = execSync(`"${process.execPath}" "${cli}" serve --help`, { encoding: "utf8" });
      const limit = help.includes("--body-limit") ? ["--body-limit", String(UPLOAD + MiB)] : [];
      uploadRow = await serving(
        [cli, "serve", join(folder, "upload.json"), ...recordArgs, ...limit],
        (uploads) =>
          measure(
            `x-replay serve --mode record, POST of ${UPLOAD / MiB} MiB`,
            uploads,
            () => upload(`${uploads.url}/upload`, UPLOAD),
            (result) => result.status === 200 && result.body === String(UPLOAD),
          ),
      );
      // A build from before ADR 0053 holds the body even with --blob-threshold.
      const spoolLimit = limit.length === 0 ? [] : ["--body-limit", String(SPOOLED + MiB)];
      spooledRow = await serving(
        [
          cli,
          "serve",
          join(folder, "spooled.json"),
          ...recordArgs,
          "--blob-threshold",
          "65536",
          ...spoolLimit,
        ],
        (uploads) =>
          measure(
            `x-replay serve --mode record --blob-threshold 65536, POST of ${
              SPOOLED / MiB
            } MiB (binary)`,
            uploads,
            () => upload(`${uploads.url}/upload`, SPOOLED, true),
            (result) => result.status === 200 && result.body === String(SPOOLED),
          ),
      );
    }, { X_REPLAY_PLAIN_SERVER: file });
    rows.push(
      await serving(
        [cli, "serve", cassette],
        (player) =>
          measure(
            "x-replay serve (replay from the blob cassette)",
            player,
            () => download(`${player.url}/big`),
            same,
          ),
      ),
    );
    const floorMs = floor(file, join(folder, "floor"));
    const cache = pageCacheFloor(file, folder);

    const base = rows[0].ms;
    console.log("");
    console.log(
      "| scenario | time | MiB/s | × plain | server CPU | RSS before | RSS growth | growth ≤ 64 MiB | ≥ 0.5× plain |",
    );
    console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (const row of rows) {
      const ratio = base / row.ms;
      const isBase = row === rows[0];
      console.log(
        `| ${row.name} | ${(row.ms / 1000).toFixed(2)} s | ${
          (SIZE / MiB / (row.ms / 1000)).toFixed(0)
        } | ${ratio.toFixed(2)}× | ${(row.cpu / 1000).toFixed(1)} s | ${sizeOf(row.before)} | ${
          sizeOf(row.growth)
        } | ${isBase ? "—" : row.growth <= GROWTH_TARGET ? "yes" : "**no**"} | ${
          isBase ? "—" : ratio >= THROUGHPUT_TARGET ? "yes" : "**no**"
        } |`,
      );
    }
    console.log(
      `| (floor) the same bytes as fsynced 1 MiB files, no server | ${
        (floorMs / 1000).toFixed(2)
      } s | ${(SIZE / MiB / (floorMs / 1000)).toFixed(0)} | ${
        (base / floorMs).toFixed(2)
      }× | — | — | — | — | — |`,
    );
    console.log(
      `| (floor) the same bytes written once into one new file, no fsync (system CPU ${
        (cache.systemMs / 1000).toFixed(2)
      } s) | ${(cache.ms / 1000).toFixed(2)} s | ${(SIZE / MiB / (cache.ms / 1000)).toFixed(0)} | ${
        (base / cache.ms).toFixed(2)
      }× | — | — | — | — | — |`,
    );
    console.log("");
    console.log(
      `Upload: ${uploadRow.name}: ${(uploadRow.ms / 1000).toFixed(2)} s, RSS growth ${
        sizeOf(uploadRow.growth)
      } (${(uploadRow.growth / UPLOAD).toFixed(1)}× the body), server CPU ${
        (uploadRow.cpu / 1000).toFixed(1)
      } s`,
    );
    console.log(
      `Upload: ${spooledRow.name}: ${(spooledRow.ms / 1000).toFixed(2)} s, RSS growth ${
        sizeOf(spooledRow.growth)
      } (${spooledRow.growth <= GROWTH_TARGET ? "within" : "**over**"} 64 MiB), server CPU ${
        (spooledRow.cpu / 1000).toFixed(1)
      } s; ${
        (plainUploadRow.ms / spooledRow.ms).toFixed(2)
      }× the speed of ${plainUploadRow.name}: ${
        (plainUploadRow.ms / 1000).toFixed(2)
      } s, RSS growth ${sizeOf(plainUploadRow.growth)}`,
    );
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
