// HTTP replay throughput.
//
// (a) requests/s through the fetch adapter: createReplayFetch() over a sync
//     and an async broker, small JSON answer read with .text(), vs a bare
//     `new Response(text)` read the same way [baseline].
// (b) bytes/s for a large streamed body: 16 MiB in 256 recorded chunks of
//     64 KiB, read to the end through createReplayFetch(), vs the same chunks
//     enqueued into a plain pull-based ReadableStream [baseline].
// (c) replay over loopback: serve() answering from a cassette vs Deno.serve
//     answering the same bytes from memory [baseline], both read with fetch
//     (keep-alive) from the same process; small answer and 1 MiB streamed body.
//
// Divide the body size by the reported time per iteration for bytes/s.
// Run: npx deno bench --allow-read --allow-write --allow-env --allow-net=127.0.0.1 bench/http_bench.ts
import {
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
} from "@x/replay";
import { createReplayFetch } from "@x/replay/fetch";
import { serve } from "@x/replay/server";

const SMALL = '{"id":"chatcmpl-1","choices":[{"message":{"content":"Hello there"}}]}';
const PIECE = 64 * 1024;
const LARGE_PIECES = 256; // 16 MiB
const MEDIUM_PIECES = 16; // 1 MiB

const piece = Uint8Array.from({ length: PIECE }, (_, i) => (i * 31) % 251);
const metadata = [["status_code", "200"], ["header:content-type", "application/json"]] as const;

function interaction(target: string, pieces: number | string) {
  const request = createRequest({ protocol: "http", action: "GET", target });
  const chunks = typeof pieces === "string"
    ? [createChunk(pieces, 0, metadata)]
    : Array.from({ length: pieces }, (_, i) => createChunk(piece, i, i === 0 ? metadata : []));
  return createInteraction(request, chunks);
}

const ORIGIN = "https://api.example.com";
const cassette = createCassette([
  interaction(`${ORIGIN}/small`, SMALL),
  interaction(`${ORIGIN}/large`, LARGE_PIECES),
  interaction(`${ORIGIN}/medium`, MEDIUM_PIECES),
]);
const syncFetch = createReplayFetch(createBroker({ cassette }));
const asyncFetch = createReplayFetch(createAsyncBroker({ cassette }));

async function drain(body: ReadableStream<Uint8Array> | null): Promise<number> {
  let total = 0;
  const reader = body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return total;
    total += value.length;
  }
}

// Sanity checks, outside the measurement.
if ((await (await syncFetch(`${ORIGIN}/small`)).text()) !== SMALL) {
  throw new Error("http bench: small replay differs");
}
if ((await drain((await asyncFetch(`${ORIGIN}/large`)).body)) !== PIECE * LARGE_PIECES) {
  throw new Error("http bench: large replay has the wrong size");
}

let sink = 0;

// (a) requests/s through the fetch adapter.
Deno.bench({
  group: "fetch replay, small answer",
  name: "new Response(text).text() [baseline]",
  baseline: true,
  async fn() {
    sink += (await new Response(SMALL, { headers: { "content-type": "application/json" } }).text())
      .length;
  },
});
Deno.bench({
  group: "fetch replay, small answer",
  name: "createReplayFetch(createBroker())(url).text()",
  async fn() {
    sink += (await (await syncFetch(`${ORIGIN}/small`)).text()).length;
  },
});
Deno.bench({
  group: "fetch replay, small answer",
  name: "createReplayFetch(createAsyncBroker())(url).text()",
  async fn() {
    sink += (await (await asyncFetch(`${ORIGIN}/small`)).text()).length;
  },
});

// (b) bytes/s for a large streamed body.
Deno.bench({
  group: "fetch replay, 16 MiB in 64 KiB chunks",
  name: "pull-based ReadableStream of the chunks [baseline]",
  baseline: true,
  async fn() {
    let i = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (i++ === LARGE_PIECES) controller.close();
        else controller.enqueue(piece.slice());
      },
    }, { highWaterMark: 0 });
    sink += await drain(stream);
  },
});
Deno.bench({
  group: "fetch replay, 16 MiB in 64 KiB chunks",
  name: "createReplayFetch(createBroker())(url), body read to the end",
  async fn() {
    sink += await drain((await syncFetch(`${ORIGIN}/large`)).body);
  },
});
Deno.bench({
  group: "fetch replay, 16 MiB in 64 KiB chunks",
  name: "createReplayFetch(createAsyncBroker())(url), body read to the end",
  async fn() {
    sink += await drain((await asyncFetch(`${ORIGIN}/large`)).body);
  },
});

// (c) replay over loopback.
const replayServer = await serve({ broker: createBroker({ cassette }) });
const medium = new Uint8Array(PIECE * MEDIUM_PIECES);
for (let i = 0; i < MEDIUM_PIECES; i++) medium.set(piece, i * PIECE);
const plainServer = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: () => {} },
  (request) => {
    const path = new URL(request.url).pathname;
    return new Response(path === "/small" ? SMALL : medium, {
      headers: { "content-type": "application/json" },
    });
  },
);
const plainOrigin = `http://127.0.0.1:${plainServer.addr.port}`;
const replayOrigin = replayServer.url.origin;
if ((await (await fetch(`${replayOrigin}/small`)).text()) !== SMALL) {
  throw new Error("http bench: the replay server answered something else");
}

Deno.bench({
  group: "loopback, small answer",
  name: "Deno.serve from memory [baseline]",
  baseline: true,
  async fn() {
    sink += (await (await fetch(`${plainOrigin}/small`)).text()).length;
  },
});
Deno.bench({
  group: "loopback, small answer",
  name: "serve() replaying a cassette",
  async fn() {
    sink += (await (await fetch(`${replayOrigin}/small`)).text()).length;
  },
});
Deno.bench({
  group: "loopback, 1 MiB in 64 KiB chunks",
  name: "Deno.serve from memory [baseline]",
  baseline: true,
  async fn() {
    sink += await drain((await fetch(`${plainOrigin}/medium`)).body);
  },
});
Deno.bench({
  group: "loopback, 1 MiB in 64 KiB chunks",
  name: "serve() replaying a cassette",
  async fn() {
    sink += await drain((await fetch(`${replayOrigin}/medium`)).body);
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) console.log("unreachable", sink);
  void replayServer.close();
  void plainServer.shutdown();
});
