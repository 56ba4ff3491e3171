// Part 5 of the peers benchmark: the same 1,000-request replay through axios
// with its default adapter (node:http), intercepted process-wide:
// @x/replay's interceptHttp() vs nock back vs Polly.js with
// @pollyjs/adapter-node-http. One command, one run:
//
//   node bench/peers/intercept.mjs       (also run by bench/peers/run.mjs; needs dist/)
//
// A local node:http server on 127.0.0.1 answers GET /items/<i>. Each tool
// records the 1,000 requests in a process of its own; the server is then
// stopped, so nothing in a replay row can go live (the script checks that no
// request reaches it). Then, for ROUNDS rounds, each tool replays in a fresh
// Node process (order rotated every round): whole sessions as warm-up for
// WARMUP_MS, then measured sessions for MEASURE_MS, and the child reports its
// median session. The table gives the median of the rounds, and the ratios.
//
// Environment: ROUNDS (default 5), REQUESTS (default 1000), WARMUP_MS
// (default 1500), MEASURE_MS (default 1000). See bench/peers/README.md.
import { Buffer } from "node:buffer";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  assertEq,
  bodyOf,
  floorAnswers,
  fmtRatio,
  fmtUs,
  MEASURE_MS,
  measureSessions,
  median,
  ms,
  N,
  now,
  root,
  runChild,
  serveItems,
  urlsFor,
  versionOf,
  WARMUP_MS,
} from "./_measure.mjs";

const self = fileURLToPath(import.meta.url);
const CHILD = process.env.X_REPLAY_INTERCEPT_CHILD;
const ROUNDS = Number(process.env.ROUNDS ?? 5);

if (!existsSync(join(root, "dist/src/http/intercept/mod.js"))) {
  throw new Error("dist/ is missing or has no intercept subpath: run `npm run build` first");
}

/** GETs every URL in turn with axios (default adapter), checks each body. Returns ms. */
async function runAll(axios, urls) {
  const t0 = now();
  for (let i = 0; i < urls.length; i++) {
    const response = await axios.get(urls[i], { responseType: "text", transformResponse: [] });
    if (response.status !== 200 || response.data !== bodyOf(i)) {
      throw new Error(
        `wrong answer for ${urls[i]}: ${response.status} ${String(response.data).slice(0, 80)}`,
      );
    }
  }
  return ms(t0, now());
}

async function loadPolly() {
  const { Polly } = await import("@pollyjs/core");
  Polly.register((await import("@pollyjs/adapter-node-http")).default);
  Polly.register((await import("@pollyjs/persister-fs")).default);
  return Polly;
}
const pollyConfig = (mode, work) => ({
  mode,
  adapters: ["node-http"],
  persister: "fs",
  persisterOptions: { fs: { recordingsDir: join(work, "polly") } },
  recordIfMissing: false,
  recordFailedRequests: true,
  logLevel: "silent",
});

// ===========================================================================
// Children: one recording or one measurement each, result as a JSON line.
// ===========================================================================
async function child({ tool, work, origin }) {
  const axios = (await import("axios")).default;
  // The default adapter on Node is node:http (no XMLHttpRequest here).
  assertEq(typeof XMLHttpRequest, "undefined", "no XMLHttpRequest: axios uses its http adapter");
  const urls = urlsFor(origin);
  const lib = await import("../../dist/mod.js");
  const { createInterceptResponder, interceptHttp } = await import(
    "../../dist/src/http/intercept/mod.js"
  );
  const ours = join(work, "ours.json");
  if (tool === "record-ours") {
    const recorder = lib.createAsyncBroker({
      cassette: lib.createCassette(),
      mode: "record",
      liveResponder: createInterceptResponder(),
    });
    const interception = interceptHttp(recorder);
    const t = await runAll(axios, urls);
    await interception.stop();
    assertEq(recorder.cassette.interactions.length, N, "our recording: interactions");
    writeFileSync(ours, lib.stringifyCassette(recorder.cassette));
    return { recordMs: t };
  }
  if (tool === "record-polly") {
    const Polly = await loadPolly();
    const polly = new Polly("intercept", pollyConfig("record", work));
    const t = await runAll(axios, urls);
    await polly.stop();
    return { recordMs: t };
  }
  if (tool === "record-nock") {
    const nock = (await import("nock")).default;
    nock.back.fixtures = join(work, "nock");
    nock.back.setMode("record");
    const { nockDone } = await nock.back("intercept.json");
    const t = await runAll(axios, urls);
    nockDone();
    const fixture = JSON.parse(readFileSync(join(work, "nock", "intercept.json"), "utf8"));
    assertEq(fixture.length, N, "nock back fixture: recorded definitions");
    return { recordMs: t };
  }

  let session;
  if (tool === "live") {
    session = async () => {
      const t = await runAll(axios, urls);
      return [t, t];
    };
  } else if (tool === "ours") {
    // Proof that the interception is in the way: an unrecorded URL is refused.
    {
      const interception = interceptHttp(lib.openBroker(lib.fileStore(ours)));
      let refused = false;
      try {
        await axios.get(`${origin}/not-recorded`);
      } catch (error) {
        refused = error?.cause instanceof lib.InteractionNotFoundError;
      }
      await interception.stop();
      assertEq(refused, true, "interceptHttp() refuses an unrecorded request");
    }
    session = async () => {
      const s0 = now();
      const interception = interceptHttp(lib.openBroker(lib.fileStore(ours))); // mode "replay"
      const loop = await runAll(axios, urls);
      await interception.stop();
      return [ms(s0, now()), loop];
    };
  } else if (tool === "floor") {
    // Info row: the least any interception built on @mswjs/interceptors can
    // cost here. The same recording read into a Map keyed by URL, and a
    // ClientRequestInterceptor listener that answers new Response(bytes): no
    // matching, no checks, no streaming. Not a product, a floor.
    const { ClientRequestInterceptor } = await import("@mswjs/interceptors/ClientRequest");
    session = async () => {
      const s0 = now();
      const answers = floorAnswers(ours);
      const interceptor = new ClientRequestInterceptor();
      interceptor.apply();
      interceptor.on("request", ({ request, controller }) => {
        const answer = answers.get(request.url);
        controller.respondWith(
          new Response(answer.bytes.slice(), { status: 200, headers: answer.headers }),
        );
      });
      const loop = await runAll(axios, urls);
      interceptor.dispose();
      return [ms(s0, now()), loop];
    };
  } else if (tool === "socket-floor") {
    // Info row: the least a socket-level answer (ADR 0051) can cost here. An
    // agent whose sockets answer every request with the recorded response,
    // already serialised as HTTP bytes and looked up by URL in a Map: no
    // request parsing, no fingerprint, no broker, no checks. Not a product.
    const http = (await import("node:http")).default;
    const { Duplex } = await import("node:stream");
    session = async () => {
      const s0 = now();
      const answers = new Map();
      for (const [url, answer] of floorAnswers(ours)) {
        const head = `HTTP/1.1 200 OK\r\n${
          answer.headers.map(([name, value]) => `${name}: ${value}\r\n`).join("")
        }\r\n`;
        answers.set(new URL(url).pathname, Buffer.concat([Buffer.from(head), answer.bytes]));
      }
      class Answering extends Duplex {
        connecting = false;
        #text = "";
        constructor(path) {
          super({ allowHalfOpen: false });
          this.path = path;
        }
        _write(data, _encoding, callback) {
          this.#text += data.toString("latin1");
          if (this.#text.includes("\r\n\r\n")) {
            process.nextTick(() => {
              this.push(answers.get(this.path));
              this.push(null);
            });
          }
          callback();
        }
        _read() {}
        setTimeout() {
          return this;
        }
        setNoDelay() {
          return this;
        }
        setKeepAlive() {
          return this;
        }
      }
      class AnsweringAgent extends http.Agent {
        addRequest(request) {
          request.onSocket(new Answering(request.path));
        }
      }
      const agent = new AnsweringAgent();
      const request = http.request;
      // follow-redirects (axios) calls request(options, callback).
      http.request = (options, callback) => request({ ...options, agent }, callback);
      try {
        const loop = await runAll(axios, urls);
        return [ms(s0, now()), loop];
      } finally {
        http.request = request;
      }
    };
  } else if (tool === "polly") {
    const Polly = await loadPolly();
    {
      const polly = new Polly("intercept", pollyConfig("replay", work));
      let refused = false;
      try {
        await axios.get(`${origin}/not-recorded`);
      } catch {
        refused = true;
      }
      await polly.stop();
      assertEq(refused, true, "Polly.js refuses an unrecorded request");
    }
    session = async () => {
      const s0 = now();
      const polly = new Polly("intercept", pollyConfig("replay", work));
      const loop = await runAll(axios, urls);
      await polly.stop();
      return [ms(s0, now()), loop];
    };
  } else if (tool === "nock") {
    const nock = (await import("nock")).default;
    nock.back.fixtures = join(work, "nock");
    nock.back.setMode("lockdown"); // recorded fixtures only, net connect disabled
    {
      const { nockDone } = await nock.back("intercept.json");
      let refused = false;
      try {
        await axios.get(`${origin}/not-recorded`);
      } catch (error) {
        refused = /disallowed net connect|nock/i.test(`${error} ${error?.cause ?? ""}`);
      }
      nockDone();
      nock.cleanAll();
      assertEq(refused, true, "nock lockdown refuses an unrecorded request");
    }
    session = async () => {
      const s0 = now();
      const { nockDone } = await nock.back("intercept.json");
      const loop = await runAll(axios, urls);
      nockDone();
      nock.cleanAll();
      return [ms(s0, now()), loop];
    };
  } else {
    throw new Error(`unknown tool ${tool}`);
  }
  return await measureSessions(session);
}

// ===========================================================================
// Parent: serve, record in children, stop the server, measure, report.
// ===========================================================================
async function parent() {
  const log = (...a) => console.log(...a);
  const started = now();
  const work = mkdtempSync(join(tmpdir(), "x-replay-intercept-"));
  const server = await serveItems();
  const origin = server.origin;
  const spawnChild = (tool) =>
    runChild(tool, [self], { X_REPLAY_INTERCEPT_CHILD: JSON.stringify({ tool, work, origin }) });

  log(
    `Part 5: replay ${N} distinct recorded GETs through axios (default adapter, node:http), intercepted;`,
  );
  log(
    `${ROUNDS} rounds, each tool in a fresh process per round (warm-up ≥ ${WARMUP_MS} ms, then sessions for ≥ ${MEASURE_MS} ms); medians. node ${process.version}`,
  );

  const live = [];
  for (let r = 0; r < ROUNDS; r++) live.push(await spawnChild("live"));
  const recordMs = {};
  for (const tool of ["ours", "polly", "nock"]) {
    const hits = server.hits();
    recordMs[tool] = (await spawnChild(`record-${tool}`)).recordMs;
    assertEq(server.hits() - hits, N, `${tool} recording: server hits`);
  }

  await server.close();
  const hitsAtStop = server.hits();

  const tools = ["ours", "polly", "nock", "floor", "socket-floor"];
  const results = { ours: [], polly: [], nock: [], floor: [], "socket-floor": [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < tools.length; k++) {
      const tool = tools[(r + k) % tools.length];
      results[tool].push(await spawnChild(tool));
    }
  }
  assertEq(server.hits(), hitsAtStop, "requests reaching the server during replay");

  const perReq = (xs, key) => (median(xs.map((x) => x[key])) * 1000) / N;
  const rows = [
    ["@x/replay: interceptHttp(openBroker(fileStore))", results.ours],
    ["Polly.js: adapter-node-http + persister-fs, mode replay", results.polly],
    ["nock back: lockdown", results.nock],
    ["live local server, no interception [baseline]", live],
    ["floor of @mswjs/interceptors (info): Map.get(url) + new Response(bytes)", results.floor],
    [
      "floor of a socket-level answer (info): agent + Map.get(path) + fixed bytes",
      results["socket-floor"],
    ],
  ].map(([name, xs]) => [name, perReq(xs, "loop"), perReq(xs, "whole")]);
  log("");
  log("| contender | µs/request | µs/request, session |");
  log("|---|---:|---:|");
  for (const [name, a, b] of rows) log(`| ${name} | ${fmtUs(a)} | ${fmtUs(b)} |`);
  log("");
  log(
    "Ratios (the other's time / ours: how many times faster @x/replay is; target ≥ 10× over both):",
  );
  log("");
  log("| pair | per request | per request, session | target met? |");
  log("|---|---:|---:|---|");
  const [ours, polly, nockRow, liveRow, floorRow, socketFloorRow] = rows;
  const pairs = [
    ["Polly.js / @x/replay", polly, ours, true],
    ["nock back / @x/replay", nockRow, ours, true],
    ["live server / @x/replay (info)", liveRow, ours, false],
    [
      "@x/replay / socket-level floor (info: our cost over the bare minimum of our approach)",
      ours,
      socketFloorRow,
      false,
    ],
    [
      "Polly.js / floor (info: the most any replay on @mswjs/interceptors could gain)",
      polly,
      floorRow,
      false,
    ],
    ["nock back / floor (info: the same, on nock back)", nockRow, floorRow, false],
  ];
  for (const [label, other, base, target] of pairs) {
    const perRequest = other[1] / base[1];
    const perSession = other[2] / base[2];
    const met = target ? (perRequest >= 10 && perSession >= 10 ? "yes" : "**NO**") : "";
    log(`| ${label} | ${fmtRatio(perRequest)} | ${fmtRatio(perSession)} | ${met} |`);
  }
  log("");
  log(
    `Recording the ${N} requests (one pass, ms, information): @x/replay ${
      recordMs.ours.toFixed(0)
    }, ` +
      `Polly.js ${recordMs.polly.toFixed(0)}, nock back ${recordMs.nock.toFixed(0)}`,
  );
  const pollyAdapter = join(root, "node_modules", "@pollyjs", "adapter-node-http");
  log(
    `Versions: axios ${versionOf("axios")}, @mswjs/interceptors ${
      versionOf("@mswjs/interceptors")
    }, ` +
      `nock ${versionOf("nock")}, @pollyjs/core ${versionOf("@pollyjs/core")}, ` +
      `@pollyjs/adapter-node-http ${versionOf("@pollyjs/adapter-node-http")} (nock ${
        versionOf("nock", pollyAdapter)
      } inside), node ${process.version}`,
  );
  log(`Part 5 time: ${(ms(started, now()) / 1000).toFixed(0)} s`);
  rmSync(work, { recursive: true, force: true });
}

if (CHILD) console.log(JSON.stringify(await child(JSON.parse(CHILD))));
else await parent();
