import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createChunk,
  createInteraction,
  createRedactor,
  createRequest,
  DEFAULT_REDACTED_HEADERS,
  fingerprint,
} from "@x/replay";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const base = { protocol: "http", action: "POST", target: "/" };

test("createRedactor() replaces the default secret headers in any case", () => {
  const redactor = createRedactor();
  const headers = DEFAULT_REDACTED_HEADERS.flatMap((name) =>
    [[name, "secret-1"], [name.toUpperCase(), "secret-2"]] as [string, string][]
  );
  const redacted = redactor.request(
    createRequest({ ...base, headers: [...headers, ["accept", "json"]] }),
  );
  assert.ok(redacted.headers.slice(0, -1).every(([, value]) => value === "[REDACTED]"));
  assert.deepEqual(redacted.headers.at(-1), ["accept", "json"]);
  assert.equal(redacted.headers.length, headers.length + 1);
});

test("createRedactor() adds header names, query names, JSON fields and patterns", () => {
  const redactor = createRedactor({
    headers: ["X-Session"],
    query: ["sig"],
    jsonFields: ["Password", "refresh_token"],
    patterns: [/sk-[a-z0-9]+/],
    placeholder: "<hidden>",
  });
  const redacted = redactor.request(createRequest({
    ...base,
    target: "/p?sig=abc&page=2&access_token=t0&key=sk-abc123",
    headers: [["x-session", "s"], ["x-note", "uses sk-zzz9 and sk-yyy8"]],
    body: '{"user":"ada","nested":{"password":"p","list":[{"REFRESH_TOKEN":"r"}]}}',
  }));
  assert.equal(
    redacted.target,
    "/p?sig=%3Chidden%3E&page=2&access_token=%3Chidden%3E&key=%3Chidden%3E",
  );
  assert.deepEqual(redacted.headers, [["x-session", "<hidden>"], [
    "x-note",
    "uses <hidden> and <hidden>",
  ]]);
  assert.equal(
    text(redacted.body),
    '{"user":"ada","nested":{"password":"<hidden>","list":[{"REFRESH_TOKEN":"<hidden>"}]}}',
  );
});

test("createRedactor() with includeDefaults false redacts only what it is told", () => {
  const redactor = createRedactor({ includeDefaults: false, headers: ["x-key"] });
  const redacted = redactor.request(
    createRequest({
      ...base,
      target: "/?api_key=1",
      headers: [["authorization", "a"], ["x-key", "k"]],
    }),
  );
  assert.deepEqual(redacted.headers, [["authorization", "a"], ["x-key", "[REDACTED]"]]);
  assert.equal(redacted.target, "/?api_key=1");
});

test("createRedactor() leaves non-UTF-8 bodies, and requests without secrets, untouched", () => {
  const redactor = createRedactor({ patterns: [/x/g], jsonFields: ["a"] });
  const binary = createRequest({ ...base, body: new Uint8Array([0xff, 0x78]) });
  assert.equal(redactor.request(binary), binary);
  const clean = createRequest({ ...base, body: '{"b":1}' });
  assert.equal(redactor.request(clean), clean);
});

test("createRedactor().interaction() redacts request, chunk data, chunk and interaction metadata", () => {
  const redactor = createRedactor({ jsonFields: ["access_token"] });
  const request = createRequest({ ...base, headers: [["Authorization", "Bearer live"]] });
  const interaction = createInteraction(request, [
    createChunk('{"access_token":"at-live","expires_in":3600}', 0, [["status_code", "200"], [
      "header:Set-Cookie",
      "id=1",
    ], ["cookie", "c"]]),
    createChunk('data: {"access_token":"at-2"}\n\ndata: [DONE]\n\n', 1),
    createChunk(new Uint8Array([0xff]), 2),
  ], { metadata: [["authorization", "copied"]] });
  const stored = redactor.interaction(interaction);
  assert.equal(stored.fingerprint, fingerprint(redactor.request(request)));
  assert.deepEqual(stored.request.headers, [["Authorization", "[REDACTED]"]]);
  assert.equal(
    text(stored.responseChunks[0]!.data),
    '{"access_token":"[REDACTED]","expires_in":3600}',
  );
  assert.deepEqual(stored.responseChunks[0]!.metadata, [["status_code", "200"], [
    "header:Set-Cookie",
    "[REDACTED]",
  ], ["cookie", "[REDACTED]"]]);
  assert.equal(
    text(stored.responseChunks[1]!.data),
    'data: {"access_token":"[REDACTED]"}\n\ndata: [DONE]\n\n',
  );
  assert.deepEqual([...stored.responseChunks[2]!.data], [0xff]);
  assert.deepEqual(stored.metadata, [["authorization", "[REDACTED]"]]);
  assert.equal(
    text(interaction.responseChunks[0]!.data).includes("at-live"),
    true,
    "the original is unchanged",
  );
});

test("createRedactor() rejects bad options", () => {
  assert.throws(() => createRedactor({ headers: [1 as unknown as string] }), TypeError);
  assert.throws(() => createRedactor({ patterns: ["x" as unknown as RegExp] }), TypeError);
  assert.throws(() => createRedactor({ placeholder: 5 as unknown as string }), TypeError);
});

test("createRedactor() is idempotent and hides every secret value (property)", () => {
  const secret = fc.stringMatching(/^S3CRET[a-z0-9]{6,12}$/);
  const redactor = createRedactor({ jsonFields: ["token"], query: ["sig"] });
  fc.assert(
    fc.property(
      secret,
      fc.constantFrom(
        "Authorization",
        "COOKIE",
        "x-api-key",
        "Api-Key",
        "proxy-authorization",
        "set-cookie",
      ),
      fc.constantFrom("sig", "access_token", "apikey", "client_secret"),
      (value, header, param) => {
        const request = createRequest({
          ...base,
          target: `/p?a=1&${param}=${value}`,
          headers: [[header, value]],
          body: JSON.stringify({ deep: [{ token: value }] }),
        });
        const interaction = redactor.interaction(
          createInteraction(request, [
            createChunk(JSON.stringify({ token: value }), 0, [[`header:${header}`, value]]),
          ]),
        );
        const all = JSON.stringify([
          interaction.request.target,
          interaction.request.headers,
          text(interaction.request.body),
          text(interaction.responseChunks[0]!.data),
          interaction.responseChunks[0]!.metadata,
        ]);
        assert.ok(!all.includes(value), all);
        assert.deepEqual(redactor.interaction(interaction), interaction);
        assert.equal(redactor.request(interaction.request), interaction.request);
      },
    ),
  );
});

test("createRedactor() chunk() redacts one chunk as interaction() would, and keeps a clean one", () => {
  const redactor = createRedactor({ jsonFields: ["token"] });
  const secret = createChunk('{"token":"sk-1","n":1}', 2, [["header:set-cookie", "id=9"]]);
  const redacted = redactor.chunk!(secret);
  assert.equal(new TextDecoder().decode(redacted.data), '{"token":"[REDACTED]","n":1}');
  assert.deepEqual(redacted.metadata, [["header:set-cookie", "[REDACTED]"]]);
  assert.equal(redacted.sequence, 2);
  const whole = redactor.interaction(
    createInteraction(createRequest({ protocol: "p", action: "a", target: "t" }), [
      createChunk(secret.data, 0, secret.metadata),
    ]),
  );
  assert.deepEqual(whole.responseChunks[0]!.data, redacted.data);
  // Redacting again changes nothing and returns the very chunk.
  assert.equal(redactor.chunk!(redacted), redacted);
  const clean = createChunk("nothing secret", 0);
  assert.equal(redactor.chunk!(clean), clean);
});
