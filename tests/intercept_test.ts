import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { get as namedGet } from "node:http";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import axios from "axios";
import {
  type AsyncBroker,
  type AsyncLiveResponder,
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fileStoreAsync,
  InteractionNotFoundError,
  InteractionValidationError,
  openAsyncBroker,
  ReplayError,
} from "@x/replay";
import { createFetchResponder, createReplayFetch } from "@x/replay/fetch";
import { createHandler } from "@x/replay/server";
import { main } from "@x/replay/cli";
import { createInterceptResponder, interceptHttp } from "@x/replay/intercept";
import { FetchInterceptor } from "@mswjs/interceptors/fetch";
import { concat, deferred, type LiveServer, startServer, utf8 } from "./_http.ts";
import { runChild, withFolder } from "./_helpers.ts";
import { httpGet, RUNTIME } from "./_intercept_basics.ts";

const sha256 = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** A server that answers every request with what it received: method, URL, body hash. */
function echoServer(): Promise<LiveServer> {
  return startServer((received, response) => {
    if (received.url.startsWith("/redirect")) {
      response.writeHead(302, "Found", { location: "/target" });
      response.end();
      return;
    }
    if (received.url.startsWith("/slow")) {
      setTimeout(() => {
        response.writeHead(200, "OK", { "content-type": "text/plain" });
        response.end("slow");
      }, 300);
      return;
    }
    if (received.url.startsWith("/empty")) {
      response.writeHead(204, "No Content");
      response.end();
      return;
    }
    response.writeHead(200, "OK", { "content-type": "application/json" });
    response.end(JSON.stringify({
      method: received.method,
      url: received.url,
      type: received.headers["content-type"] ?? null,
      tenant: received.headers["x-tenant"] ?? null,
      authorization: received.headers.authorization ?? null,
      sha256: sha256(received.body),
      length: received.body.length,
    }));
  });
}

/** A recording broker over the real network, past the interception. */
function recorder(options?: { path?: string; liveResponder?: AsyncLiveResponder }): AsyncBroker {
  return createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    liveResponder: options?.liveResponder ?? createInterceptResponder(),
    store: options?.path === undefined
      ? undefined
      : fileStoreAsync(options.path, { createIfMissing: true }),
  });
}

/** Runs `body` with an interception that is always stopped. */
async function intercepting<T>(
  broker: Parameters<typeof interceptHttp>[0],
  body: () => Promise<T>,
  options?: Parameters<typeof interceptHttp>[1],
): Promise<T> {
  const interception = interceptHttp(broker, options);
  try {
    return await body();
  } finally {
    await interception.stop();
  }
}

/**
 * Records what `body` sends to a fresh echo server, under interception; the
 * server is closed after, so what replays next cannot reach it.
 */
async function recordEcho<T>(
  body: (origin: string) => Promise<T>,
  options?: Parameters<typeof interceptHttp>[1],
): Promise<{ broker: AsyncBroker; origin: string; result: T }> {
  const server = await echoServer();
  try {
    const broker = recorder();
    const result = await intercepting(broker, () => body(server.origin), options);
    return { broker, origin: server.origin, result };
  } finally {
    await server.close();
  }
}

/** A raw node:http request: writes the body with `write`, returns status and body. */
function send(
  url: string,
  options: http.RequestOptions,
  write: (request: http.ClientRequest) => void,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, options, (response) => {
      const pieces: Uint8Array[] = [];
      response.on("data", (piece: Uint8Array) => pieces.push(piece));
      response.on(
        "end",
        () => resolve({ status: response.statusCode ?? 0, body: utf8(concat(pieces)) }),
      );
    });
    request.on("error", reject);
    write(request);
  });
}

const GLOBAL_DISPATCHER = Symbol.for("undici.globalDispatcher.1");

function snapshot(): unknown[] {
  return [
    http.request,
    http.get,
    http.ClientRequest,
    http.globalAgent,
    https.request,
    https.get,
    https.globalAgent,
    globalThis.fetch,
    (globalThis as Record<symbol, unknown>)[GLOBAL_DISPATCHER],
  ];
}

test("interceptHttp() stop() puts back every function and global it replaced", async () => {
  await import("undici"); // npm's undici puts its dispatcher on the global symbol (not Bun's own)
  const before = snapshot();
  const interception = interceptHttp(createBroker({ cassette: createCassette() }));
  let during: unknown[];
  try {
    during = snapshot();
  } finally {
    await interception.stop();
  }
  const dispatcherSlot = before.length - 1;
  for (let i = 0; i < before.length; i++) {
    if (i === dispatcherSlot && RUNTIME === "Bun") {
      // Bun's built-in undici keeps no global dispatcher: there is none to replace.
      assert.equal(before[i], undefined);
      assert.equal(during[i], undefined);
      continue;
    }
    assert.notEqual(during[i], before[i], `global ${i} is replaced while intercepting`);
  }
  assert.deepEqual(snapshot(), before);
  await interception.stop(); // again: nothing to do
  await interception[Symbol.asyncDispose]();
  assert.deepEqual(snapshot(), before);
});

test("interceptHttp() leaves alone a global someone else replaced meanwhile", async () => {
  const original = globalThis.fetch;
  const interception = interceptHttp(createBroker({ cassette: createCassette() }));
  const theirs = (() => Promise.resolve(new Response("theirs"))) as typeof fetch;
  globalThis.fetch = theirs;
  try {
    await interception.stop();
    assert.equal(globalThis.fetch, theirs);
  } finally {
    globalThis.fetch = original;
  }
});

test("interceptHttp() refuses a second interception and bad arguments, with clear errors", async () => {
  const broker = createBroker({ cassette: createCassette() });
  const interception = interceptHttp(broker);
  try {
    assert.throws(
      () => interceptHttp(broker),
      (error: unknown) =>
        error instanceof ReplayError &&
        /^Cannot intercept HTTP: interceptHttp\(\) is already running in this process; stop\(\) it first/
          .test(error.message),
    );
  } finally {
    await interception.stop();
  }
  await interceptHttp(broker).stop(); // stopped: a new one may start
  assert.throws(
    () => interceptHttp({} as never),
    /^TypeError: Cannot intercept HTTP: expected a broker with a replay\(\) method, got an object$/,
  );
  assert.throws(
    () => interceptHttp(broker, { matchHeaders: "x-tenant" as never }),
    /Cannot intercept HTTP: matchHeaders must be an array of header names, got string "x-tenant"/,
  );
  assert.throws(
    () => interceptHttp(broker, { passthrough: [/ok/, 42 as never] }),
    /Cannot intercept HTTP: passthrough\[1\] must be a host, an absolute URL prefix, a RegExp or a function, got number 42/,
  );
  assert.throws(() => interceptHttp(broker, { passthrough: "http://" }), TypeError);
  // Nothing was left patched by the refused calls.
  await interceptHttp(broker).stop();
});

test("interceptHttp() refuses to start over another @mswjs/interceptors user (nock, MSW)", async () => {
  const theirs = new FetchInterceptor();
  theirs.apply();
  try {
    assert.throws(
      () => interceptHttp(createBroker({ cassette: createCassette() })),
      (error: unknown) =>
        error instanceof ReplayError &&
        /another @mswjs\/interceptors interceptor \(fetch-interceptor\)/.test(error.message),
    );
  } finally {
    theirs.dispose();
  }
  await interceptHttp(createBroker({ cassette: createCassette() })).stop();
});

test("interceptHttp() records request bodies byte-exact: several writes, a piped stream, 100-continue", async () => {
  const server = await echoServer();
  const parts = ["first,", "second,", "third"].map((text) => new TextEncoder().encode(text));
  const whole = concat(parts);
  const calls: Array<[string, http.RequestOptions, (request: http.ClientRequest) => void]> = [
    [`${server.origin}/writes`, { method: "POST" }, (request) => {
      request.write(parts[0]);
      request.write(parts[1]);
      request.end(parts[2]);
    }],
    [`${server.origin}/piped`, { method: "PUT" }, (request) => {
      Readable.from(parts).pipe(request);
    }],
    [
      `${server.origin}/continue`,
      {
        method: "POST",
        headers: { expect: "100-continue", "content-length": String(whole.length) },
      },
      (request) => {
        // The body leaves only after the server (or the interception) says to go on.
        request.on("continue", () => request.end(whole));
      },
    ],
  ];
  let broker: AsyncBroker;
  const live: string[] = [];
  try {
    for (const call of calls) live.push((await send(...call)).body);
    broker = recorder();
    await intercepting(broker, async () => {
      for (let i = 0; i < calls.length; i++) {
        assert.deepEqual(JSON.parse((await send(...calls[i]!)).body), JSON.parse(live[i]!));
      }
    });
  } finally {
    await server.close();
  }
  for (const text of live) {
    assert.equal(JSON.parse(text).sha256, sha256(whole));
  }
  for (const interaction of broker.cassette.interactions) {
    assert.deepEqual(interaction.request.body, whole, interaction.request.target);
  }
  // Offline, in another broker: the same bodies match the recordings.
  await intercepting(createAsyncBroker({ cassette: broker.cassette }), async () => {
    for (let i = 0; i < calls.length; i++) {
      assert.equal((await send(...calls[i]!)).body, live[i]);
    }
    await assert.rejects(
      send(`${server.origin}/writes`, { method: "POST" }, (request) => request.end("other")),
      InteractionNotFoundError,
    );
  });
});

test("interceptHttp() gives a multipart form a stable boundary, so it matches on every run", async () => {
  const form = () => {
    const data = new FormData();
    data.append("name", "Ada");
    data.append(
      "file",
      new Blob([new Uint8Array([0, 1, 2, 255])], { type: "application/octet-stream" }),
      "a.bin",
    );
    return data;
  };
  const { broker, origin, result: live } = await recordEcho(
    async (origin): Promise<{ type: string; length: number }> =>
      (await axios.post(`${origin}/upload`, form())).data,
  );
  assert.match(live.type, /^multipart\/form-data; boundary=x-replay-[0-9a-f]{32}$/);
  const body = utf8(broker.cassette.interactions[0]!.request.body);
  assert.match(body, /name="file"; filename="a.bin"/);
  // A new form, with the new random boundary axios picks: still a hit.
  const replayed = await intercepting(
    createAsyncBroker({ cassette: broker.cassette }),
    async () => (await axios.post(`${origin}/upload`, form())).data,
  );
  assert.deepEqual(replayed, live);
});

test("interceptHttp() sends every header live but matches and stores only matchHeaders", async () => {
  const { broker, origin } = await recordEcho(async (origin) => {
    for (const tenant of ["a", "b"]) {
      const { data } = await axios.get(`${origin}/who`, {
        headers: { "x-tenant": tenant, authorization: "Bearer live-secret" },
      });
      assert.equal(data.tenant, tenant);
      assert.equal(data.authorization, "Bearer live-secret");
    }
  }, { matchHeaders: ["X-Tenant"] });
  const stored = broker.cassette.interactions.map((interaction) => interaction.request.headers);
  assert.deepEqual(stored, [[["x-tenant", "a"]], [["x-tenant", "b"]]]);
  await intercepting(createAsyncBroker({ cassette: broker.cassette }), async () => {
    const { data } = await axios.get(`${origin}/who`, { headers: { "x-tenant": "b" } });
    assert.equal(data.tenant, "b");
    await assert.rejects(axios.get(`${origin}/who`, { headers: { "x-tenant": "c" } }));
  }, { matchHeaders: ["x-tenant"] });
});

test("interceptHttp() lets a client see and follow redirects itself, live and replayed", async () => {
  const { broker, origin } = await recordEcho(async (origin) => {
    const manual = await axios.get(`${origin}/redirect`, {
      maxRedirects: 0,
      validateStatus: () => true,
    });
    assert.equal(manual.status, 302);
    assert.equal(manual.headers.location, "/target");
    const followed = await axios.get(`${origin}/redirect`);
    assert.equal(followed.data.url, "/target");
  });
  assert.deepEqual(
    broker.cassette.interactions.map((interaction) => new URL(interaction.request.target).pathname),
    // The request that saw the 302 and the one that followed it are recorded in turn.
    ["/redirect", "/redirect", "/target"],
  );
  await intercepting(createAsyncBroker({ cassette: broker.cassette }), async () => {
    assert.equal((await axios.get(`${origin}/redirect`)).data.url, "/target");
  });
});

test("interceptHttp() answers HEAD and 204 with no body", async () => {
  const { broker, origin } = await recordEcho(async (origin) => {
    assert.equal((await httpGet(`${origin}/empty`)).status, 204);
    assert.equal(
      (await axios.head(`${origin}/head`)).headers["content-type"],
      "application/json",
    );
  });
  await intercepting(createAsyncBroker({ cassette: broker.cassette }), async () => {
    const empty = await httpGet(`${origin}/empty`);
    assert.equal(empty.status, 204);
    assert.equal(empty.pieces.length, 0);
    const head = await axios.head(`${origin}/head`);
    assert.equal(head.status, 200);
    assert.equal(head.data, "");
  });
});

test("interceptHttp() times out a slow recorded response as a slow server would", async () => {
  const { broker, origin } = await recordEcho(async (origin) => {
    assert.equal((await axios.get(`${origin}/slow`)).data, "slow");
  });
  const player = createAsyncBroker({ cassette: broker.cassette, timing: "recorded" });
  await intercepting(player, async () => {
    await assert.rejects(axios.get(`${origin}/slow`, { timeout: 50 }), (error: unknown) => {
      assert.equal((error as { code?: string }).code, "ECONNABORTED");
      return true;
    });
    await assert.rejects(httpGet(`${origin}/slow`, { signal: AbortSignal.timeout(50) }), {
      name: "AbortError",
    });
    await assert.rejects(fetch(`${origin}/slow`, { signal: AbortSignal.timeout(50) }), {
      name: "TimeoutError",
    });
    assert.equal((await axios.get(`${origin}/slow`, { timeout: 5_000 })).data, "slow");
  });
});

test("interceptHttp() stops the live call when the client gives up a recording stream", async () => {
  const closed = deferred();
  const first = deferred();
  const server = await startServer((_received, response) => {
    response.on("close", () => closed.resolve());
    response.writeHead(200, "OK", { "content-type": "text/event-stream" });
    response.write("data: one\n\n");
    // Never ends: only the client giving up stops it.
  });
  try {
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "record",
      recording: "streaming",
      liveResponder: createInterceptResponder(),
    });
    await intercepting(broker, async () => {
      const request = http.get(`${server.origin}/events`, (response) => {
        response.once("data", () => first.resolve());
      });
      request.on("error", () => {});
      await first.promise;
      request.destroy();
      await closed.promise; // the live server saw its connection closed
    });
    assert.equal(broker.cassette.interactions.length, 0, "an abandoned stream is not recorded");
  } finally {
    await server.close();
  }
});

test("interceptHttp() rejects a fetch aborted before its answer with the signal's reason", async () => {
  const gate = deferred();
  const player = createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    liveResponder: async function* () {
      await gate.promise;
      yield createChunk("late", 0, [["status_code", "200"]]);
    },
  });
  await intercepting(player, async () => {
    const controller = new AbortController();
    const answer = fetch("http://api.example.com/late", { signal: controller.signal });
    controller.abort(new Error("gave up"));
    await assert.rejects(answer, /gave up/);
    gate.resolve();
  });
});

test("interceptHttp() lets live responders reach the network, whatever client they use", async () => {
  const server = await echoServer();
  try {
    // createFetchResponder() made before interception, and one that uses axios.
    const responders: AsyncLiveResponder[] = [
      createFetchResponder(),
      async function* (request) {
        const { data, status } = await axios.get(request.target, { responseType: "text" });
        yield createChunk(data, 0, [["status_code", String(status)]]);
      },
    ];
    for (const liveResponder of responders) {
      const broker = recorder({ liveResponder });
      const body = await intercepting(
        broker,
        async () => (await axios.get(`${server.origin}/x`)).data,
      );
      assert.equal(body.url, "/x");
      assert.equal(broker.cassette.interactions.length, 1);
    }
    assert.equal(server.received.length, 2);
  } finally {
    await server.close();
  }
});

test("interceptHttp() refuses a request that slipped past it instead of sending it", async () => {
  const server = await echoServer();
  // A function kept from before interception started (as a library may keep one).
  const early = http.request;
  try {
    await intercepting(createAsyncBroker({ cassette: createCassette() }), async () => {
      await assert.rejects(
        new Promise((resolve, reject) =>
          early(`${server.origin}/early`, resolve).on("error", reject).end()
        ),
        (error: unknown) =>
          error instanceof ReplayError &&
          /^Cannot send GET http:\/\/127\.0\.0\.1:\d+\/early: the request bypassed interceptHttp\(\)/
            .test(error.message),
      );
      // `import { get } from "node:http"`: Node keeps such bindings in step with the module;
      // Deno and Bun cannot, and the request is refused the same way.
      const named = new Promise((resolve, reject) =>
        namedGet(`${server.origin}/named`, resolve).on("error", reject)
      );
      if (RUNTIME === "Node") await assert.rejects(named, InteractionNotFoundError);
      else await assert.rejects(named, /the request bypassed interceptHttp\(\)/);
    });
    // passthrough applies to them too.
    await intercepting(createAsyncBroker({ cassette: createCassette() }), async () => {
      const status = await new Promise<number>((resolve, reject) =>
        early(`${server.origin}/early`, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        }).on("error", reject).end()
      );
      assert.equal(status, 200);
    }, { passthrough: (request) => request.url.endsWith("/early") });
    assert.equal(server.received.length, 1);
  } finally {
    await server.close();
  }
});

test("interceptHttp() passthrough takes hosts, URL prefixes, regular expressions and predicates", async () => {
  const server = await echoServer();
  const port = new URL(server.origin).port;
  const player = createAsyncBroker({ cassette: createCassette() });
  try {
    const rules = [
      `127.0.0.1:${port}`,
      `${server.origin}/a`,
      server.origin,
      /\/a\?x=1$/,
      (request: { method: string; url: string; headers: Headers }) =>
        request.method === "GET" && request.headers.get("x-pass") === "yes",
    ];
    for (const rule of rules) {
      await intercepting(player, async () => {
        const response = await fetch(`${server.origin}/a?x=1`, { headers: { "x-pass": "yes" } });
        assert.equal((await response.json()).url, "/a?x=1", String(rule));
        await assert.rejects(fetch("http://elsewhere.example/a"), InteractionNotFoundError);
      }, { passthrough: rule });
    }
    await intercepting(player, async () => {
      await assert.rejects(fetch(`${server.origin}/b`), InteractionNotFoundError);
    }, { passthrough: [`${server.origin}/a`, "localhost"] });
    await intercepting(player, async () => {
      await assert.rejects(fetch(`${server.origin}/a`), /predicate failed/);
    }, {
      passthrough: () => {
        throw new Error("predicate failed");
      },
    });
    assert.equal(server.received.length, rules.length);
  } finally {
    await server.close();
  }
});

test("interceptHttp() recordings replay through createReplayFetch(), the replay server and the CLI, and the reverse", async () => {
  await withFolder(async (folder) => {
    const server = await echoServer();
    const viaAxios = join(folder, "axios.json");
    const viaFetch = join(folder, "fetch.json");
    const url = `${server.origin}/cross?q=1`;
    let live: unknown;
    try {
      await intercepting(recorder({ path: viaAxios }), async () => {
        live = (await axios.get(url)).data;
      });
      const fetchRecorder = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        liveResponder: createFetchResponder(),
        store: fileStoreAsync(viaFetch, { createIfMissing: true }),
      });
      assert.deepEqual(await (await createReplayFetch(fetchRecorder)(url)).json(), live);
    } finally {
      await server.close();
    }
    assert.ok(existsSync(viaAxios) && existsSync(viaFetch));
    // Recorded through axios, replayed through the fetch adapter and the server's handler.
    const axiosBroker = await openAsyncBroker(fileStoreAsync(viaAxios));
    assert.deepEqual(await (await createReplayFetch(axiosBroker)(url)).json(), live);
    const handler = createHandler({ broker: axiosBroker });
    assert.deepEqual(
      await (await handler(new Request("http://replay.local/cross?q=1"))).json(),
      live,
    );
    // ... and through `x-replay serve`, which any client reaches over the wire.
    const controller = new AbortController();
    let stdout = "";
    const listening = deferred();
    const serving = main(["serve", viaAxios, "--port", "0"], {
      signal: controller.signal,
      stdout: (text) => {
        stdout += text;
        if (stdout.includes("\n")) listening.resolve();
      },
      stderr: () => {},
    });
    await listening.promise;
    const at = /listening on (\S+)/.exec(stdout)![1]!;
    try {
      assert.deepEqual(JSON.parse(utf8(concat((await httpGet(`${at}/cross?q=1`)).pieces))), live);
    } finally {
      controller.abort();
      assert.equal(await serving, 0);
    }
    // Recorded through the fetch adapter, replayed through axios under interception.
    await intercepting(await openAsyncBroker(fileStoreAsync(viaFetch)), async () => {
      assert.deepEqual((await axios.get(url)).data, live);
    });
  });
});

test("interceptHttp() misses name the method and URL and say how to record", async () => {
  const request = createRequest({
    protocol: "http",
    action: "GET",
    target: "http://api.example.com/known",
  });
  const broker = createBroker({
    cassette: createCassette([
      createInteraction(request, [createChunk("ok", 0, [["status_code", "200"]])]),
    ]),
  });
  await intercepting(broker, async () => {
    assert.equal((await httpGet("http://api.example.com/known")).status, 200);
    await assert.rejects(
      axios.post("http://api.example.com/unknown", { a: 1 }),
      (error: unknown) => {
        const cause = (error as Error).cause;
        assert.ok(cause instanceof InteractionNotFoundError);
        assert.equal(
          cause.message,
          'No matching interaction for http:POST:http://api.example.com/unknown. interceptHttp() kept the request from the network; record it with a broker in "auto" or "record" mode whose live responder is createInterceptResponder(), or let it through with the passthrough option',
        );
        assert.ok(
          cause.cause instanceof InteractionNotFoundError,
          "the broker's own error is the cause",
        );
        return true;
      },
    );
  });
});

test("interceptHttp() throws at once, naming the runtime and the alternatives, where it cannot patch", async () => {
  const child = await runChild("_intercept_frozen", []);
  assert.equal(child.code, 0, child.stderr);
  const result = JSON.parse(child.stdout);
  assert.equal(result.threw, true, child.stdout);
  assert.equal(result.name, "ReplayError");
  assert.equal(
    result.message,
    `Cannot intercept HTTP on ${RUNTIME}: the global fetch cannot be replaced in this process; answer requests with createReplayFetch() given to the client as its fetch, installFetch(), or the replay server (x-replay serve, or serve() from @x/replay/server) as a recording proxy`,
  );
  assert.equal(result.restored, true, "nothing is left patched");
});

test("interceptHttp() answers https requests and undici's stream() from the cassette", async () => {
  const request = (target: string) => createRequest({ protocol: "http", action: "GET", target });
  const answer = (text: string) => [
    createChunk(text, 0, [["status_code", "200"], ["header:content-type", "text/plain"]]),
  ];
  const broker = createBroker({
    cassette: createCassette([
      createInteraction(request("https://api.example.com/secure"), answer("over tls")),
      createInteraction(request("http://api.example.com/streamed"), answer("streamed")),
    ]),
  });
  // Loaded first: npm's undici sets up the global dispatcher the interception replaces.
  const undici = await import("undici");
  await intercepting(broker, async () => {
    const secure = await new Promise<string>((resolve, reject) => {
      https.get("https://api.example.com/secure", (response) => {
        let text = "";
        response.on("data", (piece) => (text += piece));
        response.on("end", () => resolve(text));
      }).on("error", reject);
    });
    assert.equal(secure, "over tls");
    if (RUNTIME === "Bun") return; // Bun's own undici is not caught (README, "Deno and Bun")
    const pieces: Uint8Array[] = [];
    await undici.stream(
      "http://api.example.com/streamed",
      { method: "GET", opaque: pieces },
      ({ opaque }) =>
        new Writable({
          write(chunk, _encoding, callback) {
            (opaque as Uint8Array[]).push(chunk);
            callback();
          },
        }),
    );
    assert.equal(utf8(concat(pieces)), "streamed");
  });
});

test("interceptHttp() keeps a path that starts with // on the host the client asked for", async () => {
  // A base URL that ends in "/" joined to a path that starts with one.
  const target = "http://api.example.com//v1/items?page=2";
  const broker = createBroker({
    cassette: createCassette([
      createInteraction(createRequest({ protocol: "http", action: "GET", target }), [
        createChunk("items", 0, [["status_code", "200"]]),
      ]),
    ]),
  });
  // Loaded first: npm's undici sets up the global dispatcher the interception replaces.
  const undici = await import("undici");
  await intercepting(broker, async () => {
    assert.equal(utf8(concat((await httpGet(target)).pieces)), "items");
    assert.equal(await (await fetch(target)).text(), "items");
    if (RUNTIME === "Bun") return; // Bun's own undici is not caught (README, "Deno and Bun")
    assert.equal(await (await undici.request(target)).body.text(), "items");
    assert.equal(await (await undici.fetch(target)).text(), "items");
  });
  // Recorded through the network: the live call goes to the client's host, with that path.
  const server = await echoServer();
  try {
    const recording = recorder();
    await intercepting(recording, async () => {
      const seen = JSON.parse(utf8(concat((await httpGet(`${server.origin}//echo`)).pieces)));
      // Bun's own fetch, the live side there, sends the path "//echo" as "/echo".
      assert.equal(seen.url, RUNTIME === "Bun" ? "/echo" : "//echo");
      const posted = await send(`${server.origin}//echo`, { method: "POST" }, (request) => {
        request.write("a body ");
        request.end("in two writes");
      });
      assert.equal(JSON.parse(posted.body).length, "a body in two writes".length);
    });
    assert.deepEqual(
      recording.cassette.interactions.map((interaction) => interaction.request.target),
      [`${server.origin}//echo`, `${server.origin}//echo`],
    );
    assert.equal(utf8(recording.cassette.interactions[1]!.request.body), "a body in two writes");
  } finally {
    await server.close();
  }
});

test("interceptHttp() in replay mode sends passthrough requests on the client's own agent, untouched", async () => {
  const server = await echoServer();
  const agents = [new http.Agent({ keepAlive: true }), new http.Agent({ keepAlive: true })];
  /**
   * Five GETs: two on a keep-alive agent, one with `agent: false` (a new agent), one with
   * `agent: null` and one with none (both the global agent).
   */
  const five = async (agent: http.Agent): Promise<void> => {
    const kinds = [{ agent }, { agent }, { agent: false as const }, { agent: null as never }, {}];
    for (const options of kinds) {
      const answer = await new Promise<{ body: string }>((resolve, reject) => {
        http.get(`${server.origin}/pass`, options, (response) => {
          let body = "";
          response.on("data", (piece) => (body += piece));
          response.on("end", () => resolve({ body }));
        }).on("error", reject);
      });
      assert.equal(JSON.parse(answer.body).url, "/pass");
    }
  };
  try {
    await five(agents[0]!);
    await intercepting(createBroker({ cassette: createCassette() }), async () => {
      await five(agents[1]!);
      await assert.rejects(httpGet("http://elsewhere.example/pass"), InteractionNotFoundError);
    }, { passthrough: [server.origin] });
    assert.equal(server.received.length, 10);
    const connections = server.received.map((received) => received.headers.connection);
    if (RUNTIME === "Node") {
      // Each request went out on the agent it asked for, saying what it says without
      // interception; the keep-alive agent kept its socket. (Through @mswjs/interceptors,
      // on Deno and Bun, a passthrough request is sent on an agent of its own.)
      assert.deepEqual(connections.slice(5), connections.slice(0, 5));
      assert.equal(Object.values(agents[1]!.freeSockets).flat().length, 1);
    }
  } finally {
    for (const agent of agents) agent.destroy();
    await server.close();
  }
});

test("interceptHttp() replays a long body as the client reads it, and stop() waits for no reader", async () => {
  const target = "http://api.example.com/big";
  const piece = new Uint8Array(64 * 1024).fill(7);
  const chunks = Array.from(
    { length: 64 },
    (_, index) =>
      createChunk(
        piece,
        index,
        index === 0 ? [["header:content-type", "application/octet-stream"]] : [],
      ),
  );
  const cassette = createCassette([
    createInteraction(createRequest({ protocol: "http", action: "GET", target }), chunks),
  ]);
  const broker = createBroker({ cassette });
  let pulled = 0;
  const counting = {
    mode: broker.mode,
    cassette: broker.cassette,
    replay(
      request: Parameters<typeof broker.replay>[0],
    ): IterableIterator<ReturnType<typeof createChunk>> {
      const inner = broker.replay(request);
      return {
        [Symbol.iterator]() {
          return this;
        },
        next: () => {
          const result = inner.next();
          if (!result.done) pulled++;
          return result;
        },
        return: () => inner.return?.() ?? { done: true, value: undefined },
      };
    },
  };
  const interception = interceptHttp(counting);
  let paused: http.IncomingMessage | undefined;
  try {
    paused = await new Promise<http.IncomingMessage>((resolve, reject) => {
      http.get(target, (response) => {
        response.pause();
        resolve(response);
      }).on("error", reject);
    });
    assert.equal(paused.statusCode, 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (RUNTIME === "Node") {
      // Node's socket path pulls chunks as the client reads (ADR 0051): a
      // paused reader holds the rest in the cassette.
      assert.ok(pulled < chunks.length / 2, `pulled ${pulled} of ${chunks.length} chunks`);
    }
  } finally {
    // A response nobody reads does not hold stop() up.
    await Promise.race([
      interception.stop(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("stop() waited for a reader")), 5_000).unref?.()
      ),
    ]);
  }
  const received: Uint8Array[] = [];
  paused.on("data", (data: Uint8Array) => received.push(data));
  const ended = new Promise((resolve) => paused!.on("end", resolve));
  paused.resume();
  await ended;
  assert.equal(concat(received).length, piece.length * chunks.length);
  assert.ok(concat(received).every((byte) => byte === 7));
  assert.equal(pulled, chunks.length);
});

test("interceptHttp() honours a request's own timeout option on a slow recorded response", async () => {
  const { broker, origin } = await recordEcho(async (origin) => {
    assert.equal((await httpGet(`${origin}/slow`)).pieces.length, 1);
  });
  const player = createAsyncBroker({ cassette: broker.cassette, timing: "recorded" });
  await intercepting(player, async () => {
    const timedOut = await new Promise<boolean>((resolve, reject) => {
      const sent = http.get(`${origin}/slow`, { timeout: 50 }, () => resolve(false));
      sent.on("timeout", () => {
        sent.destroy();
        resolve(true);
      });
      sent.on("error", (error) => {
        if (!sent.destroyed) reject(error);
      });
    });
    assert.equal(timedOut, true);
  });
});

test("interceptHttp() fails a request whose recording no server could send, naming the bad pair", async () => {
  const target = "http://api.example.com/bad";
  const cassette = createCassette([
    createInteraction(createRequest({ protocol: "http", action: "GET", target }), [
      createChunk("x", 0, [["status_code", "200"], ["header:bad name", "v"]]),
    ]),
  ]);
  for (const broker of [createBroker({ cassette }), createAsyncBroker({ cassette })]) {
    await intercepting(broker, async () => {
      await assert.rejects(httpGet(target), (error: unknown) => {
        assert.ok(error instanceof InteractionValidationError, String(error));
        assert.match(error.message, /responseChunks\[0\]\.metadata\[1\]/);
        return true;
      });
      // A miss from an asynchronous broker fails with the same hint as a synchronous one.
      await assert.rejects(axios.get("http://api.example.com/other"), (error: unknown) => {
        const cause = (error as Error).cause;
        assert.ok(cause instanceof InteractionNotFoundError);
        assert.match(cause.message, /kept the request from the network/);
        return true;
      });
    });
  }
});

test("interceptHttp() answers a recorded 205 with no body, as createReplayFetch() does", async () => {
  const target = "http://api.example.com/reset";
  const cassette = createCassette([
    createInteraction(createRequest({ protocol: "http", action: "GET", target }), [
      createChunk("ignored", 0, [["status_code", "205"]]),
    ]),
  ]);
  const viaFetch = await createReplayFetch(createBroker({ cassette }))(target);
  assert.equal(viaFetch.status, 205);
  assert.equal(await viaFetch.text(), "");
  await intercepting(createBroker({ cassette }), async () => {
    const seen = await httpGet(target);
    assert.equal(seen.status, 205);
    assert.equal(concat([...seen.pieces]).length, 0);
  });
});
