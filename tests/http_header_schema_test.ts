// interposition-http-adapter 0.4 cassettes replay as they do in the ancestor
// (ADR 0025): bare-path targets compared percent-decoded, and header-schema
// matching (`headerSchema`), through the brokers, createReplayFetch(), the
// handler and a real server spoken to in raw bytes over node:net.
//
// The fixture follows the adapter's rules exactly: target = the ASGI path
// (percent-decoded) plus `?` and the query as the client sent it, the
// header names a recording holds lower-cased as ASGI gives them, status in
// chunk 0's `status_code`, and fingerprints computed by Python's json.dumps
// as interposition 0.6 computes them (the generating script is in the
// commit that added it; the parse below re-checks each fingerprint).
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import {
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  InteractionNotFoundError,
  parseCassette,
} from "@x/replay";
import { createFetchResponder, createReplayFetch } from "@x/replay/fetch";
import { createHandler, serve } from "@x/replay/server";
import { startServer } from "./_http.ts";

const FIXTURE = readFileSync(
  new URL("./fixtures/interposition-http-adapter-0.4-cassette.json", import.meta.url),
  "utf8",
);
const cassette = parseCassette(FIXTURE);

/** What a raw HTTP/1.1 exchange gave: status and body as text. */
interface RawResult {
  readonly status: number;
  readonly body: string;
}

/**
 * Sends `head` (a request line and headers, CRLF-separated, no final blank
 * line) and `body` as raw bytes, the way curl would, and reads the response
 * to the end (`connection: close`).
 */
function rawRequest(port: number, head: string, body = ""): Promise<RawResult> {
  const payload = Buffer.concat([
    Buffer.from(
      `${head}\r\nhost: 127.0.0.1:${port}\r\ncontent-length: ${
        Buffer.byteLength(body)
      }\r\nconnection: close\r\n\r\n`,
      "utf8",
    ),
    Buffer.from(body, "utf8"),
  ]);
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => void socket.write(payload));
    const pieces: Buffer[] = [];
    socket.on("data", (piece: Buffer) => pieces.push(piece));
    socket.on("error", reject);
    socket.on("close", () => {
      const text = Buffer.concat(pieces).toString("utf8");
      const [headText = "", ...rest] = text.split("\r\n\r\n");
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(headText)?.[1] ?? 0);
      const chunked = /^transfer-encoding: chunked$/im.test(headText);
      const raw = rest.join("\r\n\r\n");
      resolve({ status, body: chunked ? dechunk(raw) : raw });
    });
  });
}

/** The payload of a chunked body. */
function dechunk(text: string): string {
  let out = "";
  let rest = text;
  for (;;) {
    const end = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, end), 16);
    if (!(size > 0)) return out;
    out += rest.slice(end + 2, end + 2 + size);
    rest = rest.slice(end + 2 + size + 2);
  }
}

test("serve() replays an interposition-http-adapter cassette to raw clients as the ancestor did", async () => {
  for (
    const broker of [
      createBroker({ cassette, headerSchema: true }),
      createAsyncBroker({ cassette, headerSchema: true }),
    ]
  ) {
    const server = await serve({ broker, port: 0 });
    try {
      const cases: [string, string, string, number, string][] = [
        ["GET /api/data HTTP/1.1", "", "", 200, '{"message": "hello"}'],
        // The recording says /café (ASGI decodes the path): the client sends it escaped...
        ["GET /caf%C3%A9 HTTP/1.1", "", "", 200, "bonjour"],
        // ...or in lower-case escapes.
        ["GET /caf%c3%a9 HTTP/1.1", "", "", 200, "bonjour"],
        // The path is decoded, the query is compared as sent.
        ["GET /search/caf%C3%A9?q=caf%C3%A9&lang=fr HTTP/1.1", "", "", 200, "found"],
        ["GET /search/caf%C3%A9?q=other&lang=fr HTTP/1.1", "", "", 500, "Interaction Not Found"],
        // An escaped slash is a slash once decoded, as uvicorn decodes it.
        ["GET /files/a%2Fb HTTP/1.1", "", "", 200, "file a/b"],
        // A raw quote, which the URL parser escapes on the way in.
        ["GET /q?name=o'brien HTTP/1.1", "", "", 200, "quoted"],
        // Header names from the recording, values from the live request.
        [
          "POST /v1/chat/completions HTTP/1.1",
          "content-type: application/json\r\nuser-agent: curl/8.5.0\r\nauthorization: Bearer live",
          '{"model":"m"}',
          201,
          "created",
        ],
        [
          "POST /v1/chat/completions HTTP/1.1",
          "content-type: text/plain",
          '{"model":"m"}',
          500,
          "Interaction Not Found",
        ],
        ["GET /v1/models HTTP/1.1", "accept: text/plain", "", 200, "models: none"],
        ["GET /v1/models HTTP/1.1", "accept: application/json", "", 200, '{"models":[]}'],
        // A recording naming a header the request lacks is not a candidate.
        ["GET /v1/models HTTP/1.1", "", "", 500, "Interaction Not Found"],
        // Two recorded names, in the recording's order, whatever the client's.
        [
          "POST /v1/upload HTTP/1.1",
          "content-type: text/plain\r\nx-api-version: 2",
          "hello",
          202,
          "stored",
        ],
      ];
      for (const [line, headers, body, status, text] of cases) {
        const head = headers === "" ? line : `${line}\r\n${headers}`;
        const result = await rawRequest(server.port, head, body);
        assert.equal(result.status, status, `${line} ${headers}`);
        assert.ok(result.body.startsWith(text), `${line}: ${result.body}`);
      }
    } finally {
      await server.close();
    }
  }
});

test("serve() decodes bare paths for any broker; header schemas need the option", async () => {
  const server = await serve({ broker: createBroker({ cassette }), port: 0 });
  try {
    assert.equal((await rawRequest(server.port, "GET /caf%C3%A9 HTTP/1.1")).body, "bonjour");
    const post = await rawRequest(
      server.port,
      "POST /v1/chat/completions HTTP/1.1\r\ncontent-type: application/json",
      '{"model":"m"}',
    );
    assert.equal(post.status, 500);
    assert.match(post.body, /^Interaction Not Found\n/);
  } finally {
    await server.close();
  }
});

test("createHandler() for a bare-path cassette decodes the path and keeps the recorded query", async () => {
  const answer = (text: string) => [createChunk(text, 0, [["status_code", "200"]])];
  const recorded = createCassette([
    createInteraction(
      createRequest({ protocol: "http", action: "GET", target: "/é?q=é" }),
      answer("raw"),
    ),
    createInteraction(
      createRequest({ protocol: "http", action: "GET", target: "/x?q=%C3%A9" }),
      answer("escaped"),
    ),
    createInteraction(
      createRequest({ protocol: "http", action: "GET", target: "/x?q=a%26b" }),
      answer("ampersand"),
    ),
  ]);
  const handler = createHandler({ broker: createBroker({ cassette: recorded }) });
  const get = async (url: string) => {
    const response = await handler(new Request(url));
    return response.status === 200 ? await response.text() : response.status;
  };
  // A recording holding the raw character matches the client's escape of it, and the reverse.
  assert.equal(await get("http://h/%C3%A9?q=%C3%A9"), "raw");
  assert.equal(await get("http://h/x?q=%C3%A9"), "escaped");
  // An escaped delimiter is not a delimiter: a%26b is not a&b.
  assert.equal(await get("http://h/x?q=a%26b"), "ampersand");
  assert.equal(await get("http://h/x?q=a&b"), 500);
  // A decoded "#" ends the path, as the ancestor's URL parser ends it.
  const fragment = createHandler({
    broker: createBroker({
      cassette: createCassette([
        createInteraction(
          createRequest({ protocol: "http", action: "GET", target: "/a" }),
          answer("a"),
        ),
      ]),
    }),
  });
  assert.equal(await (await fragment(new Request("http://h/a%23b?c=1"))).text(), "a");
});

test("createReplayFetch() with headerSchema matches any cassette on its recordings' header names", async () => {
  const url = "https://api.example.com/v1/models";
  const recording = (accept: string, text: string) =>
    createInteraction(
      createRequest({
        protocol: "http",
        action: "GET",
        target: url,
        headers: [["accept", accept]],
      }),
      [createChunk(text, 0, [["status_code", "200"]])],
    );
  const recorded = createCassette([
    recording("application/json", "json"),
    recording("text/csv", "csv"),
  ]);
  for (
    const broker of [
      createBroker({ cassette: recorded, headerSchema: true }),
      createAsyncBroker({ cassette: recorded, headerSchema: true }),
    ]
  ) {
    const fetch = createReplayFetch(broker);
    assert.equal(
      await (await fetch(url, { headers: { accept: "text/csv", "x-other": "1" } })).text(),
      "csv",
    );
    assert.equal(
      await (await fetch(url, { headers: { Accept: "application/json" } })).text(),
      "json",
    );
    await assert.rejects(fetch(url), InteractionNotFoundError);
  }
  // Without the option, the request's own (unmatched) headers decide: a miss.
  await assert.rejects(
    createReplayFetch(createBroker({ cassette: recorded }))(url, {
      headers: { accept: "text/csv" },
    }),
    InteractionNotFoundError,
  );
});

test("headerSchema tries the recordings in cassette order and plays repeated ones in sequence", () => {
  const target = "/poll";
  const request = (headers: [string, string][]) =>
    createRequest({ protocol: "http", action: "GET", target, headers });
  const answer = (text: string) => [text];
  const recorded = createCassette([
    createInteraction(request([["x-tenant", "a"]]), answer("a1")),
    createInteraction(request([]), answer("plain")),
    createInteraction(request([["x-tenant", "a"]]), answer("a2")),
    // A recorded name in another case is looked up case-insensitively and kept as recorded.
    createInteraction(request([["X-Tenant", "b"]]), answer("b")),
  ]);
  const text = (chunks: Iterable<{ data: Uint8Array }>) =>
    [...chunks].map((chunk) => new TextDecoder().decode(chunk.data)).join("");
  const live = request([["x-tenant", "a"], ["user-agent", "test"]]);

  const first = createBroker({ cassette: recorded, headerSchema: true });
  assert.deepEqual([1, 2, 3].map(() => text(first.replay(live))), ["a1", "a1", "a1"]);

  const sequential = createBroker({
    cassette: recorded,
    headerSchema: true,
    playback: "sequential",
  });
  // a1 and a2 first, then the next candidate that still has an occurrence.
  assert.deepEqual([1, 2, 3].map(() => text(sequential.replay(live))), ["a1", "a2", "plain"]);
  assert.throws(() => sequential.replay(live), InteractionNotFoundError);

  const repeat = createBroker({
    cassette: recorded,
    headerSchema: true,
    playback: "sequential",
    afterLast: "repeat",
  });
  assert.deepEqual([1, 2, 3, 4].map(() => text(repeat.replay(live))), ["a1", "a2", "plain", "a2"]);

  const tenantB = createBroker({ cassette: recorded, headerSchema: true });
  assert.equal(text(tenantB.replay(request([["x-tenant", "b"]]))), "plain");
  assert.equal(text(tenantB.replay(request([["x-tenant", "c"]]))), "plain");
  const onlyB = createBroker({
    cassette: createCassette([recorded.interactions[3]!]),
    headerSchema: true,
  });
  assert.equal(text(onlyB.replay(request([["x-tenant", "b"]]))), "b");
  assert.throws(() => onlyB.replay(request([["x-tenant", "c"]])), InteractionNotFoundError);
});

test("headerSchema normalises and redacts each candidate as the request itself", () => {
  const target = "/secret";
  const recorded = createCassette([
    createInteraction(
      createRequest({
        protocol: "http",
        action: "GET",
        target,
        headers: [["authorization", "Bearer old"]],
      }),
      ["from an unredacted recording"],
    ),
  ]);
  const live = createRequest({
    protocol: "http",
    action: "GET",
    target,
    headers: [["authorization", "Bearer old"]],
  });
  // The default redactor replaces the live credential, so the candidate is
  // not the recording's (as with matchHeaders); without redaction it is.
  assert.throws(
    () => createBroker({ cassette: recorded, headerSchema: true }).replay(live),
    InteractionNotFoundError,
  );
  const chunks = [
    ...createBroker({ cassette: recorded, headerSchema: true, redact: false }).replay(live),
  ];
  assert.equal(new TextDecoder().decode(chunks[0]!.data), "from an unredacted recording");
  assert.throws(
    () => createBroker({ cassette: recorded, headerSchema: "yes" as unknown as boolean }),
    /headerSchema must be a boolean, got string "yes"/,
  );
});

test("createReplayFetch() with headerSchema records a miss without the headers it offered", async () => {
  const upstream = await startServer((_received, response) => void response.end("live"));
  try {
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "auto",
      headerSchema: true,
      liveResponder: createFetchResponder(),
    });
    const fetch = createReplayFetch(broker, { matchHeaders: ["x-tenant"] });
    const init = { headers: { authorization: "Bearer s3cret", "x-tenant": "acme", cookie: "a=b" } };
    assert.equal(await (await fetch(`${upstream.origin}/me`, init)).text(), "live");
    // The live service got every header; the cassette holds the matched one only.
    assert.equal(upstream.received[0]!.headers.authorization, "Bearer s3cret");
    const [stored] = broker.cassette.interactions;
    assert.deepEqual(stored!.request.headers, [["x-tenant", "acme"]]);
    assert.doesNotMatch(JSON.stringify(broker.cassette.interactions), /s3cret|a=b/);
    // The second call replays the recording through its header schema.
    assert.equal(await (await fetch(`${upstream.origin}/me`, init)).text(), "live");
    assert.equal(upstream.received.length, 1);
  } finally {
    await upstream.close();
  }
});
