// What the peers benchmark's request-replay parts share (run.mjs, Part 1, and
// intercept.mjs, Part 5): the local server and the documents it answers, the
// measuring loop every measuring child runs, the child processes themselves,
// and how the parent prints figures. Each part keeps its own clients, tools
// and report.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** How many distinct requests a session replays (REQUESTS, default 1000). */
export const N = Number(process.env.REQUESTS ?? 1000);
/** How long a child runs whole sessions before it measures (WARMUP_MS, default 1500). */
export const WARMUP_MS = Number(process.env.WARMUP_MS ?? 1500);
/** How long a child measures sessions (MEASURE_MS, default 1000). */
export const MEASURE_MS = Number(process.env.MEASURE_MS ?? 1000);

export const now = () => process.hrtime.bigint();
export const ms = (t0, t1) => Number(t1 - t0) / 1e6;

export function assertEq(actual, expected, what) {
  if (actual !== expected) {
    throw new Error(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
  }
}

/** The body the local server sends for /items/<i>. */
export const bodyOf = (i) =>
  JSON.stringify({ id: i, name: `item ${i}`, tags: ["a", "b"], price: (i % 97) + 0.5 });
/** The N URLs a session requests. */
export const urlsFor = (origin) => Array.from({ length: N }, (_, i) => `${origin}/items/${i}`);

/**
 * The local server on 127.0.0.1: GET /items/<i> answers a small JSON
 * document, anything else 404. `hits()` counts every request it received;
 * `close()` also drops kept-alive connections, so nothing can go live after.
 */
export async function serveItems() {
  let hits = 0;
  const server = createServer((request, response) => {
    hits++;
    const match = /^\/items\/(\d+)$/.exec(request.url ?? "");
    if (request.method !== "GET" || match === null) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": "application/json" });
    response.end(bodyOf(Number(match[1])));
  });
  await new Promise((ok) => server.listen(0, "127.0.0.1", ok));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    hits: () => hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
  };
}

/**
 * The floor rows' whole replay engine: a recorded cassette file read with
 * JSON.parse into a Map from URL to { bytes, headers }, with no fingerprint,
 * no checks and no streaming.
 */
export function floorAnswers(path) {
  const doc = JSON.parse(readFileSync(path, "utf8"));
  const encoder = new TextEncoder();
  const answers = new Map();
  for (const { request, response_chunks: chunks } of doc.interactions) {
    answers.set(request.target, {
      bytes: encoder.encode(chunks.map((chunk) => chunk.data).join("")),
      headers: chunks[0].metadata
        .filter(([key]) => key.startsWith("header:"))
        .map(([key, value]) => [key.slice("header:".length), value]),
    });
  }
  return answers;
}

/**
 * A measuring child's loop. `session()` runs one whole session and returns
 * [ms for the whole session, ms for its request loop]. Warm-up: whole
 * sessions until WARMUP_MS have passed (at least one), so the JIT has settled
 * for cheap and expensive tools alike. Then measured sessions until
 * MEASURE_MS have passed (at least one); the medians of both figures.
 */
export async function measureSessions(session) {
  const w0 = now();
  do await session(); while (ms(w0, now()) < WARMUP_MS);
  const wholes = [];
  const loops = [];
  const m0 = now();
  do {
    const [whole, loop] = await session();
    wholes.push(whole);
    loops.push(loop);
  } while (ms(m0, now()) < MEASURE_MS);
  const mid = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  return { whole: mid(wholes), loop: mid(loops), sessions: loops.length };
}

/**
 * Runs `node <args>` in a fresh process with `env` added, asynchronously (so
 * the parent keeps serving); the JSON of its last line of output.
 */
export function runChild(name, args, env) {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", fail);
    child.on("exit", (code) => {
      if (code !== 0) fail(new Error(`${name} child exited with ${code}`));
      else ok(JSON.parse(out.trim().split("\n").pop()));
    });
  });
}

/** The version of an installed package (below `from`'s node_modules). */
export const versionOf = (name, from = root) =>
  JSON.parse(readFileSync(join(from, "node_modules", name, "package.json"), "utf8")).version;

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
export const fmtUs = (us) => (us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2));
export const fmtRatio = (r) => (r >= 10 ? r.toFixed(0) : r.toFixed(1)) + "×";
