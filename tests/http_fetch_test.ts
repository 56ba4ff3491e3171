import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import {
  type AsyncBroker,
  type Broker,
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fileStoreAsync,
  InteractionNotFoundError,
  memoryStore,
  openAsyncBroker,
  type Pairs,
  type ResponseChunk,
} from "@x/replay";
import {
  type BrokerLike,
  createFetchResponder,
  createReplayFetch,
  installFetch,
} from "@x/replay/fetch";
import {
  closing,
  concat,
  deferred,
  EVENTS,
  GUARD,
  headerPairs,
  type LiveServer,
  pieces,
  sseRoute,
  startServer,
  utf8,
} from "./_http.ts";
import { withFolder } from "./_helpers.ts";

function recorder(
  options?: { readonly path?: string; readonly streaming?: boolean; readonly redact?: false },
) {
  return createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    recording: options?.streaming === false ? "buffered" : "streaming",
    redact: options?.redact,
    liveResponder: createFetchResponder(),
    store: options?.path === undefined ? undefined : fileStoreAsync(options.path, {
      createIfMissing: true,
    }),
  });
}

/** Metadata without the broker's recorded timing (ADR 0022), which varies run to run. */
function withoutTiming(metadata: Pairs): Pairs {
  return metadata.filter(([key]) => key !== "offset_ms");
}

function withServer<T>(
  route: Parameters<typeof startServer>[0],
  body: (server: LiveServer) => Promise<T>,
): Promise<T> {
  return closing(startServer(route), body);
}

test(
  "createReplayFetch() records an SSE stream while the caller reads it, then replays the same bytes, chunks, status and headers",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "chat.json");
      // The server sends event i only once the caller has read event i - 1:
      // the caller sees the stream live, not after the recording completed.
      const read = EVENTS.map(() => deferred());
      const server = await startServer(sseRoute({ gate: (i) => read[i - 1]!.promise }));
      const url = `${server.origin}/v1/chat?stream=true#fragment`;
      const live: Uint8Array[] = [];
      let direct: Response;
      try {
        // No redaction here: the cookies must come back exactly (see the next tests).
        const broker = recorder({ path, redact: false });
        const response = await createReplayFetch(broker)(url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: '{"stream":true}',
        });
        assert.equal(response.status, 200);
        const reader = response.body!.getReader();
        for (let i = 0;; i++) {
          const { done, value } = await reader.read();
          if (done) break;
          live.push(value);
          read[i]?.resolve();
        }
        assert.equal(broker.cassette.interactions.length, 1);
        // The same request straight to the server, for the headers it really sends.
        direct = await fetch(url, { method: "POST", body: '{"stream":true}' });
        await direct.arrayBuffer();
      } finally {
        for (const gate of read) gate.resolve();
        await server.close();
      }
      assert.deepEqual(live.map(utf8), EVENTS);

      // Replay from the file, with the server gone.
      const player = await openAsyncBroker(fileStoreAsync(path));
      const [interaction] = player.cassette.interactions;
      assert.equal(interaction!.request.protocol, "http");
      assert.equal(interaction!.request.action, "POST");
      assert.equal(interaction!.request.target, `${server.origin}/v1/chat?stream=true`);
      assert.deepEqual(interaction!.request.headers, []);
      assert.equal(utf8(interaction!.request.body), '{"stream":true}');
      assert.deepEqual(interaction!.responseChunks.map((chunk) => utf8(chunk.data)), EVENTS);

      const replayed = await createReplayFetch(player)(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: '{"stream":true}',
      });
      assert.equal(replayed.status, direct.status);
      assert.equal(replayed.statusText, direct.statusText);
      assert.deepEqual(headerPairs(replayed.headers), headerPairs(direct.headers));
      assert.deepEqual(replayed.headers.getSetCookie(), [
        "session=abc; Path=/",
        "theme=dark; Path=/",
      ]);
      assert.equal(replayed.url, `${server.origin}/v1/chat?stream=true`);
      const again = await pieces(replayed.body);
      assert.deepEqual(again, live);
    });
  },
);

test("createReplayFetch() pulls recorded chunks lazily, one per read, and copies their bytes", async () => {
  const request = createRequest({ protocol: "http", action: "GET", target: "https://x.test/s" });
  const cassette = createCassette([
    createInteraction(request, [createChunk("a", 0, [["status_code", "200"]]), "b", "c"]),
  ]);
  let pulled = 0;
  const counting: BrokerLike = {
    mode: "replay",
    cassette,
    replay(): AsyncIterableIterator<ResponseChunk> {
      const chunks = cassette.interactions[0]!.responseChunks.values();
      const iterator: AsyncIterableIterator<ResponseChunk> = {
        next: () => {
          pulled++;
          return Promise.resolve(chunks.next());
        },
        [Symbol.asyncIterator]: () => iterator,
      };
      return iterator;
    },
  };
  const response = await createReplayFetch(counting)("https://x.test/s");
  assert.equal(pulled, 1, "only chunk 0, for the status and headers");
  const reader = response.body!.getReader();
  const first = await reader.read();
  assert.equal(utf8(first.value!), "a");
  assert.equal(pulled, 1, "chunk 0's data needed no further pull");
  const second = await reader.read();
  assert.equal(utf8(second.value!), "b");
  assert.equal(pulled, 2);
  second.value!.fill(0x7a);
  await reader.cancel();

  const replayed = await createReplayFetch(createBroker({ cassette }))("https://x.test/s");
  assert.equal(await replayed.text(), "abc", "changing a delivered piece changed the cassette");
});

test(
  "createReplayFetch() captures every kind of request body byte-exact, and replays them",
  GUARD,
  async () => {
    const bodies: ReadonlyArray<readonly [string, () => RequestInit]> = [
      ["string", () => ({ body: "héllo wörld" })],
      ["Uint8Array", () => ({ body: new Uint8Array([0, 1, 2, 250, 255]) })],
      ["ArrayBuffer", () => ({ body: new Uint8Array([9, 8, 7]).buffer })],
      ["Blob", () => ({ body: new Blob(["blob ", new Uint8Array([0xff, 0])]) })],
      ["URLSearchParams", () => ({ body: new URLSearchParams({ q: "a b&c", n: "1" }) })],
      ["FormData", () => {
        const form = new FormData();
        form.append("name", "Ada");
        form.append("file", new Blob([new Uint8Array([0, 1, 2, 0xfe])]), "data.bin");
        return { body: form };
      }],
      ["ReadableStream", () => ({
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode("streamed "));
            controller.enqueue(new Uint8Array([0xc3, 0x28]));
            controller.close();
          },
        }),
        duplex: "half",
      } as RequestInit)],
    ];
    const store = memoryStore();
    let origin = "";
    await withServer((received, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      response.end(received.body);
    }, async (server) => {
      origin = server.origin;
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        liveResponder: createFetchResponder(),
        store,
      });
      const fetch = createReplayFetch(broker);
      for (const [name, init] of bodies) {
        const response = await fetch(`${origin}/echo/${name}`, { method: "POST", ...init() });
        const echoed = new Uint8Array(await response.arrayBuffer());
        const sent = server.received.at(-1)!;
        const recorded = broker.cassette.interactions.at(-1)!;
        assert.ok(sent.body.length > 0, `${name}: a body was sent`);
        assert.deepEqual(recorded.request.body, sent.body, `${name}: recorded what was sent`);
        assert.deepEqual(echoed, sent.body, `${name}: the live answer`);
      }
      const form = server.received.find((entry) => entry.url === "/echo/FormData")!;
      const boundary = /boundary=(.+)$/.exec(String(form.headers["content-type"]))![1]!;
      assert.match(boundary, /^x-replay-[0-9a-f]{32}$/);
      assert.ok(utf8(form.body).startsWith(`--${boundary}\r\n`));
    });
    // With the server gone, fresh bodies of every kind (a FormData with a new
    // random boundary included) match their recordings.
    const cassette = store.load();
    const player = createReplayFetch(createAsyncBroker({ cassette }));
    for (const [i, [name, init]] of bodies.entries()) {
      const response = await player(`${origin}/echo/${name}`, { method: "POST", ...init() });
      const replayed = new Uint8Array(await response.arrayBuffer());
      assert.deepEqual(replayed, cassette.interactions[i]!.request.body, name);
    }
  },
);

test("createReplayFetch() rejects with the signal's reason when aborted before the response", async () => {
  const request = createRequest({ protocol: "http", action: "GET", target: "https://x.test/" });
  const cassette = createCassette([createInteraction(request, ["never read"])]);
  const reason = new Error("stopped by the test");
  const controller = new AbortController();
  controller.abort(reason);
  for (const broker of [createBroker({ cassette }), createAsyncBroker({ cassette })]) {
    await assert.rejects(
      createReplayFetch(broker)("https://x.test/", { signal: controller.signal }),
      (error) => error === reason,
    );
  }
  const plain = new AbortController();
  plain.abort();
  await assert.rejects(
    createReplayFetch(createBroker({ cassette }))(
      new Request("https://x.test/", { signal: plain.signal }),
    ),
    (error: unknown) => error instanceof Error && error.name === "AbortError",
  );
});

test("createReplayFetch() errors the body stream when aborted during a replayed body", async () => {
  const request = createRequest({ protocol: "http", action: "GET", target: "https://x.test/s" });
  const cassette = createCassette([createInteraction(request, ["one", "two", "three"])]);
  for (const broker of [createBroker({ cassette }), createAsyncBroker({ cassette })]) {
    const controller = new AbortController();
    const response = await createReplayFetch(broker)("https://x.test/s", {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    assert.equal(utf8((await reader.read()).value!), "one");
    const reason = new Error("enough");
    controller.abort(reason);
    await assert.rejects(reader.read(), (error) => error === reason);
  }
});

test(
  "createReplayFetch() aborts the live request when recording is aborted or cancelled, and records nothing",
  GUARD,
  async () => {
    const release = deferred();
    const closed = deferred();
    await withServer(sseRoute({ gate: () => release.promise, closed }), async (server) => {
      const broker = recorder();
      // Aborted before: the live server is never called.
      const early = new AbortController();
      early.abort(new Error("early"));
      await assert.rejects(
        createReplayFetch(broker)(server.origin, { signal: early.signal }),
        /early/,
      );
      assert.equal(server.received.length, 0);

      // Aborted while the body streams: the stream errors and the connection closes.
      const controller = new AbortController();
      const response = await createReplayFetch(broker)(`${server.origin}/chat`, {
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      assert.equal(utf8((await reader.read()).value!), EVENTS[0]);
      const reason = new Error("user pressed stop");
      controller.abort(reason);
      await assert.rejects(reader.read(), (error) => error === reason);
      await closed.promise;
      assert.equal(broker.cassette.interactions.length, 0);
    });
    // Cancelling the body stops the live request at once, not when its next piece comes.
    const cancelled = deferred();
    await withServer(
      sseRoute({ gate: () => release.promise, closed: cancelled }),
      async (server) => {
        const broker = recorder();
        const response = await createReplayFetch(broker)(`${server.origin}/chat`);
        const reader = response.body!.getReader();
        assert.equal(utf8((await reader.read()).value!), EVENTS[0]);
        await reader.cancel();
        await cancelled.promise;
        assert.equal(broker.cassette.interactions.length, 0);
      },
    );
    release.resolve();
  },
);

test("createReplayFetch() rejects a miss with the broker's InteractionNotFoundError", async () => {
  for (
    const broker of [
      createBroker({ cassette: createCassette() }),
      createAsyncBroker({ cassette: createCassette() }),
    ] as (Broker | AsyncBroker)[]
  ) {
    await assert.rejects(
      createReplayFetch(broker)("https://api.example.com/v1/missing?x=1#top", { method: "DELETE" }),
      (error: unknown) =>
        error instanceof InteractionNotFoundError &&
        error.request.action === "DELETE" &&
        error.request.target === "https://api.example.com/v1/missing?x=1" &&
        error.message ===
          "No matching interaction for http:DELETE:https://api.example.com/v1/missing?x=1",
    );
  }
});

test("createReplayFetch() keeps the status, status text and every response header through a file", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "headers.yaml");
    let statusText = "";
    await withServer((_received, response) => {
      response.writeHead(404, "Nothing Here", [
        ["Content-Type", "application/json"],
        ["Set-Cookie", "a=1"],
        ["X-Multi", "one"],
        ["Set-Cookie", "b=2; HttpOnly"],
        ["X-Multi", "two"],
      ]);
      response.end('{"error":"missing"}');
    }, async (server) => {
      const broker = recorder({ path });
      const live = await createReplayFetch(broker)(`${server.origin}/thing`);
      assert.equal(await live.text(), '{"error":"missing"}');
      // The caller gets the live cookies; the cassette gets them redacted (the broker's default).
      assert.deepEqual(live.headers.getSetCookie(), ["a=1", "b=2; HttpOnly"]);
      // The status text is what this runtime's fetch reports (Deno gives the
      // standard reason phrase, Node and Bun the server's own).
      const direct = await fetch(`${server.origin}/thing`);
      await direct.arrayBuffer();
      statusText = direct.statusText;
      assert.ok(statusText === "Nothing Here" || statusText === "Not Found", statusText);
      const [chunk] = broker.cassette.interactions[0]!.responseChunks;
      assert.deepEqual(withoutTiming(chunk!.metadata), [
        ["status_code", "404"],
        ["status_text", statusText],
        ["header:content-type", "application/json"],
        ["header:set-cookie", "[REDACTED]"],
        ["header:set-cookie", "[REDACTED]"],
        ["header:x-multi", "one, two"],
      ]);
    });
    const player = await openAsyncBroker(fileStoreAsync(path));
    const url = new URL(player.cassette.interactions[0]!.request.target);
    const response = await createReplayFetch(player)(url);
    assert.equal(response.status, 404);
    assert.equal(response.ok, false);
    assert.equal(response.statusText, statusText);
    assert.deepEqual(response.headers.getSetCookie(), ["[REDACTED]", "[REDACTED]"]);
    assert.equal(response.headers.get("x-multi"), "one, two");
    assert.equal(await response.text(), '{"error":"missing"}');
  });
});

test("createReplayFetch() records an empty body as one empty chunk that keeps status and headers", async () => {
  await withServer((received, response) => {
    if (received.url === "/no-content") {
      response.writeHead(204, { "x-kind": "none" });
      response.end();
      return;
    }
    response.writeHead(201, { "x-kind": "empty", "content-length": "0" });
    response.end();
  }, async (server) => {
    const broker = recorder();
    const fetch = createReplayFetch(broker);
    for (
      const [path, method] of [["/empty", "POST"], ["/no-content", "GET"], [
        "/head",
        "HEAD",
      ]] as const
    ) {
      const live = await fetch(`${server.origin}${path}`, { method });
      assert.equal(await live.text(), "");
    }
    const interactions = broker.cassette.interactions;
    assert.equal(interactions.length, 3);
    for (const interaction of interactions) {
      assert.equal(interaction.responseChunks.length, 1);
      assert.equal(interaction.responseChunks[0]!.data.length, 0);
    }
    assert.deepEqual(withoutTiming(interactions[0]!.responseChunks[0]!.metadata), [
      ["status_code", "201"],
      ["status_text", "Created"],
      ["header:content-length", "0"],
      ["header:x-kind", "empty"],
    ]);
    const player = createReplayFetch(createBroker({ cassette: broker.cassette }));
    const created = await player(`${server.origin}/empty`, { method: "POST" });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get("x-kind"), "empty");
    assert.equal(await created.text(), "");
    const none = await player(`${server.origin}/no-content`);
    assert.equal(none.status, 204);
    assert.equal(none.body, null);
    assert.equal(none.headers.get("x-kind"), "none");
    const head = await player(`${server.origin}/head`, { method: "HEAD" });
    assert.equal(head.status, 201);
    assert.equal(head.body, null);
  });
});

test("createReplayFetch() round-trips a binary streamed body through a JSON cassette", async () => {
  const parts = [0, 1, 2].map((part) =>
    Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + part * 31) % 256)
  );
  await withFolder(async (folder) => {
    const path = join(folder, "binary.json");
    let url = "";
    await withServer(async (_received, response) => {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      for (const part of parts) {
        response.write(part);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      response.end();
    }, async (server) => {
      url = `${server.origin}/blob.bin`;
      const live = await createReplayFetch(recorder({ path }))(url);
      assert.deepEqual(new Uint8Array(await live.arrayBuffer()), concat(parts));
    });
    assert.match(readFileSync(path, "utf8"), /"base64": "/);
    const player = await openAsyncBroker(fileStoreAsync(path));
    const recorded = player.cassette.interactions[0]!.responseChunks.map((chunk) => chunk.data);
    const replayed = await pieces((await createReplayFetch(player)(url)).body);
    assert.deepEqual(replayed, recorded);
    assert.deepEqual(concat(replayed), concat(parts));
  });
});

test("createReplayFetch() matches only the headers named in matchHeaders, and sends all of them live", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "auth.json");
    await withServer((received, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(`tenant ${received.headers["x-tenant"]}`);
    }, async (server) => {
      const url = `${server.origin}/me`;
      const broker = recorder({ path });
      const headers = { authorization: "Bearer sk-secret-1", "X-Tenant": "blue" };
      const live = await createReplayFetch(broker, { matchHeaders: ["X-Tenant"] })(url, {
        headers,
      });
      assert.equal(await live.text(), "tenant blue");
      assert.equal(server.received[0]!.headers.authorization, "Bearer sk-secret-1");
      assert.deepEqual(broker.cassette.interactions[0]!.request.headers, [["x-tenant", "blue"]]);
      assert.doesNotMatch(readFileSync(path, "utf8"), /sk-secret-1/);

      const player = createAsyncBroker({ cassette: broker.cassette });
      const matching = createReplayFetch(player, { matchHeaders: ["x-tenant"] });
      assert.equal(await (await matching(url, { headers })).text(), "tenant blue");
      await assert.rejects(
        matching(url, { headers: { "x-tenant": "green" } }),
        InteractionNotFoundError,
      );
      // By default no header takes part in matching.
      const loose = createReplayFetch(createAsyncBroker({
        cassette: createCassette([createInteraction(
          createRequest({ ...broker.cassette.interactions[0]!.request, headers: [] }),
          broker.cassette.interactions[0]!.responseChunks,
        )]),
      }));
      assert.equal(
        await (await loose(url, { headers: { "x-tenant": "green" } })).text(),
        "tenant blue",
      );
    });
  });
});

test("createFetchResponder() records the decoded bytes of a gzip body, without its encoding headers", async () => {
  const text = "compressible ".repeat(200);
  await withServer((_received, response) => {
    const zipped = gzipSync(text);
    response.writeHead(200, {
      "content-type": "text/plain",
      "content-encoding": "gzip",
      "content-length": String(zipped.length),
    });
    response.end(zipped);
  }, async (server) => {
    const broker = recorder();
    const live = await createReplayFetch(broker)(`${server.origin}/zipped`);
    assert.equal(await live.text(), text);
    const metadata = broker.cassette.interactions[0]!.responseChunks[0]!.metadata;
    assert.deepEqual(withoutTiming(metadata).map(([key]) => key), [
      "status_code",
      "status_text",
      "header:content-type",
    ]);
    const replayed = await createReplayFetch(createBroker({ cassette: broker.cassette }))(
      `${server.origin}/zipped`,
    );
    assert.equal(replayed.headers.get("content-encoding"), null);
    assert.equal(await replayed.text(), text);
  });
});

test("createFetchResponder() forwards to its upstream, and refuses a synchronous broker clearly", async () => {
  await withServer((received, response) => {
    response.writeHead(200, { "content-type": "text/plain" });
    response.end(`upstream saw ${received.method} ${received.url}`);
  }, async (server) => {
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "record",
      liveResponder: createFetchResponder({ upstream: `${server.origin}/ignored/path` }),
    });
    const response = await createReplayFetch(broker)("https://api.example.com/v1/items?page=2", {
      method: "PUT",
    });
    assert.equal(await response.text(), "upstream saw PUT /v1/items?page=2");
    assert.equal(
      broker.cassette.interactions[0]!.request.target,
      "https://api.example.com/v1/items?page=2",
    );

    const sync = createBroker({
      cassette: createCassette(),
      mode: "record",
      liveResponder: createFetchResponder() as never,
    });
    await assert.rejects(
      createReplayFetch(sync)(`${server.origin}/`),
      (error: unknown) => error instanceof TypeError && /createAsyncBroker\(\)/.test(error.message),
    );
  });
  assert.throws(() => createFetchResponder({ upstream: "not a url" }), TypeError);
  assert.throws(() => createReplayFetch({} as never), TypeError);
  assert.throws(
    () =>
      createReplayFetch(createBroker({ cassette: createCassette() }), {
        matchHeaders: "x" as never,
      }),
    TypeError,
  );
});

test("installFetch() replaces globalThis.fetch until restored, and restoring twice is harmless", async () => {
  const original = globalThis.fetch;
  const request = createRequest({ protocol: "http", action: "GET", target: "https://x.test/" });
  const cassette = createCassette([createInteraction(request, ["installed"])]);
  const replayFetch = createReplayFetch(createBroker({ cassette }));
  const restore = installFetch(replayFetch);
  try {
    assert.equal(globalThis.fetch, replayFetch);
    assert.equal(await (await fetch("https://x.test/")).text(), "installed");
  } finally {
    restore();
  }
  assert.equal(globalThis.fetch, original);
  restore();
  assert.equal(globalThis.fetch, original);

  // A restore leaves alone a fetch installed after it.
  const outer = installFetch(replayFetch);
  const other = (() => Promise.reject(new Error("other"))) as unknown as typeof fetch;
  const inner = installFetch(other);
  outer();
  assert.equal(globalThis.fetch, other);
  inner();
  assert.equal(globalThis.fetch, replayFetch);
  globalThis.fetch = original;
  assert.throws(() => installFetch(undefined as never), TypeError);
});

test("createReplayFetch() gives a Response that knows its URL, keeps it in a clone, and follows the global Response", async () => {
  const target = "https://api.example.com/items/2";
  const request = createRequest({ protocol: "http", action: "GET", target });
  const cassette = createCassette([
    createInteraction(request, [createChunk("one", 0), createChunk(" two", 1)]),
    createInteraction(createRequest({ protocol: "http", action: "HEAD", target }), [
      createChunk("", 0),
    ]),
    createInteraction(createRequest({ protocol: "http", action: "GET", target: `${target}/one` }), [
      createChunk("only", 0, [["header:content-type", "text/plain"]]),
    ]),
  ]);
  const replayFetch = createReplayFetch(createBroker({ cassette }));
  // A streamed body, no body (HEAD), and a whole one-chunk body: each path that builds a response.
  for (
    const [input, init, url, text] of [
      [target, undefined, target, "one two"],
      [target, { method: "HEAD" }, target, ""],
      [`${target}/one`, undefined, `${target}/one`, "only"],
    ] as const
  ) {
    const response = await replayFetch(input, init);
    assert.ok(response instanceof Response);
    assert.equal(Object.prototype.toString.call(response), "[object Response]");
    assert.equal(response.url, url);
    assert.deepEqual(Object.keys(response), []);
    const copy = response.clone();
    assert.ok(copy instanceof Response);
    assert.equal(copy.url, url);
    assert.equal(await copy.text(), text);
    assert.equal(await response.text(), text);
  }
  // A Response built by user code still has no URL.
  assert.equal(new Response("x").url, "");

  // A global Response replaced after the library loaded (a polyfill, a test
  // environment) is the one replayed responses are made of, as with new Response().
  const original = globalThis.Response;
  class OtherResponse extends original {}
  globalThis.Response = OtherResponse;
  try {
    const response = await replayFetch(`${target}/one`);
    assert.ok(response instanceof OtherResponse);
    assert.equal(response.url, `${target}/one`);
    assert.equal(await response.text(), "only");
  } finally {
    globalThis.Response = original;
  }
  const again = await replayFetch(`${target}/one`);
  assert.ok(!(again instanceof OtherResponse));
  assert.equal(again.url, `${target}/one`);
});

test("createReplayFetch() answers fetch(url) like fetch(new Request(url)), and each response owns its headers", async () => {
  const recorded = createRequest({
    protocol: "http",
    action: "GET",
    target: "https://api.example.com/items/1?x=1",
  });
  const cassette = createCassette([createInteraction(recorded, [
    createChunk('{"id":1}', 0, [
      ["status_code", "201"],
      ["status_text", "Created"],
      ["header:content-type", "application/json"],
    ]),
  ])]);
  for (
    const broker of [
      createBroker({ cassette }),
      createAsyncBroker({ cassette }),
      createBroker({ cassette, mode: "auto", liveResponder: () => [] }),
    ] as (Broker | AsyncBroker)[]
  ) {
    const replayFetch = createReplayFetch(broker);
    // A string, a URL object and a Request, with a fragment the target leaves out.
    for (
      const input of [
        "https://api.example.com/items/1?x=1#top",
        new URL("https://api.example.com/items/1?x=1#top"),
        new Request("https://api.example.com/items/1?x=1#top"),
      ]
    ) {
      const response = await replayFetch(input);
      assert.equal(response.status, 201);
      assert.equal(response.statusText, "Created");
      assert.equal(response.url, "https://api.example.com/items/1?x=1");
      assert.deepEqual([...response.headers], [["content-type", "application/json"]]);
      assert.equal(await response.text(), '{"id":1}');
      // Changing one response's headers leaves the next replay's alone.
      response.headers.set("x-changed", "1");
    }
    // What new Request() refuses is refused with its own error (Deno accepts credentials).
    for (const bad of ["/relative", "https://user:secret@api.example.com/items/1?x=1"]) {
      let expected: unknown;
      try {
        new Request(bad);
        continue;
      } catch (error) {
        expected = error;
      }
      await assert.rejects(replayFetch(bad), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.equal(error.message, (expected as Error).message);
        return true;
      });
    }
  }
});

// URL strings near the edges of what parsing changes, most of them already
// in its form: case, default and out-of-range ports, IPv4 forms, Punycode,
// dot segments (plain and percent-encoded), characters a path or a query
// encodes, and fragments. (Credentials are left to the test above: the
// target keeps no password.)
const urlPiece = (chars: string, maxLength: number) =>
  fc.array(fc.constantFrom(...chars.split("")), { maxLength }).map((list) => list.join(""));
const SAFE = "az09-_~!$&()*+,;=:@";
const TRICKY = ".%2eE'^|[]{}\"<> \t\\é#?/";
const hostArbitrary = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.tuple(fc.array(urlPiece("abz09-", 5), { maxLength: 3 }), urlPiece("abz09-", 5))
      .map(([labels, last]) => [...labels, `x${last}`].join(".")),
  },
  {
    weight: 3,
    arbitrary: fc.array(fc.oneof(fc.nat(300).map(String), fc.constantFrom("00", "010", "0x7f")), {
      minLength: 1,
      maxLength: 5,
    }).map((parts) => parts.join(".")),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom("xn--abc", "xn--nxasmq6b.example", "Example.com", "a_b", "a..b"),
  },
);
const segmentArbitrary = fc.oneof(
  { weight: 4, arbitrary: urlPiece(SAFE + "'", 6) },
  { weight: 1, arbitrary: urlPiece(SAFE + TRICKY, 6) },
  { weight: 1, arbitrary: fc.constantFrom(".", "..", "%2e", "%2E%2e", ".well-known", "a%2eb") },
);
const urlArbitrary = fc.tuple(
  fc.constantFrom("http", "http", "https", "https", "HTTP", "ftp"),
  hostArbitrary,
  fc.option(
    fc.oneof(fc.nat(70000).map(String), fc.constantFrom("80", "443", "080", "0", "65535", "")),
    { nil: undefined },
  ),
  fc.oneof(
    { weight: 5, arbitrary: fc.array(segmentArbitrary, { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constant(undefined) },
  ),
  fc.option(fc.oneof(urlPiece(SAFE + "/?'", 8), urlPiece(SAFE + TRICKY, 8)), { nil: undefined }),
  fc.option(urlPiece("az09'# ", 4), { nil: undefined, freq: 4 }),
).map(([scheme, host, port, segments, query, fragment]) =>
  `${scheme}://${host}${port === undefined ? "" : `:${port}`}${
    segments === undefined ? "" : `/${segments.join("/")}`
  }${query === undefined ? "" : `?${query}`}${fragment === undefined ? "" : `#${fragment}`}`
);

test("createReplayFetch() gives fetch(url) the target new Request(url) has, for any URL string (property)", async () => {
  const replayFetch = createReplayFetch(createBroker({ cassette: createCassette() }));
  await fc.assert(
    fc.asyncProperty(urlArbitrary, async (url) => {
      let expected: string | Error;
      try {
        const parsed = new URL(new Request(url).url);
        parsed.hash = "";
        expected = parsed.href;
      } catch (error) {
        expected = error as Error;
      }
      // The empty cassette answers nothing: the miss names the target looked up.
      await assert.rejects(replayFetch(url), (error: unknown) => {
        if (expected instanceof Error) {
          assert.ok(error instanceof TypeError, `${url}: ${error}`);
          assert.equal(error.message, expected.message);
        } else {
          assert.ok(error instanceof InteractionNotFoundError, `${url}: ${error}`);
          assert.equal(error.request.target, expected, url);
        }
        return true;
      });
    }),
    { numRuns: 2000 },
  );
});

/** A recorded answer: status, headers as chunk-0 metadata, and a body. */
function answer(
  method: string,
  target: string,
  status: number,
  headers: Record<string, string>,
  body = "",
  request: { headers?: [string, string][]; body?: string } = {},
) {
  return createInteraction(
    createRequest({ protocol: "http", action: method, target, ...request }),
    [
      createChunk(body, 0, [
        ["status_code", String(status)],
        ...Object.entries(headers).map(([name, value]) => [`header:${name}`, value] as const),
      ]),
    ],
  );
}

test("createReplayFetch() follows a recorded redirect as fetch follows a live one", async () => {
  const cassette = createCassette([
    answer("GET", "https://a.example/old", 301, { location: "/new" }),
    answer("GET", "https://a.example/new", 200, { "content-type": "text/plain" }, "moved here"),
    answer("POST", "https://a.example/form", 303, { location: "https://a.example/done" }, "", {
      body: "x=1",
    }),
    answer("GET", "https://a.example/done", 200, {}, "thanks"),
    answer("GET", "https://a.example/loop", 302, { location: "/loop" }),
  ]);
  for (const broker of [createBroker({ cassette }), createAsyncBroker({ cassette })]) {
    const replayFetch = createReplayFetch(broker);
    const followed = await replayFetch("https://a.example/old");
    assert.equal(followed.status, 200);
    assert.equal(followed.redirected, true);
    assert.equal(followed.url, "https://a.example/new");
    assert.equal(await followed.text(), "moved here");
    // 303 after a POST: the next request is a GET without the body.
    const posted = await replayFetch("https://a.example/form", { method: "POST", body: "x=1" });
    assert.equal(await posted.text(), "thanks");
    const manual = await replayFetch("https://a.example/old", { redirect: "manual" });
    assert.equal(manual.status, 301);
    assert.equal(manual.headers.get("location"), "/new");
    assert.equal(manual.redirected, false);
    await assert.rejects(
      replayFetch("https://a.example/old", { redirect: "error" }),
      (error: unknown) => error instanceof TypeError && /redirect/.test(String(error.cause)),
    );
    await assert.rejects(
      replayFetch("https://a.example/loop"),
      (error: unknown) =>
        error instanceof TypeError && /redirect count exceeded/.test(String(error.cause)),
    );
  }
});

test("createReplayFetch() drops authorization on a redirect to another origin", async () => {
  const cassette = createCassette([
    answer("GET", "https://a.example/me", 302, { location: "https://b.example/me" }, "", {
      headers: [["authorization", "Bearer t"]],
    }),
    answer("GET", "https://b.example/me", 200, {}, "b"),
  ]);
  const replayFetch = createReplayFetch(createBroker({ cassette, redact: false }), {
    matchHeaders: ["authorization"],
  });
  const response = await replayFetch("https://a.example/me", {
    headers: { authorization: "Bearer t" },
  });
  assert.equal(await response.text(), "b");
});
