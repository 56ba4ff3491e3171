// HAR 1.2 in and out (@x/replay/har, ADR 0034): files in the shapes that
// Polly.js, Chrome's devtools and Playwright write (fixtures in
// fixtures/har/), replayed through fetch; export checked against the HAR 1.2
// schema (har-schema, with ajv) and against what Chromium's importer reads;
// and the round trip cassette -> HAR -> cassette as a property.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import AjvModule from "ajv";
import harSchemas from "har-schema";
import {
  type Cassette,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  InteractionNotFoundError,
  type Pairs,
  stringifyCassette,
} from "@x/replay";
import { createReplayFetch } from "@x/replay/fetch";
import { fromHar, HarFormatError, type HarSkip, toHar } from "@x/replay/har";

const fixture = (name: string) =>
  readFileSync(new URL(`./fixtures/har/${name}`, import.meta.url), "utf8");
const PLAYWRIGHT_FOLDER = new URL("./fixtures/har/playwright/", import.meta.url);
const readBeside = (name: string) => new Uint8Array(readFileSync(new URL(name, PLAYWRIGHT_FOLDER)));
const utf8 = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function metadataOf(cassette: Cassette, index: number): Pairs {
  return cassette.interactions[index]!.responseChunks[0]!.metadata;
}

function headersOf(cassette: Cassette, index: number): [string, string][] {
  return metadataOf(cassette, index)
    .filter(([key]) => key.startsWith("header:"))
    .map(([key, value]) => [key.slice("header:".length), value]);
}

// --- Polly.js -----------------------------------------------------------------

test("fromHar() reads a Polly.js recording.har and replays repeated requests in _order", async () => {
  const cassette = fromHar(fixture("polly-recording.har"));
  assert.equal(cassette.interactions.length, 8);
  const fetch = createReplayFetch(createBroker({ cassette, playback: "sequential" }));
  const states = [];
  for (let i = 0; i < 3; i++) {
    states.push(await (await fetch("http://localhost:3000/api/jobs/7")).json());
  }
  assert.deepEqual(states, [{ state: "queued" }, { state: "running" }, { state: "done" }]);
  await assert.rejects(fetch("http://localhost:3000/api/jobs/7"), InteractionNotFoundError);

  const created = await fetch("http://localhost:3000/api/users", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: "Bearer other" },
    body: '{"name":"Ada"}',
  });
  assert.equal(created.status, 201);
  assert.equal(created.statusText, "Created");
  assert.equal(created.headers.get("location"), "/api/users/1");
  assert.equal(await created.text(), '{"id":1,"name":"Ada"}\n');
  // Request headers are not kept by default: no credential reaches the cassette.
  assert.doesNotMatch(stringifyCassette(cassette), /polly-secret/);

  // The node-http adapter's raw gzip pieces come back decoded, as fetch decodes.
  const users = await fetch("http://localhost:3000/api/users?page=1");
  assert.equal(users.headers.get("content-encoding"), null);
  assert.deepEqual(await users.json(), {
    users: [{ id: 1, name: "Ada" }, { id: 2, name: "Grace" }],
  });

  const logo = new Uint8Array(
    await (await fetch("http://localhost:3000/static/logo.png")).arrayBuffer(),
  );
  assert.deepEqual([...logo.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

  const session = await fetch("http://localhost:3000/api/session");
  assert.deepEqual(session.headers.getSetCookie(), [
    "sid=abc; Path=/; HttpOnly",
    "theme=dark; Path=/",
  ]);
  assert.equal(session.headers.get("x-multi"), "a, b");
  const deleted = await fetch("http://localhost:3000/api/users/1", { method: "DELETE" });
  assert.equal(deleted.status, 204);
  assert.equal(await deleted.text(), "");
});

test("fromHar() keeps each repeated header line apart, sorted by name, with timing and date", () => {
  const cassette = fromHar(fixture("polly-recording.har"));
  const session = cassette.interactions.findIndex(({ request }) =>
    request.target.endsWith("/api/session")
  );
  assert.deepEqual(headersOf(cassette, session), [
    ["content-type", "text/plain"],
    ["set-cookie", "sid=abc; Path=/; HttpOnly"],
    ["set-cookie", "theme=dark; Path=/"],
    ["x-multi", "a"],
    ["x-multi", "b"],
  ]);
  const first = cassette.interactions[0]!;
  assert.deepEqual(first.metadata, [["recorded_at", "2026-01-05T10:00:00.000Z"]]);
  assert.deepEqual(metadataOf(cassette, 0), [
    ["status_code", "200"],
    ["status_text", "OK"],
    ["header:content-length", "18"],
    ["header:content-type", "application/json; charset=utf-8"],
    ["offset_ms", "5"],
  ]);
});

// --- Chrome devtools --------------------------------------------------------------

test("fromHar() reads a Chrome devtools HAR: redirects, decoded bodies, forms, h2 headers", async () => {
  const skipped: HarSkip[] = [];
  const cassette = fromHar(fixture("chrome-devtools.har"), {
    matchHeaders: ["x-tenant"],
    onSkip: (skip) => skipped.push(skip),
  });
  assert.deepEqual(skipped, [{
    path: "log.entries[5]",
    reason: "status 0: no response (a failed or blocked request)",
  }]);
  assert.equal(cassette.interactions.length, 6);
  const fetch = createReplayFetch(createBroker({ cassette }), { matchHeaders: ["x-tenant"] });

  const moved = await fetch("https://app.example.com/", { redirect: "manual" });
  assert.equal(moved.status, 301);
  assert.equal(moved.headers.get("location"), "https://www.example.com/");
  const home = await fetch(moved.headers.get("location")!);
  // Devtools saved the decoded page: the brotli header and length are not replayed with it.
  assert.equal(home.headers.get("content-encoding"), null);
  assert.equal(home.headers.get("content-length"), null);
  assert.equal(await home.text(), "<!doctype html><title>Example</title><h1>café</h1>\n");
  assert.deepEqual(headersOf(cassette, 1).filter(([name]) => name === "vary"), [
    ["vary", "Accept-Encoding"],
    ["vary", "Origin"],
  ]);

  const logo = await fetch("https://www.example.com/logo.png");
  assert.equal(logo.headers.get("content-length"), "70");
  assert.equal((await logo.arrayBuffer()).byteLength, 70);

  // The fragment is no part of the target; x-tenant is matched, the rest is not kept.
  const search = cassette.interactions[3]!.request;
  assert.equal(search.target, "https://www.example.com/api/search?lang=fr");
  assert.deepEqual(search.headers, [["x-tenant", "acme"]]);
  const found = await fetch("https://www.example.com/api/search?lang=fr", {
    method: "POST",
    headers: { "x-tenant": "acme", "content-type": "application/x-www-form-urlencoded" },
    body: "q=caf%C3%A9&page=2",
  });
  assert.equal(await found.text(), '{"results":[]}');
  await assert.rejects(
    fetch("https://www.example.com/api/search?lang=fr", {
      method: "POST",
      headers: { "x-tenant": "other" },
      body: "q=caf%C3%A9&page=2",
    }),
    InteractionNotFoundError,
  );

  // A multipart body matches whatever boundary the client's runtime picks, as with fetch.
  assert.match(utf8(cassette.interactions[4]!.request.body), /^--x-replay-[0-9a-f]{32}\r\n/);
  const boundary = "----formdata-other-0123456789";
  const body = utf8(cassette.interactions[4]!.request.body).replace(
    /x-replay-[0-9a-f]{32}/g,
    boundary,
  );
  const uploaded = await fetch("https://www.example.com/api/upload", {
    method: "POST",
    headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
    body,
  });
  assert.equal(uploaded.status, 201);

  const beacon = await fetch("https://www.example.com/beacon", {
    method: "POST",
    body: '{"event":"load"}',
  });
  assert.equal(beacon.status, 204);
  assert.equal(beacon.body, null);
});

// --- Playwright ------------------------------------------------------------------

test("fromHar() reads a Playwright recordHar with attached side files", async () => {
  const skipped: HarSkip[] = [];
  const cassette = fromHar(fixture("playwright/recording.har"), {
    readFile: readBeside,
    onSkip: (skip) => skipped.push(skip),
  });
  assert.deepEqual(skipped.map(({ path }) => path), ["log.entries[5]"]);
  assert.match(skipped[0]!.reason, /^status -1: no response/);
  const fetch = createReplayFetch(createBroker({ cassette }));
  assert.deepEqual(await (await fetch("https://shop.example.com/api/cart")).json(), {
    items: [{ sku: "A-1", qty: 2 }],
    total: "19.90",
  });
  const image = new Uint8Array(
    await (await fetch("https://shop.example.com/img/p.webp")).arrayBuffer(),
  );
  assert.equal(utf8(image.subarray(0, 4)), "RIFF");
  assert.equal(image.length, 34);
  // The login body is the attached file, not the params the text stands beside.
  const login = await fetch("https://shop.example.com/api/login", {
    method: "POST",
    body: "user=ada&pass=x+y%26z",
  });
  assert.equal(await login.text(), "logged in");
  assert.deepEqual(login.headers.getSetCookie(), ["sid=new; Path=/; Secure", "cart=1; Path=/"]);
  const old = await fetch("https://shop.example.com/old", { redirect: "manual" });
  assert.equal(old.status, 302);
  assert.equal(old.headers.get("location"), "https://shop.example.com/new");
  assert.equal(
    await (await fetch("https://shop.example.com/new")).text(),
    "<html><body>new home</body></html>",
  );
  const removed = await fetch("https://shop.example.com/api/cart/A-1", { method: "DELETE" });
  assert.equal(removed.status, 204);
  // Mixed-case header names from the wire are lower-cased, as fetch gives them.
  assert.deepEqual(headersOf(cassette, 0), [
    ["content-length", "49"],
    ["content-type", "application/json"],
  ]);
  assert.doesNotMatch(stringifyCassette(cassette), /pw-secret/);
});

test("fromHar() reads side files only by plain names, and only with a reader", () => {
  const har = (file: unknown) =>
    JSON.stringify({
      log: {
        entries: [{
          request: { method: "GET", url: "https://x.example/" },
          response: { status: 200, headers: [], content: { size: 1, mimeType: "x", _file: file } },
        }],
      },
    });
  assert.throws(
    () => fromHar(har("a.json")),
    (error: unknown) =>
      error instanceof HarFormatError &&
      error.path === "log.entries[0].response.content._file" &&
      /no readFile option/.test(error.message),
  );
  for (const name of ["../secret.json", "sub/a.json", "/etc/passwd", "C:\\x", "..", ""]) {
    let asked = false;
    assert.throws(
      () => fromHar(har(name), { readFile: () => ((asked = true), new Uint8Array()) }),
      (error: unknown) =>
        error instanceof HarFormatError && /plain file name beside the HAR/.test(error.message),
      name,
    );
    assert.equal(asked, false, name);
  }
  assert.throws(
    () =>
      fromHar(har("gone.json"), {
        readFile: () => {
          throw new Error("no such file");
        },
      }),
    /log\.entries\[0\]\.response\.content\._file: cannot read the side file "gone\.json": no such file/,
  );
});

// --- forms, redirects, bad input ---------------------------------------------------

test("fromHar() rebuilds form bodies from params and redirects from redirectURL", () => {
  const entry = (postData: unknown, response?: Record<string, unknown>) => ({
    startedDateTime: "2026-01-01T00:00:00Z",
    time: 1,
    request: { method: "POST", url: "https://x.example/form", headers: [], postData },
    response: { status: 200, headers: [], content: { size: 0, mimeType: "x" }, ...response },
    timings: { send: 0, wait: 1, receive: 0 },
  });
  const cassette = fromHar(JSON.stringify({
    log: {
      entries: [
        entry({
          mimeType: "application/x-www-form-urlencoded",
          params: [{ name: "q", value: "a b&c" }, { name: "n", value: "é" }],
        }),
        entry({
          mimeType: "multipart/form-data; boundary=XyZ",
          params: [
            { name: "title", value: "Hi" },
            { name: "f", value: "data", fileName: "f.txt", contentType: "text/plain" },
          ],
        }),
        entry(undefined, { status: 307, redirectURL: "https://x.example/there" }),
      ],
    },
  }));
  assert.equal(utf8(cassette.interactions[0]!.request.body), "q=a+b%26c&n=%C3%A9");
  const multipart = utf8(cassette.interactions[1]!.request.body);
  const boundary = /^--(x-replay-[0-9a-f]{32})\r\n/.exec(multipart)![1];
  assert.equal(
    multipart,
    `--${boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nHi\r\n` +
      `--${boundary}\r\nContent-Disposition: form-data; name="f"; filename="f.txt"\r\n` +
      `Content-Type: text/plain\r\n\r\ndata\r\n--${boundary}--\r\n`,
  );
  assert.deepEqual(headersOf(cassette, 2), [["location", "https://x.example/there"]]);
  assert.throws(
    () =>
      fromHar(
        JSON.stringify({
          log: { entries: [entry({ mimeType: "text/csv", params: [{ name: "a" }] })] },
        }),
      ),
    /log\.entries\[0\]\.request\.postData\.params: cannot rebuild a body of type "text\/csv"/,
  );
});

test("fromHar() names the place of every bad value", () => {
  const cases: [string, RegExp][] = [
    ["{", /^Cannot read HAR: invalid JSON: /],
    ["[]", /^HAR: expected an object, got an array of length 0$/],
    ['{"log": {}}', /^log\.entries: expected an array, got undefined$/],
    [
      '{"log": {"entries": [{"request": {}, "response": {"status": "200"}}]}}',
      /^log\.entries\[0\]\.response\.status: expected a number, got string "200"$/,
    ],
    [
      '{"log": {"entries": [{"request": {"method": "GET", "url": "/relative"}, "response": {"status": 200, "content": {}}}]}}',
      /^log\.entries\[0\]\.request\.url: expected an absolute URL, got string "\/relative"$/,
    ],
    [
      '{"log": {"entries": [{"request": {"method": "GET", "url": "https://x/"}, "response": {"status": 200, "content": {"text": "%%", "encoding": "base64"}}}]}}',
      /^log\.entries\[0\]\.response\.content\.text: expected base64, got string "%%"$/,
    ],
    [
      '{"log": {"entries": [{"request": {"method": "GET", "url": "https://x/", "headers": [{"name": "a"}]}, "response": {"status": 200, "content": {}}}]}}',
      /^log\.entries\[0\]\.request\.headers\[0\]\.value: expected a string, got undefined$/,
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => fromHar(text),
      (error: unknown) => error instanceof HarFormatError && message.test(error.message),
      text,
    );
  }
  assert.throws(() => fromHar(42 as unknown as string), TypeError);
});

test("fromHar() refuses options that are not an object", () => {
  const har = '{"log": {"version": "1.2", "entries": []}}';
  for (const [options, shown] of [["x", 'string "x"'], [[], "an array"], [null, "null"]] as const) {
    assert.throws(
      () => fromHar(har, options as never),
      (error: unknown) =>
        error instanceof TypeError &&
        error.message.startsWith(`Cannot read HAR: options must be an object, got ${shown}`),
      String(options),
    );
  }
  assert.equal(fromHar(har, undefined).interactions.length, 0);
});

// --- export ----------------------------------------------------------------------

// har-schema's files are draft-06 JSON Schema with two keywords of its own
// ("optional", "min"); ajv checks them as draft-07 (same meaning for every
// keyword they use) with the formats they name.
const Ajv = ((AjvModule as unknown as { default?: unknown }).default ?? AjvModule) as new (
  options: Record<string, unknown>,
) => {
  addFormat(name: string, check: (value: string) => boolean): void;
  addSchema(schema: unknown): void;
  getSchema(id: string): ((data: unknown) => boolean) & { errors?: unknown } | undefined;
};
const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addFormat(
  "date-time",
  (value) =>
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) &&
    !Number.isNaN(Date.parse(value)),
);
ajv.addFormat(
  "uri",
  (value) => /^[a-z][a-z0-9+.-]*:[\x21-\x7e]*$/i.test(value) && URL.canParse(value),
);
ajv.addFormat("ipv4", (value) => /^(\d{1,3}\.){3}\d{1,3}$/.test(value));
ajv.addFormat("ipv6", (value) => /^[0-9a-f:]+$/i.test(value));
for (const schema of Object.values(harSchemas as Record<string, Record<string, unknown>>)) {
  const { $schema: _draft, ...rest } = schema;
  ajv.addSchema(rest);
}
const validateHar = ajv.getSchema("har.json#")!;

function assertValidHar(text: string): void {
  const har = JSON.parse(text);
  assert.ok(validateHar(har), JSON.stringify(validateHar.errors, null, 2));
  // What Chromium's devtools importer (HARFormat.ts) requires of each value.
  assert.equal(typeof har.log.creator.name, "string");
  assert.ok(Array.isArray(har.log.entries));
  for (const entry of har.log.entries) {
    assert.ok(!Number.isNaN(new Date(entry.startedDateTime).getTime()));
    for (
      const number of [
        entry.time,
        entry.request.headersSize,
        entry.request.bodySize,
        entry.response.status,
        entry.response.headersSize,
        entry.response.bodySize,
        entry.response.content.size,
        entry.timings.send,
        entry.timings.wait,
        entry.timings.receive,
      ]
    ) {
      assert.equal(typeof number, "number");
      assert.ok(Number.isFinite(number));
    }
    assert.equal(typeof entry.response.httpVersion, "string");
    assert.equal(typeof entry.response.redirectURL, "string");
    assert.equal(typeof entry.response.content.mimeType, "string");
    for (const header of [...entry.request.headers, ...entry.response.headers]) {
      assert.equal(typeof header.name, "string");
      assert.equal(typeof header.value, "string");
    }
  }
}

test("the HAR schema check catches what it should", () => {
  const good = toHar(fromHar(fixture("polly-recording.har")));
  assertValidHar(good);
  const broken = JSON.parse(good);
  delete broken.log.entries[0].timings.wait;
  assert.equal(validateHar(broken), false);
  broken.log.entries[0].timings.wait = 1;
  broken.log.entries[0].request.url = "/not absolute";
  assert.equal(validateHar(broken), false);
});

/** The package's version: deno.json from source, the installed package.json in the npm check. */
function packageVersion(): string {
  for (const path of ["../deno.json", "../node_modules/@x/replay/package.json"]) {
    try {
      return JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")).version;
    } catch {
      // Not this layout.
    }
  }
  throw new Error("cannot find the package's version");
}

test("toHar() writes HAR 1.2 that devtools reads, with timing from the offsets", () => {
  const request = createRequest({
    protocol: "http",
    action: "POST",
    target: "https://api.example.com/v1/chat?stream=1",
    headers: [["content-type", "application/json"]],
    body: '{"stream":true}',
  });
  const cassette = createCassette([createInteraction(request, [
    createChunk("data: Hel\n\n", 0, [
      ["status_code", "200"],
      ["status_text", "OK"],
      ["header:content-type", "text/event-stream"],
      ["header:set-cookie", "a=1; Path=/"],
      ["header:set-cookie", "b=2"],
      ["offset_ms", "120.5"],
    ]),
    createChunk("data: lo\n\n", 1, [["offset_ms", "180"]]),
  ], { metadata: [["recorded_at", "2026-01-05T10:00:00Z"]] })]);
  const text = toHar(cassette);
  assertValidHar(text);
  const har = JSON.parse(text);
  assert.deepEqual(har.log.creator, { name: "@x/replay", version: packageVersion() });
  const [entry] = har.log.entries;
  assert.equal(entry.startedDateTime, "2026-01-05T10:00:00.000Z");
  assert.deepEqual(entry.timings, { send: 0, wait: 120.5, receive: 59.5 });
  assert.equal(entry.time, 180);
  assert.deepEqual(entry.request.queryString, [{ name: "stream", value: "1" }]);
  assert.deepEqual(entry.request.postData, {
    mimeType: "application/json",
    text: '{"stream":true}',
    params: [],
  });
  assert.deepEqual(entry.response.headers, [
    { name: "content-type", value: "text/event-stream" },
    { name: "set-cookie", value: "a=1; Path=/" },
    { name: "set-cookie", value: "b=2" },
  ]);
  assert.deepEqual(entry.response.cookies, [{ name: "a", value: "1" }, { name: "b", value: "2" }]);
  assert.deepEqual(entry.response.content, {
    size: 21,
    mimeType: "text/event-stream",
    text: "data: Hel\n\ndata: lo\n\n",
  });
  assert.deepEqual(entry._replay.chunks.map((chunk: { size: number }) => chunk.size), [11, 10]);
  assert.throws(
    () =>
      toHar(createCassette([createInteraction(
        createRequest({ protocol: "sql", action: "query", target: "db" }),
        ["row"],
      )])),
    /^RangeError: Cannot write HAR: interactions\[0\] has protocol "sql", and HAR holds HTTP exchanges only$/,
  );
});

test("fromHar() respects edits to an exported HAR and refuses a body that no longer fits", () => {
  const cassette = createCassette([createInteraction(
    createRequest({ protocol: "http", action: "GET", target: "/café" }),
    [
      createChunk("ab", 0, [["status_code", "200"], ["header:x-a", "1"], ["offset_ms", "3"]]),
      createChunk("cd", 1, [["offset_ms", "4"]]),
    ],
  )]);
  const har = JSON.parse(toHar(cassette));
  const [entry] = har.log.entries;
  assert.equal(entry.request.url, "http://localhost/caf%C3%A9");
  assert.equal(entry._replay.target, "/café");
  entry.response.status = 404;
  entry.response.headers.push({ name: "x-b", value: "2" });
  const edited = fromHar(JSON.stringify(har));
  assert.equal(edited.interactions[0]!.request.target, "/café");
  assert.deepEqual(metadataOf(edited, 0), [
    ["status_code", "404"],
    ["status_text", ""],
    ["header:x-a", "1"],
    ["header:x-b", "2"],
    ["offset_ms", "3"],
  ]);
  entry.response.content.text = "abcde";
  assert.throws(
    () => fromHar(JSON.stringify(har)),
    /^HarFormatError: log\.entries\[0\]\._replay\.chunks: the chunk sizes add up to 4 bytes but the body has 5/,
  );
});

const text = fc.oneof(fc.string(), fc.string({ unit: "grapheme" }));
const bytes = fc.oneof(
  text.map((value) => new TextEncoder().encode(value)),
  fc.uint8Array({ maxLength: 40 }),
);
const pairs = (keys: fc.Arbitrary<string>) => fc.array(fc.tuple(keys, text), { maxLength: 5 });
const metadataKey = fc.oneof(
  fc.constantFrom(
    "status_code",
    "status_text",
    "header:content-type",
    "header:set-cookie",
    "header:location",
    "offset_ms",
    "x-replay-empty-response",
  ),
  text,
);
const httpInteraction = fc.record({
  action: fc.oneof(fc.constantFrom("GET", "POST", "DELETE", "get"), text),
  target: fc.oneof(fc.webUrl({ withQueryParameters: true, withFragments: true }), text),
  headers: pairs(fc.oneof(fc.constantFrom("content-type", "cookie", "Accept"), text)),
  body: bytes,
  chunks: fc.array(fc.tuple(bytes, pairs(metadataKey)), { minLength: 1, maxLength: 4 }),
  metadata: pairs(fc.oneof(fc.constant("recorded_at"), text)),
}).map(({ action, target, headers, body, chunks, metadata }) =>
  createInteraction(
    createRequest({ protocol: "http", action, target, headers, body }),
    chunks.map(([data, chunkMetadata], i) => createChunk(data, i, chunkMetadata)),
    { metadata },
  )
);

test("fromHar(toHar(cassette)) is the cassette, and the HAR is valid HAR 1.2", () => {
  fc.assert(
    fc.property(fc.array(httpInteraction, { maxLength: 4 }), (interactions) => {
      const cassette = createCassette(interactions);
      const har = toHar(cassette);
      assertValidHar(har);
      const back = fromHar(har);
      assert.equal(stringifyCassette(back), stringifyCassette(cassette));
      assert.deepEqual(
        back.interactions.map(({ fingerprint }) => fingerprint),
        cassette.interactions.map(({ fingerprint }) => fingerprint),
      );
    }),
    { numRuns: 150 },
  );
});

test("toHar() of an imported HAR replays the same through fetch", async () => {
  const once = fromHar(fixture("chrome-devtools.har"));
  const twice = fromHar(toHar(once));
  assert.equal(stringifyCassette(twice), stringifyCassette(once));
  const fetch = createReplayFetch(createBroker({ cassette: twice }));
  assert.equal((await (await fetch("https://www.example.com/")).text()).length, 51);
});
