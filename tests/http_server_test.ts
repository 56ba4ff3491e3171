import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import {
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fileStore,
  fileStoreAsync,
  journalStoreAsync,
  openAsyncBroker,
  replayAsync,
  type ResponseChunk,
} from "@x/replay";
import { createFetchResponder, createReplayFetch } from "@x/replay/fetch";
import { type BrokerLike, createHandler, serve } from "@x/replay/server";
import {
  concat,
  deferred,
  EVENTS,
  GUARD,
  plainRequest,
  SSE_HEADERS,
  sseRoute,
  startServer,
  utf8,
  withReplayServer,
} from "./_http.ts";
import { randomBytes, withFolder } from "./_helpers.ts";

/** The JSON part of a miss or failure answer, loosely typed for assertions. */
// deno-lint-ignore no-explicit-any
type Json = Record<string, any>;

/** Parses a miss body: the ancestor's first line, then JSON. */
function explanation(body: Uint8Array): { title: string; json: Json } {
  const text = utf8(body);
  const newline = text.indexOf("\n");
  return { title: text.slice(0, newline), json: JSON.parse(text.slice(newline + 1)) };
}

test(
  "serve() replays a recording made through fetch to a plain HTTP client, chunk for chunk",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "sse.json");
      // Lock-step: event i leaves only once the recorder's reader has event
      // i - 1, so a busy machine cannot join two events into one read.
      const received = EVENTS.map(() => deferred());
      const live = await startServer(sseRoute({ gate: (i) => received[i - 1]!.promise }));
      const url = `${live.origin}/v1/stream?topic=chat`;
      try {
        const recorder = createAsyncBroker({
          cassette: createCassette(),
          mode: "record",
          recording: "streaming",
          liveResponder: createFetchResponder(),
          store: fileStoreAsync(path, { createIfMissing: true }),
          redact: false,
        });
        const reader = (await createReplayFetch(recorder)(url)).body!.getReader();
        let text = "";
        for (let result = await reader.read(); !result.done; result = await reader.read()) {
          text += utf8(result.value);
          EVENTS.forEach((_, k) => {
            if (text.length >= EVENTS.slice(0, k + 1).join("").length) received[k]!.resolve();
          });
        }
      } finally {
        await live.close();
      }
      const broker = await openAsyncBroker(fileStoreAsync(path));
      const recorded = broker.cassette.interactions[0]!.responseChunks.map((chunk) => chunk.data);
      await withReplayServer({ broker }, async (server) => {
        assert.equal(server.url.hostname, "127.0.0.1");
        assert.equal(server.url.port, String(server.port));
        // The cassette names the live server's origin; the replay server listens elsewhere.
        const result = await plainRequest(new URL("/v1/stream?topic=chat", server.url));
        assert.equal(result.status, 200);
        assert.equal(result.statusText, "OK");
        assert.equal(result.headers["content-type"], SSE_HEADERS["content-type"]);
        assert.equal(result.headers["x-request-id"], "req-42");
        assert.deepEqual(result.headers["set-cookie"], SSE_HEADERS["set-cookie"]);
        // The recording has no length; the runtime may still frame a short body with one.
        const length = result.headers["content-length"];
        if (length !== undefined) assert.equal(Number(length), result.body.length);
        assert.equal(utf8(result.body), EVENTS.join(""));
        assert.deepEqual(recorded.map(utf8), EVENTS);
      });
    });
  },
);

test("serve() streams each chunk as the broker yields it, not one joined body", GUARD, async () => {
  const request = createRequest({ protocol: "http", action: "GET", target: "/ticks" });
  const cassette = createCassette([
    createInteraction(request, [createChunk("tick 1\n", 0, [["status_code", "200"]]), "tick 2\n"]),
  ]);
  const firstSeen = deferred();
  let gateReached = false;
  // Chunk 1 is only produced once the client has received chunk 0.
  const broker: BrokerLike = {
    mode: "replay",
    cassette,
    async *replay(): AsyncIterableIterator<ResponseChunk> {
      const [first, second] = cassette.interactions[0]!.responseChunks;
      yield first!;
      gateReached = true;
      await firstSeen.promise;
      yield second!;
    },
  };
  await withReplayServer({ broker }, async (server) => {
    const seen: string[] = [];
    const result = await plainRequest(new URL("/ticks", server.url), {
      onData: (piece) => {
        seen.push(utf8(piece));
        firstSeen.resolve();
      },
    });
    assert.ok(gateReached);
    assert.equal(seen[0], "tick 1\n");
    assert.equal(utf8(result.body), "tick 1\ntick 2\n");
  });
});

test("serve() names a recorded body kept in a blob file in a miss explanation, without reading it", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "uploads.json");
    const recorded = createRequest({
      protocol: "http",
      action: "PUT",
      target: "https://api.example.com/files/a",
      body: "a".repeat(4096),
    });
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(
      createCassette([
        createInteraction(recorded, [createChunk("{}", 0, [["status_code", "201"]])]),
      ]),
    );
    const cassette = fileStore(path).load();
    const blob = cassette.interactions[0]!.request.bodyBlob!;
    // A body of another size does not need the blob: without it, the miss is explained the same.
    rmSync(join(`${path}.blobs`, blob.sha256));
    await withReplayServer({ broker: createBroker({ cassette }) }, async (server) => {
      const result = await plainRequest(new URL("/files/a", server.url), {
        method: "PUT",
        body: "b".repeat(10),
      });
      assert.equal(result.status, 500);
      const { json } = explanation(result.body);
      assert.deepEqual(json.nearest[0].body, { blob: blob.sha256, size: 4096 });
      assert.deepEqual(json.nearest[0].differs, ["body"]);
    });
  });
});

test("serve() answers a miss with 500 Interaction Not Found and a JSON explanation", async () => {
  const recorded = createRequest({
    protocol: "http",
    action: "POST",
    target: "https://api.example.com/v1/users?page=1",
    body: '{"name":"Ada"}',
  });
  const other = createRequest({
    protocol: "http",
    action: "GET",
    target: "https://api.example.com/health",
  });
  const cassette = createCassette([
    createInteraction(other, [createChunk("ok", 0, [["status_code", "200"]])]),
    createInteraction(recorded, [createChunk("{}", 0, [["status_code", "201"]])]),
  ]);
  await withReplayServer({ broker: createBroker({ cassette }) }, async (server) => {
    const result = await plainRequest(new URL("/v1/users?page=1", server.url), {
      method: "POST",
      body: '{"name":"Grace"}',
    });
    assert.equal(result.status, 500);
    assert.match(String(result.headers["content-type"]), /^text\/plain/);
    const { title, json } = explanation(result.body);
    assert.equal(title, "Interaction Not Found");
    assert.equal(json.error, "Interaction Not Found");
    assert.equal(json.request.method, "POST");
    assert.equal(json.request.target, "https://api.example.com/v1/users?page=1");
    assert.deepEqual(json.request.headers, []);
    assert.deepEqual(json.request.body, { text: '{"name":"Grace"}' });
    assert.match(json.request.fingerprint, /^[0-9a-f]{64}$/);
    assert.equal(json.nearest.length, 2);
    assert.equal(json.nearest[0].index, 1);
    assert.equal(json.nearest[0].status, 201);
    assert.deepEqual(json.nearest[0].differs, ["body"]);
    assert.deepEqual(json.nearest[0].body, { text: '{"name":"Ada"}' });
    assert.equal(json.nearest[1].target, "https://api.example.com/health");

    // fetch, not node:http: Bun's node:http client garbles a binary PUT body.
    const binary = await fetch(new URL("/upload", server.url), {
      method: "PUT",
      body: new Uint8Array([0xff, 0xfe, 0]),
    });
    assert.equal(binary.status, 500);
    assert.deepEqual(
      explanation(new Uint8Array(await binary.arrayBuffer())).json.request.body,
      { base64: "//4A" },
    );
  });
  await withReplayServer(
    { broker: createBroker({ cassette: createCassette() }), missStatus: 404 },
    async (server) => {
      const result = await plainRequest(new URL("/anything", server.url));
      assert.equal(result.status, 404);
      const { title, json } = explanation(result.body);
      assert.equal(title, "Interaction Not Found");
      assert.deepEqual(json.nearest, []);
      // No cassette origin to go by: the target is the request's own URL.
      assert.equal(json.request.target, new URL("/anything", server.url).href);
    },
  );
});

test(
  "serve() with a recording broker is a proxy: record through it, then replay without the upstream",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "proxy.yaml");
      const upstream = await startServer(sseRoute());
      const upstreamOrigin = upstream.origin;
      const headers = { "content-type": "application/json", authorization: "Bearer sk-proxy" };
      const body = '{"prompt":"hi"}';
      let live: Awaited<ReturnType<typeof plainRequest>>;
      try {
        const broker = createAsyncBroker({
          cassette: createCassette(),
          mode: "auto",
          recording: "streaming",
          liveResponder: createFetchResponder({ upstream: upstreamOrigin }),
          store: fileStoreAsync(path, { createIfMissing: true }),
        });
        live = await withReplayServer(
          { broker, origin: upstreamOrigin },
          (proxy) =>
            plainRequest(new URL("/v1/chat?x=1", proxy.url), { method: "POST", headers, body }),
        );
        assert.equal(upstream.received.length, 1);
        const seen = upstream.received[0]!;
        assert.equal(seen.url, "/v1/chat?x=1");
        assert.equal(seen.headers.authorization, "Bearer sk-proxy");
        assert.equal(utf8(seen.body), body);
      } finally {
        await upstream.close();
      }
      assert.equal(live.status, 200);
      assert.equal(utf8(live.body), EVENTS.join(""));
      const file = readFileSync(path, "utf8");
      assert.doesNotMatch(file, /sk-proxy/);
      assert.match(file, new RegExp(`target: ${upstreamOrigin}/v1/chat\\?x=1`));

      // The upstream is gone: a new server replays from the file (origin taken from it).
      const player = await openAsyncBroker(fileStoreAsync(path));
      const replayed = await withReplayServer(
        { broker: player },
        (server) =>
          plainRequest(new URL("/v1/chat?x=1", server.url), { method: "POST", headers, body }),
      );
      assert.equal(replayed.status, live.status);
      assert.deepEqual(replayed.body, live.body);
      // The client of the proxy got the live cookies; the cassette keeps them redacted.
      assert.deepEqual(live.headers["set-cookie"], SSE_HEADERS["set-cookie"]);
      assert.deepEqual(replayed.headers["set-cookie"], ["[REDACTED]", "[REDACTED]"]);
      assert.equal(replayed.headers["content-type"], live.headers["content-type"]);

      // The same cassette serves a fetch client addressing the upstream directly.
      const fetched = await createReplayFetch(player)(`${upstreamOrigin}/v1/chat?x=1`, {
        method: "POST",
        body,
      });
      assert.equal(await fetched.text(), EVENTS.join(""));
    });
  },
);

test(
  "serve() as a recording proxy into blob files stores exactly the bytes its client got",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "download.json");
      // Random bytes, in several pieces, so every chunk goes to its own blob
      // file while the client reads the same bytes (handed to the socket
      // uncopied).
      const size = 3 * 1024 * 1024 + 12345;
      const bytes = randomBytes(size);
      const upstream = await startServer((_, response) => {
        response.writeHead(200, {
          "content-type": "application/octet-stream",
          "content-length": String(size),
        });
        for (let at = 0; at < size; at += 300_000) {
          response.write(bytes.subarray(at, Math.min(size, at + 300_000)));
        }
        response.end();
      });
      let live: Awaited<ReturnType<typeof plainRequest>>;
      try {
        const broker = createAsyncBroker({
          cassette: createCassette(),
          mode: "record",
          recording: "streaming",
          liveResponder: createFetchResponder({ upstream: upstream.origin }),
          store: journalStoreAsync(path, { createIfMissing: true, blobThreshold: 65536 }),
        });
        live = await withReplayServer(
          { broker, origin: upstream.origin },
          (proxy) => plainRequest(new URL("/big", proxy.url)),
        );
      } finally {
        await upstream.close();
      }
      assert.equal(live.status, 200);
      assert.deepEqual(live.body, bytes);
      const cassette = await journalStoreAsync(path).load();
      const chunks = cassette.interactions[0]!.responseChunks;
      assert.ok(chunks.filter((chunk) => chunk.blob !== undefined).length > 1);
      const stored: Uint8Array[] = [];
      for await (const chunk of replayAsync(cassette, cassette.interactions[0]!.request)) {
        stored.push(chunk.data);
      }
      assert.deepEqual(concat(stored), bytes);
    });
  },
);

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

test("serve() replays blob chunks intact to a client that stalls while others read", async () => {
  await withFolder(async (folder) => {
    // 24 chunks of 1 MiB, each its own blob file and each different, more
    // than the system buffers of a socket hold: while a stalled client's
    // socket is full, the server still holds its pending pieces, and a
    // buffer filled again before the socket took it would show.
    const pieces = Array.from({ length: 24 }, () => randomBytes(1024 * 1024));
    const expected = concat(pieces);
    const request = createRequest({ protocol: "http", action: "GET", target: "/big" });
    const path = join(folder, "big.json");
    await fileStoreAsync(path, { createIfMissing: true, blobThreshold: 1 }).save(
      createCassette([
        createInteraction(
          request,
          pieces.map((piece, i) => createChunk(piece, i, i === 0 ? [["status_code", "200"]] : [])),
        ),
      ]),
    );
    const broker = await openAsyncBroker(fileStoreAsync(path));
    await withReplayServer({ broker }, async (server) => {
      const url = new URL("/big", server.url);
      for (let round = 0; round < 2; round++) {
        const others = deferred();
        const stalled = new Promise<Uint8Array>((resolve, reject) => {
          httpRequest(url, (response) => {
            const got: Uint8Array[] = [];
            response.once("data", () => {
              response.pause();
              others.promise.then(() => response.resume());
            });
            response.on("data", (piece: Uint8Array) => got.push(piece));
            response.on("end", () => resolve(concat(got)));
            response.on("error", reject);
          }).on("error", reject).end();
        });
        const quick = await Promise.all([plainRequest(url), plainRequest(url)]);
        others.resolve();
        for (const body of [...quick.map((result) => result.body), await stalled]) {
          assert.ok(sameBytes(body, expected), "the body arrived intact");
        }
      }
    });
  });
});

test("serve() never refills the bytes of chunks its caller holds", async () => {
  await withFolder(async (folder) => {
    // Two recordings of the same shape, 1 MiB blob chunks, different bytes.
    const recording = (target: string) => {
      const pieces = Array.from({ length: 8 }, () => randomBytes(1024 * 1024));
      const request = createRequest({ protocol: "http", action: "GET", target });
      const chunks = pieces.map((piece, i) =>
        createChunk(piece, i, i === 0 ? [["status_code", "200"]] : [])
      );
      return { pieces, request, interaction: createInteraction(request, chunks) };
    };
    const a = recording("/a");
    const b = recording("/b");
    const path = join(folder, "blobs.json");
    await fileStoreAsync(path, { createIfMissing: true, blobThreshold: 1 }).save(
      createCassette([a.interaction, b.interaction]),
    );
    const stored = await fileStoreAsync(path).load();
    // The caller reads the chunks of /a itself and keeps them, in a cassette of its own.
    const held: ResponseChunk[] = [];
    for await (const chunk of replayAsync(stored, a.request)) held.push(chunk);
    const mine = createRequest({ protocol: "http", action: "GET", target: "/held" });
    const cassette = createCassette([createInteraction(mine, held), stored.interactions[1]!]);
    await withReplayServer({ broker: createAsyncBroker({ cassette }) }, async (server) => {
      // Its chunks go to a socket, then blob chunks of the same size are read for /b.
      const served = await plainRequest(new URL("/held", server.url));
      const other = await plainRequest(new URL("/b", server.url));
      assert.ok(sameBytes(served.body, concat(a.pieces)));
      assert.ok(sameBytes(other.body, concat(b.pieces)));
    });
    held.forEach((chunk, i) =>
      assert.ok(sameBytes(chunk.data, a.pieces[i]!), `chunk ${i} is as it was read`)
    );
  });
});

test(
  "serve() as a proxy aborts the upstream request when its client goes away",
  GUARD,
  async () => {
    const release = deferred();
    const closed = deferred();
    const upstream = await startServer(sseRoute({ gate: () => release.promise, closed }));
    try {
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        recording: "streaming",
        liveResponder: createFetchResponder({ upstream: upstream.origin }),
      });
      await withReplayServer({ broker, origin: upstream.origin }, async (proxy) => {
        const gotFirst = deferred();
        const client = httpRequest(new URL("/chat", proxy.url), (response) => {
          response.once("data", () => gotFirst.resolve());
          response.on("error", () => {});
        });
        client.on("error", () => {});
        client.end();
        await gotFirst.promise;
        client.destroy();
        await closed.promise;
        assert.equal(broker.cassette.interactions.length, 0);
      });
    } finally {
      release.resolve();
      await upstream.close();
    }
  },
);

test("serve() answers 502 Bad Gateway when the upstream cannot be reached", async () => {
  const gone = await startServer(() => {});
  await gone.close();
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "auto",
    liveResponder: createFetchResponder({ upstream: gone.origin }),
  });
  const logged: unknown[] = [];
  await withReplayServer(
    { broker, origin: gone.origin, onError: (error) => logged.push(error) },
    async (server) => {
      const result = await plainRequest(new URL("/x", server.url));
      assert.equal(result.status, 502);
      const { title, json } = explanation(result.body);
      assert.equal(title, "Bad Gateway");
      assert.equal(typeof json.message, "string");
    },
  );
  assert.equal(logged.length, 1);
});

test("createHandler() records a request body exactly, with or without content-length", async () => {
  const bytes = randomBytes(100_001);
  for (const declared of [true, false]) {
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "record",
      liveResponder: () => ["ok"],
    });
    const handler = createHandler({ broker, origin: "http://upstream.test" });
    const sent = bytes.slice();
    const pieces = [sent.subarray(0, 10), sent.subarray(10, 70_000), sent.subarray(70_000)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const piece = pieces.shift();
        if (piece === undefined) controller.close();
        else controller.enqueue(piece);
      },
    });
    const response = await handler(
      new Request("http://127.0.0.1/upload", {
        method: "POST",
        body,
        headers: declared ? { "content-length": String(bytes.length) } : {},
        duplex: "half",
      } as RequestInit),
    );
    assert.equal(await response.text(), "ok");
    // The recording holds bytes of its own, not the client's buffers.
    sent.fill(0);
    const recorded = broker.cassette.interactions[0]!.request.body;
    assert.deepEqual(recorded, bytes, declared ? "with content-length" : "chunked");
    assert.equal(recorded.buffer.byteLength, bytes.length, "no spare room is kept");
  }
});

test("createHandler() builds targets from origin, the cassette, or the ancestor's path-only style", async () => {
  const absolute = createRequest({
    protocol: "http",
    action: "GET",
    target: "https://api.example.com/v1/a?b=1",
  });
  const pathOnly = createRequest({ protocol: "http", action: "GET", target: "/v1/a?b=1" });
  const answer = [createChunk("found", 0, [["status_code", "200"]])];
  const fromCassette = createHandler({
    broker: createBroker({ cassette: createCassette([createInteraction(absolute, answer)]) }),
  });
  assert.equal(
    await (await fromCassette(new Request("http://127.0.0.1:1/v1/a?b=1"))).text(),
    "found",
  );
  const ancestor = createHandler({
    broker: createBroker({ cassette: createCassette([createInteraction(pathOnly, answer)]) }),
  });
  assert.equal(await (await ancestor(new Request("http://localhost/v1/a?b=1"))).text(), "found");
  const mixed = createCassette([
    createInteraction(absolute, answer),
    createInteraction(
      createRequest({ protocol: "http", action: "GET", target: "https://other.example/" }),
      answer,
    ),
  ]);
  const explicit = createHandler({
    broker: createBroker({ cassette: mixed }),
    origin: "https://api.example.com/ignored/path",
  });
  assert.equal(await (await explicit(new Request("http://127.0.0.1/v1/a?b=1"))).text(), "found");
  const guessing = createHandler({ broker: createBroker({ cassette: mixed }) });
  assert.equal((await guessing(new Request("http://127.0.0.1/v1/a?b=1"))).status, 500);
  // Bare paths beside an absolute URL are not the ancestor's style: the incoming URL is the target.
  const halfBare = createHandler({
    broker: createBroker({
      cassette: createCassette([
        createInteraction(pathOnly, answer),
        createInteraction(absolute, answer),
      ]),
    }),
  });
  assert.equal((await halfBare(new Request("http://localhost/v1/a?b=1"))).status, 500);
  assert.equal(
    await (await halfBare(new Request("https://api.example.com/v1/a?b=1"))).text(),
    "found",
  );
});

test("createHandler() matches the headers named in matchHeaders, keeps a true length and leaves out hop-by-hop headers", async () => {
  const request = createRequest({
    protocol: "http",
    action: "GET",
    target: "https://api.example.com/me",
    headers: [["x-tenant", "blue"]],
  });
  const cassette = createCassette([createInteraction(request, [
    createChunk("blue", 0, [
      ["status_code", "200"],
      ["header:content-length", "4"],
      ["header:connection", "keep-alive"],
      ["header:transfer-encoding", "chunked"],
      ["header:x-kept", "yes"],
    ]),
  ])]);
  const handler = createHandler({
    broker: createBroker({ cassette }),
    matchHeaders: ["X-Tenant"],
  });
  const hit = await handler(
    new Request("http://127.0.0.1/me", { headers: { "x-tenant": "blue", "x-other": "1" } }),
  );
  assert.equal(hit.status, 200);
  assert.equal(hit.headers.get("x-kept"), "yes");
  // The recorded chunks add up to the recorded length, so it is replayed (ADR 0036).
  assert.equal(hit.headers.get("content-length"), "4");
  assert.equal(hit.headers.get("connection"), null);
  assert.equal(hit.headers.get("transfer-encoding"), null);
  assert.equal(await hit.text(), "blue");
  const miss = await handler(
    new Request("http://127.0.0.1/me", { headers: { "x-tenant": "red" } }),
  );
  assert.equal(miss.status, 500);
  assert.deepEqual(explanation(new Uint8Array(await miss.arrayBuffer())).json.nearest[0].differs, [
    "headers",
  ]);
});

test("createHandler() and serve() refuse bad options", async () => {
  const broker = createBroker({ cassette: createCassette() });
  assert.throws(() => createHandler({ broker: {} as never }), TypeError);
  assert.throws(() => createHandler({ broker, missStatus: 99 }), RangeError);
  assert.throws(() => createHandler({ broker, origin: "no url" }), TypeError);
  assert.throws(() => createHandler({ broker, matchHeaders: [1 as never] }), TypeError);
  await assert.rejects(serve({ broker, port: 70000 }), RangeError);
  await withReplayServer({ broker }, async (server) => {
    await assert.rejects(serve({ broker, port: server.port }));
  });
});

test(
  "ReplayServer.close() ends open streams and frees the port, and can be called twice",
  GUARD,
  async () => {
    const request = createRequest({ protocol: "http", action: "GET", target: "/forever" });
    const cassette = createCassette([
      createInteraction(request, [createChunk("first\n", 0, [["status_code", "200"]])]),
    ]);
    const never = new Promise<never>(() => {});
    const broker: BrokerLike = {
      mode: "replay",
      cassette,
      async *replay(): AsyncIterableIterator<ResponseChunk> {
        yield cassette.interactions[0]!.responseChunks[0]!;
        await never;
      },
    };
    const server = await serve({ broker });
    const gotFirst = deferred();
    const ended = deferred();
    const client = httpRequest(new URL("/forever", server.url), (response) => {
      response.once("data", () => gotFirst.resolve());
      response.on("error", () => {});
      response.on("close", () => ended.resolve());
    });
    client.on("error", () => ended.resolve());
    client.end();
    await gotFirst.promise;
    await server.close();
    await ended.promise;
    await server.close();
    // The port is free again.
    const again = await serve({ broker, port: server.port });
    await again.close();
  },
);

test("createHandler() answers 500 Replay Error for a recording with a bad status", async () => {
  const request = createRequest({
    protocol: "http",
    action: "GET",
    target: "https://api.example.com/bad",
  });
  const cassette = createCassette([
    createInteraction(request, [createChunk("x", 0, [["status_code", "OK"]])]),
  ]);
  const logged: unknown[] = [];
  const handler = createHandler({
    broker: createBroker({ cassette }),
    onError: (error) => logged.push(error),
  });
  const response = await handler(new Request("http://127.0.0.1/bad"));
  assert.equal(response.status, 500);
  assert.ok(logged[0] instanceof RangeError);
  const { title, json } = explanation(new Uint8Array(await response.arrayBuffer()));
  assert.equal(title, "Replay Error");
  assert.equal(json.name, "RangeError");
  assert.match(json.message, /status_code/);
  await assert.rejects(
    createReplayFetch(createBroker({ cassette }))("https://api.example.com/bad"),
    RangeError,
  );
});
