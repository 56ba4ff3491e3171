// The replay server's defences (issue 12, items 5 to 7), on a real server:
// bounded request bodies answered 413, honest statuses when a recording
// cannot be saved or a recording cannot be sent, the Host check, the
// recording misconfiguration refused at start, and error bodies that name
// only cassette-relative paths.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BlobError,
  CassetteSaveError,
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fileStore,
  fileStoreAsync,
  openAsyncBroker,
  type ResponseChunk,
} from "@x/replay";
import { createFetchResponder } from "@x/replay/fetch";
import { type BrokerLike, createHandler, type ReplayServer, serve } from "@x/replay/server";
import { closing, GUARD, startServer } from "./_http.ts";
import { withFolder } from "./_helpers.ts";
import { rawRequest, rawUpstream, values } from "./_raw_http.ts";

const quiet = { onError: () => {} };

function hello(target = "https://api.example.com/hello") {
  return createCassette([
    createInteraction(
      createRequest({ protocol: "http", action: "POST", target }),
      [createChunk("hi", 0, [["status_code", "200"]])],
    ),
  ]);
}

function post(
  server: ReplayServer,
  path: string,
  head: string,
  body: (string | Uint8Array)[] = [],
) {
  return rawRequest(
    server.url,
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${server.port}${head}`,
    body,
  );
}

test(
  "serve() answers 413 for a request body over bodyLimit, declared or streamed, and forwards nothing",
  GUARD,
  async () => {
    const upstream = await startServer((_received, response) => void response.end("live"));
    try {
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        liveResponder: createFetchResponder({ upstream: upstream.origin }),
      });
      await closing(
        serve({ broker, origin: upstream.origin, bodyLimit: 1024, ...quiet }),
        async (server) => {
          // Declared too large: answered at once, before the body is sent.
          const declared = await post(server, "/up", "\r\nContent-Length: 2048");
          assert.equal(declared.status, 413);
          assert.match(Buffer.from(declared.body).toString(), /^Content Too Large\n/);
          assert.equal(
            JSON.parse(Buffer.from(declared.body).toString().split("\n").slice(1).join("\n")).limit,
            1024,
          );
          // Chunked, passing the limit on the way.
          const piece = "x".repeat(600);
          const streamed = await post(server, "/up", "\r\nTransfer-Encoding: chunked", [
            `258\r\n${piece}\r\n`,
            `258\r\n${piece}\r\n`,
            "0\r\n\r\n",
          ]);
          assert.equal(streamed.status, 413);
          // At the limit, it goes through.
          const fits = await post(server, "/up", "\r\nContent-Length: 1024", ["y".repeat(1024)]);
          assert.equal(fits.status, 200);
          assert.equal(Buffer.from(fits.body).toString(), "live");
        },
      );
      assert.equal(upstream.received.length, 1);
      assert.equal(upstream.received[0]!.body.length, 1024);
    } finally {
      await upstream.close();
    }
    // The default limit is 64 MiB.
    await closing(serve({ broker: createBroker({ cassette: hello() }) }), async (server) => {
      const over = await post(server, "/hello", `\r\nContent-Length: ${64 * 1024 * 1024 + 1}`);
      assert.equal(over.status, 413);
    });
    await assert.rejects(
      serve({ broker: createBroker({ cassette: hello() }), bodyLimit: -1 }),
      RangeError,
    );
  },
);

test("createHandler() applies bodyLimit to a web Request's body too", async () => {
  const handler = createHandler({ broker: createBroker({ cassette: hello() }), bodyLimit: 4 });
  const response = await handler(
    new Request("http://127.0.0.1/hello", { method: "POST", body: "12345" }),
  );
  assert.equal(response.status, 413);
  const fits = await handler(new Request("http://127.0.0.1/hello", { method: "POST", body: "" }));
  assert.equal(fits.status, 200);
});

/** A store whose saves fail, as on a full disk. */
function failingStore(folder: string) {
  // A parent path that is a file: every save fails.
  writeFileSync(join(folder, "not-a-folder"), "");
  return fileStoreAsync(join(folder, "not-a-folder", "c.json"), { createIfMissing: true });
}

test("serve() never answers a complete 200 for a recording that fails to save", GUARD, async () => {
  await withFolder(async (folder) => {
    const small = await rawUpstream(() => ["HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"]);
    const big = 2 * 1024 * 1024;
    const large = await rawUpstream(() => [
      `HTTP/1.1 200 OK\r\nContent-Length: ${big}\r\n\r\n`,
      Buffer.alloc(big, 0x61),
    ]);
    const chunked = await rawUpstream(() => [
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
      "7\r\ndata: 1\r\n",
      "0\r\n\r\n",
    ]);
    try {
      for (const upstream of [small, large, chunked]) {
        const logged: unknown[] = [];
        const broker = createAsyncBroker({
          cassette: createCassette(),
          mode: "record",
          recording: "streaming",
          liveResponder: createFetchResponder({ upstream: upstream.origin, client: "node:http" }),
          store: failingStore(folder),
        });
        const answer = await closing(
          serve({ broker, origin: upstream.origin, onError: (error) => logged.push(error) }),
          (proxy) => rawRequest(proxy.url, `GET /x HTTP/1.1\r\nHost: localhost`),
        );
        if (upstream === small) {
          // Small enough to hold until the save: an honest 500.
          assert.equal(answer.status, 500);
          const text = Buffer.from(answer.body).toString();
          assert.match(text, /^Replay Error\n/);
          assert.match(text, /Cannot save cassette to \\"c\.json\\"/);
          assert.ok(!text.includes(folder), text);
        } else {
          // Already streaming: the status went out, the end never does.
          assert.equal(answer.status, 200);
          assert.equal(answer.complete, false, upstream === large ? "length" : "chunked");
          // Of a long body, the 1 MiB piece that completes the length waits for the save.
          if (upstream === large) {
            assert.ok(answer.body.length <= big - 1024 * 1024, `${answer.body.length} bytes`);
          }
        }
        assert.ok(logged.some((error) => error instanceof CassetteSaveError), String(logged));
      }
    } finally {
      await Promise.all([small.close(), large.close(), chunked.close()]);
    }
  });
});

test("serve() answers 500 Replay Error, the same on every runtime, for headers or status text no runtime sends", async () => {
  const request = (path: string) =>
    createRequest({ protocol: "http", action: "GET", target: `https://api.example.com${path}` });
  const answer = (
    metadata: [string, string][],
  ) => [createChunk("x", 0, [["status_code", "200"], ...metadata])];
  const cassette = createCassette([
    createInteraction(request("/crlf"), answer([["header:x-bad", "a\r\nset-cookie: evil=1"]])),
    createInteraction(request("/euro"), answer([["header:x-price", "10 €"]])),
    createInteraction(request("/name"), answer([["header:bad name", "v"]])),
    createInteraction(request("/reason"), answer([["status_text", "OK\r\nX-Injected: 1"]])),
    createInteraction(
      request("/latin1"),
      answer([["header:x-name", "Zoë"], ["status_text", "Très bien"]]),
    ),
  ]);
  const logged: unknown[] = [];
  await closing(
    serve({ broker: createBroker({ cassette }), onError: (error) => logged.push(error) }),
    async (server) => {
      for (const path of ["/crlf", "/euro", "/name", "/reason"]) {
        const result = await rawRequest(server.url, `GET ${path} HTTP/1.1\r\nHost: localhost`);
        assert.equal(result.status, 500, path);
        const text = Buffer.from(result.body).toString();
        assert.match(text, /^Replay Error\n/, path);
        assert.match(text, /responseChunks\[0\]\.metadata\[1\]/, path);
        assert.deepEqual(values(result, "x-injected"), [], path);
        assert.equal(values(result, "set-cookie").length, 0, path);
      }
      // Latin-1 is what HTTP/1.1 carries: sent as it is.
      const latin1 = await rawRequest(server.url, `GET /latin1 HTTP/1.1\r\nHost: localhost`);
      assert.equal(latin1.status, 200);
      assert.deepEqual(values(latin1, "x-name"), ["Zoë"]);
    },
  );
  assert.equal(logged.length, 4);
});

test("serve() in replay mode answers 500 Replay Error, never 502, whatever the broker throws", async () => {
  const broker: BrokerLike = {
    mode: "replay",
    cassette: createCassette(),
    // deno-lint-ignore require-yield
    async *replay(): AsyncIterableIterator<ResponseChunk> {
      throw new TypeError("something broke");
    },
  };
  await closing(serve({ broker, ...quiet }), async (server) => {
    const result = await rawRequest(server.url, `GET /x HTTP/1.1\r\nHost: localhost`);
    assert.equal(result.status, 500);
    assert.match(Buffer.from(result.body).toString(), /^Replay Error\n/);
  });
});

test("serve() answers only IP addresses, localhost and allowedHosts in Host (DNS rebinding)", async () => {
  const cassette = createCassette([
    createInteraction(
      createRequest({ protocol: "http", action: "GET", target: "/ok" }),
      [createChunk("ok", 0, [["status_code", "200"]])],
    ),
  ]);
  const broker = createBroker({ cassette });
  const status = async (server: ReplayServer, host: string) =>
    (await rawRequest(server.url, `GET /ok HTTP/1.1\r\nHost: ${host}`)).status;
  await closing(serve({ broker }), async (server) => {
    for (
      const host of [
        `127.0.0.1:${server.port}`,
        "localhost",
        `LocalHost.:${server.port}`,
        "[::1]:80",
        "api.localhost",
        "10.1.2.3",
      ]
    ) {
      assert.equal(await status(server, host), 200, host);
    }
    for (
      const host of [
        "evil.example",
        `evil.example:${server.port}`,
        "127.0.0.1.nip.io",
        "localhost.evil.example",
      ]
    ) {
      assert.equal(await status(server, host), 403, host);
    }
    const refused = await rawRequest(server.url, `GET /ok HTTP/1.1\r\nHost: evil.example`);
    const text = Buffer.from(refused.body).toString();
    assert.match(text, /^Forbidden Host\n/);
    assert.match(text, /allowedHosts/);
    // The flag it names is one x-replay serve takes.
    assert.match(text, /x-replay serve --allowed-hosts /);
  });
  await closing(serve({ broker, allowedHosts: ["replay.test", ".corp.test"] }), async (server) => {
    for (const host of ["replay.test:8080", "corp.test", "a.b.corp.test"]) {
      assert.equal(await status(server, host), 200, host);
    }
    assert.equal(await status(server, "other.test"), 403);
  });
  await closing(serve({ broker, allowedHosts: true }), async (server) => {
    assert.equal(await status(server, "anything.example"), 200);
  });
  await assert.rejects(serve({ broker, allowedHosts: ["a b"] }), TypeError);
  await assert.rejects(serve({ broker, allowedHosts: "x" as never }), TypeError);
});

test("serve() and createHandler() refuse a recording broker without origin at start", async () => {
  for (const mode of ["record", "auto"] as const) {
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode,
      liveResponder: createFetchResponder(),
    });
    await assert.rejects(serve({ broker }), /forwards requests, so origin must name the upstream/);
    assert.throws(() => createHandler({ broker }), TypeError);
  }
});

test(
  "serve() error bodies name blobs and cassettes relative to the cassette's folder, the log gets the rest",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "big.json");
      const request = createRequest({
        protocol: "http",
        action: "GET",
        target: "https://api.example.com/big",
      });
      fileStore(path, { createIfMissing: true, blobThreshold: 4 }).save(createCassette([
        createInteraction(request, [createChunk("0123456789", 0, [["status_code", "200"]])]),
      ]));
      const broker = await openAsyncBroker(fileStoreAsync(path));
      const sha = broker.cassette.interactions[0]!.responseChunks[0]!.blob!.sha256;
      // The blob is a link to a file outside the cassette's folder, of the same size.
      const outside = join(folder, "outside");
      mkdirSync(outside);
      writeFileSync(join(outside, "private.txt"), "secret-xyz");
      const blob = join(folder, "big.json.blobs", sha);
      (await import("node:fs")).rmSync(blob);
      symlinkSync(join(outside, "private.txt"), blob);
      const logged: unknown[] = [];
      await closing(
        serve({ broker, onError: (error) => logged.push(error) }),
        async (server) => {
          const failed = await rawRequest(server.url, `GET /big HTTP/1.1\r\nHost: localhost`);
          const text = Buffer.from(failed.body).toString();
          assert.equal(failed.status, 500);
          assert.match(text, new RegExp(`big\\.json\\.blobs/${sha}`));
          assert.ok(!text.includes(folder), text);
          assert.ok(!text.includes("private"), text);
          assert.doesNotMatch(text, /\b10 bytes|hash to [0-9a-f]{64}/);
          const miss = await rawRequest(server.url, `GET /other HTTP/1.1\r\nHost: localhost`);
          assert.equal(miss.status, 500);
          assert.ok(!Buffer.from(miss.body).toString().includes(folder));
        },
      );
      // The local log has the whole story.
      assert.ok(logged[0] instanceof BlobError);
      assert.ok((logged[0] as BlobError).message.includes(folder));
    });
  },
);
