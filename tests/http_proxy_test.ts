// The recording proxy is faithful (issue 13, item 3): what a client gets
// through it, and later from replay, is what the upstream sent, compared as
// bytes on the wire (node:net), not through a client that normalises.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRedactor,
  createRequest,
  fileStoreAsync,
  openAsyncBroker,
} from "@x/replay";
import { createFetchResponder } from "@x/replay/fetch";
import { type ReplayServer, serve } from "@x/replay/server";
import { closing, GUARD } from "./_http.ts";
import { withFolder } from "./_helpers.ts";
import { rawRequest, type RawResponse, rawUpstream, values } from "./_raw_http.ts";

const HELLO = "hello, world";

/** The upstream's head: a reason phrase of its own, repeated headers both ways. */
const UPSTREAM_HEAD = [
  "HTTP/1.1 203 Fine Thanks",
  "X-Multi: a",
  "Content-Type: text/plain",
  "X-Multi: b",
  "X-Joined: c, d",
  "Set-Cookie: a=1; Path=/",
  "Set-Cookie: b=2; Path=/",
  "Cache-Control: no-store",
  "Cache-Control: private",
  `Content-Length: ${HELLO.length}`,
];

/** The header lines a client must see, lower-cased, in the order a name's lines came. */
function byName(response: RawResponse, names: readonly string[]): Record<string, string[]> {
  return Object.fromEntries(names.map((name) => [name, values(response, name)]));
}

const NAMES = [
  "x-multi",
  "x-joined",
  "set-cookie",
  "cache-control",
  "content-type",
  "content-length",
];

function proxyBroker(upstream: string, path: string, options?: { keepEncoding?: boolean }) {
  return createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    recording: "streaming",
    liveResponder: createFetchResponder({ upstream, client: "node:http", ...options }),
    store: fileStoreAsync(path, { createIfMissing: true }),
    redact: false,
  });
}

function get(server: ReplayServer, path: string, extra = ""): Promise<RawResponse> {
  return rawRequest(
    server.url,
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}${extra}`,
  );
}

test(
  "serve() as a proxy hands on the upstream's header lines, status text and length, and replays them the same",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "faithful.json");
      const upstream = await rawUpstream(() => [`${UPSTREAM_HEAD.join("\r\n")}\r\n\r\n${HELLO}`]);
      let live: RawResponse;
      try {
        live = await closing(
          serve({ broker: proxyBroker(upstream.origin, path), origin: upstream.origin }),
          (proxy) => get(proxy, "/hello?x=1"),
        );
      } finally {
        await upstream.close();
      }
      const expected = {
        "x-multi": ["a", "b"],
        "x-joined": ["c, d"],
        "set-cookie": ["a=1; Path=/", "b=2; Path=/"],
        "cache-control": ["no-store", "private"],
        "content-type": ["text/plain"],
        "content-length": [String(HELLO.length)],
      };
      assert.equal(live.statusLine, "HTTP/1.1 203 Fine Thanks");
      assert.deepEqual(byName(live, NAMES), expected);
      assert.equal(live.framing, "length");
      assert.deepEqual(values(live, "transfer-encoding"), []);
      assert.equal(Buffer.from(live.body).toString(), HELLO);

      // Stored one pair per line, in the order each name's lines came.
      const stored = JSON.parse(readFileSync(path, "utf8"));
      const metadata = stored.interactions[0].response_chunks[0].metadata as [string, string][];
      assert.deepEqual(metadata.filter(([key]) => key === "header:x-multi"), [
        ["header:x-multi", "a"],
        ["header:x-multi", "b"],
      ]);
      assert.deepEqual(metadata.filter(([key]) => key === "header:x-joined"), [
        ["header:x-joined", "c, d"],
      ]);

      // Replayed from the file, without the upstream: the same lines and framing.
      const player = await openAsyncBroker(fileStoreAsync(path));
      const replayed = await closing(
        serve({ broker: player }),
        (server) => get(server, "/hello?x=1"),
      );
      assert.equal(replayed.statusLine, "HTTP/1.1 203 Fine Thanks");
      assert.deepEqual(byName(replayed, NAMES), expected);
      assert.equal(replayed.framing, "length");
      assert.deepEqual(replayed.body, live.body);
    });
  },
);

test(
  "serve() as a proxy decodes a gzip body by default, and with keepEncoding records the bytes as sent",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const text = "compressible ".repeat(200);
      const zipped = gzipSync(Buffer.from(text));
      const upstream = await rawUpstream(() => [
        `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n\r\n`,
        zipped,
      ]);
      try {
        // Default: the client and the cassette get readable text, framed by the runtime.
        const decodedPath = join(folder, "decoded.json");
        const decoded = await closing(
          serve({ broker: proxyBroker(upstream.origin, decodedPath), origin: upstream.origin }),
          (proxy) => get(proxy, "/z", "\r\nAccept-Encoding: gzip"),
        );
        assert.equal(Buffer.from(decoded.body).toString(), text);
        assert.deepEqual(values(decoded, "content-encoding"), []);
        assert.equal(decoded.framing, "chunked");
        assert.ok(readFileSync(decodedPath, "utf8").includes("compressible"));

        // keepEncoding: the upstream's bytes, its content-encoding and its length.
        const keptPath = join(folder, "kept.json");
        const kept = await closing(
          serve({
            broker: proxyBroker(upstream.origin, keptPath, { keepEncoding: true }),
            origin: upstream.origin,
          }),
          (proxy) => get(proxy, "/z", "\r\nAccept-Encoding: gzip"),
        );
        assert.deepEqual(Buffer.from(kept.body), zipped);
        assert.deepEqual(values(kept, "content-encoding"), ["gzip"]);
        assert.deepEqual(values(kept, "content-length"), [String(zipped.length)]);
        const replayed = await closing(
          serve({ broker: await openAsyncBroker(fileStoreAsync(keptPath)) }),
          (server) => get(server, "/z"),
        );
        assert.deepEqual(Buffer.from(replayed.body), zipped);
        assert.deepEqual(values(replayed, "content-encoding"), ["gzip"]);
        assert.deepEqual(values(replayed, "content-length"), [String(zipped.length)]);
      } finally {
        await upstream.close();
      }
    });
  },
);

test("createFetchResponder() decodes deflate (zlib and raw) and brotli bodies with the node:http client", async () => {
  const { brotliCompressSync, deflateRawSync, deflateSync } = await import("node:zlib");
  const text = "squeeze me ".repeat(100);
  for (
    const [coding, bytes] of [
      ["deflate", deflateSync(Buffer.from(text))],
      ["deflate", deflateRawSync(Buffer.from(text))],
      ["br", brotliCompressSync(Buffer.from(text))],
      ["gzip, br", brotliCompressSync(gzipSync(Buffer.from(text)))],
    ] as const
  ) {
    const upstream = await rawUpstream(() => [
      `HTTP/1.1 200 OK\r\nContent-Encoding: ${coding}\r\nContent-Length: ${bytes.length}\r\n\r\n`,
      bytes,
    ]);
    try {
      const responder = createFetchResponder({ upstream: upstream.origin, client: "node:http" });
      const chunks = [];
      for await (
        const chunk of responder(
          createRequest({ protocol: "http", action: "GET", target: "/" }),
        ) as AsyncIterable<
          { data: Uint8Array; metadata: readonly (readonly [string, string])[] }
        >
      ) chunks.push(chunk);
      assert.equal(Buffer.concat(chunks.map((chunk) => chunk.data)).toString(), text, coding);
      assert.ok(!chunks[0]!.metadata.some(([key]) => key === "header:content-encoding"), coding);
    } finally {
      await upstream.close();
    }
  }
  assert.throws(
    () => createFetchResponder({ keepEncoding: true }),
    /keepEncoding needs client "node:http"/,
  );
  assert.throws(() => createFetchResponder({ client: "curl" as never }), TypeError);
  assert.throws(
    () => createFetchResponder({ client: "node:http", fetch: globalThis.fetch }),
    /only with client "fetch"/,
  );
});

test("serve() replays older cassettes: a joined header stays one line, set-cookie pairs stay apart", async () => {
  const request = createRequest({
    protocol: "http",
    action: "GET",
    target: "https://api.example.com/old",
  });
  const cassette = createCassette([createInteraction(request, [createChunk("old", 0, [
    ["status_code", "200"],
    ["header:x-multi", "a, b"],
    ["header:set-cookie", "a=1"],
    ["header:set-cookie", "b=2"],
  ])])]);
  const replayed = await closing(
    serve({ broker: createBroker({ cassette }) }),
    (server) => get(server, "/old"),
  );
  assert.deepEqual(values(replayed, "x-multi"), ["a, b"]);
  assert.deepEqual(values(replayed, "set-cookie"), ["a=1", "b=2"]);
  assert.equal(Buffer.from(replayed.body).toString(), "old");
});

test("serve() sends a recorded content-length only when the body replayed has that size", async () => {
  const request = (path: string) =>
    createRequest({ protocol: "http", action: "GET", target: `https://api.example.com${path}` });
  const length = (value: string) =>
    [["status_code", "200"], ["header:content-length", value]] as const;
  const cassette = createCassette([
    // True, over two chunks.
    createInteraction(request("/true"), [createChunk("ab", 0, length("4")), "cd"]),
    // A hand edit: the body changed, the length did not.
    createInteraction(request("/edited"), [createChunk("abc", 0, length("4"))]),
    createInteraction(request("/garbage"), [createChunk("abcd", 0, length("four"))]),
  ]);
  await closing(serve({ broker: createAsyncBroker({ cassette }) }), async (server) => {
    const exact = await get(server, "/true");
    assert.deepEqual(values(exact, "content-length"), ["4"]);
    assert.equal(Buffer.from(exact.body).toString(), "abcd");
    for (const path of ["/edited", "/garbage"]) {
      const framed = await get(server, path);
      assert.deepEqual(values(framed, "content-length"), [], path);
      assert.equal(framed.framing, "chunked", path);
      assert.ok(framed.complete, path);
    }
  });

  // Redaction that changes the body's length while recording: the replay is framed in chunks.
  await withFolder(async (folder) => {
    const path = join(folder, "redacted.json");
    const secret = '{"token":"sk-abcdefghijklmnop"}';
    const upstream = await rawUpstream(() => [
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${secret.length}\r\n\r\n${secret}`,
    ]);
    try {
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        recording: "streaming",
        liveResponder: createFetchResponder({ upstream: upstream.origin, client: "node:http" }),
        store: fileStoreAsync(path, { createIfMissing: true }),
        redact: createRedactor({ jsonFields: ["token"] }),
      });
      const live = await closing(
        serve({ broker, origin: upstream.origin }),
        (proxy) => get(proxy, "/t"),
      );
      assert.equal(Buffer.from(live.body).toString(), secret);
      assert.deepEqual(values(live, "content-length"), [String(secret.length)]);
    } finally {
      await upstream.close();
    }
    const replayed = await closing(
      serve({ broker: await openAsyncBroker(fileStoreAsync(path)) }),
      (server) => get(server, "/t"),
    );
    assert.equal(Buffer.from(replayed.body).toString(), '{"token":"[REDACTED]"}');
    assert.deepEqual(values(replayed, "content-length"), []);
    assert.ok(replayed.complete);
  });
});

test("createFetchResponder() with node:http records a download in 1 MiB chunks, an event stream as it came", async () => {
  const size = 3.5 * 1024 * 1024;
  const download = await rawUpstream(() => [
    `HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`,
    Buffer.alloc(size, 0x61),
  ]);
  const events = await rawUpstream(() => [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "7\r\ndata: 1\r\n",
    "7\r\ndata: 2\r\n",
    "0\r\n\r\n",
  ]);
  try {
    const sizes = async (origin: string) => {
      const responder = createFetchResponder({ upstream: origin, client: "node:http" });
      const found: number[] = [];
      const answer = responder(createRequest({ protocol: "http", action: "GET", target: "/" }));
      for await (const chunk of answer as AsyncIterable<{ data: Uint8Array }>) {
        found.push(chunk.data.length);
      }
      return found;
    };
    assert.deepEqual(await sizes(download.origin), [1, 1, 1, 0.5].map((mib) => mib * 1024 * 1024));
    const pieces = await sizes(events.origin);
    assert.equal(pieces.reduce((total, length) => total + length, 0), 14);
    assert.ok(pieces.every((length) => length <= 14));
  } finally {
    await Promise.all([download.close(), events.close()]);
  }
});

test("serve() pulls a body from the broker only as fast as its client reads", GUARD, async () => {
  const request = createRequest({ protocol: "http", action: "GET", target: "/big" });
  const piece = new Uint8Array(1024 * 1024);
  const total = 64;
  let pulled = 0;
  const broker = {
    mode: "replay" as const,
    cassette: createCassette([
      createInteraction(request, [createChunk("", 0, [["status_code", "200"]])]),
    ]),
    async *replay() {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield createChunk(piece, i, i === 0 ? [["status_code", "200"]] : []);
      }
    },
  };
  await closing(serve({ broker }), async (server) => {
    const { connect } = await import("node:net");
    const socket = connect(server.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.pause();
    socket.write("GET /big HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    // Wait until the server stops pulling: the socket's buffers are full.
    for (let last = -1; last !== pulled;) {
      last = pulled;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(
      pulled < total / 2,
      `${pulled} of ${total} chunks pulled by a client that reads nothing`,
    );
    socket.destroy();
  });
});
