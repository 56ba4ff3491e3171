// What the default redactor covers (ADR 0021), and how it changes a body:
// in place, only where a secret was (ADR 0026).
import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRedactor,
  createRequest,
  DEFAULT_REDACTED_JSON_FIELDS,
  DEFAULT_REDACTED_PATTERNS,
  DEFAULT_REDACTED_QUERY,
  fingerprint,
  type InteractionRequest,
} from "@x/replay";
import { TOKENS } from "./_secrets.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const base = { protocol: "http", action: "POST", target: "https://api.example/v1" };
const R = "[REDACTED]";
const E = "%5BREDACTED%5D";

test("createRedactor() defaults cover the headers where keys travel, in any case", () => {
  const redactor = createRedactor();
  for (const name of ["x-goog-api-key", "X-Amz-Security-Token", "X-Auth-Token", "Private-Token"]) {
    const redacted = redactor.request(createRequest({ ...base, headers: [[name, "s3cret"]] }));
    assert.deepEqual(redacted.headers, [[name, R]], name);
  }
  // Response headers are chunk metadata.
  const chunk = redactor.chunk!(
    createChunk("{}", 0, [["header:x-amz-security-token", "FQoG-session"], [
      "header:X-Goog-Api-Key",
      "k",
    ]]),
  );
  assert.deepEqual(chunk.metadata, [["header:x-amz-security-token", R], [
    "header:X-Goog-Api-Key",
    R,
  ]]);
});

test("createRedactor() defaults cover the query key and every case of the covered names", () => {
  const redactor = createRedactor();
  const redacted = redactor.request(createRequest({
    ...base,
    target:
      "https://maps.example/api?key=AIza-k&API_KEY=a&Access_Token=b&page=2&Client_Secret=c&X-Amz-Signature=d",
  }));
  assert.equal(
    redacted.target,
    `https://maps.example/api?key=${E}&API_KEY=${E}&Access_Token=${E}&page=2&Client_Secret=${E}&X-Amz-Signature=${E}`,
  );
});

test("createRedactor() defaults cover JSON fields at any depth and in any case", () => {
  const redactor = createRedactor();
  const body = JSON.stringify({
    user: "ada",
    password: "p",
    client_secret: "cs",
    nested: [{ access_token: "at", Refresh_Token: "rt" }, { ID_TOKEN: "it", api_key: 7 }],
    idToken: "camel",
    keep: { secret: false, password: null, token: "a-cursor" },
  });
  const redacted = text(redactor.request(createRequest({ ...base, body })).body);
  assert.deepEqual(JSON.parse(redacted), {
    user: "ada",
    password: R,
    client_secret: R,
    nested: [{ access_token: R, Refresh_Token: R }, { ID_TOKEN: R, api_key: R }],
    idToken: R,
    // null and booleans hold no secret; generic names are not defaults.
    keep: { secret: false, password: null, token: "a-cursor" },
  });
  for (const name of ["password", "client_secret", "access_token", "refresh_token", "id_token"]) {
    assert.ok(DEFAULT_REDACTED_JSON_FIELDS.includes(name), name);
  }
  assert.ok(DEFAULT_REDACTED_QUERY.includes("key"));
});

test("createRedactor() defaults cover form bodies with the same names", () => {
  const redactor = createRedactor();
  const body = "grant_type=refresh_token&Refresh_Token=rt-1&client_id=app&client_secret=cs%2F1" +
    "&password=hunter2&scope=read+write";
  const redacted = text(
    redactor.request(createRequest({
      ...base,
      headers: [["content-type", "application/x-www-form-urlencoded"]],
      body,
    })).body,
  );
  assert.equal(
    redacted,
    `grant_type=refresh_token&Refresh_Token=${E}&client_id=app&client_secret=${E}` +
      `&password=${E}&scope=read+write`,
  );
  // A response body in form encoding (as some OAuth servers answer) too.
  const chunk = redactor.chunk!(createChunk("access_token=gho_x&scope=repo&token_type=bearer", 0));
  assert.equal(text(chunk.data), `access_token=${E}&scope=repo&token_type=bearer`);
});

test("createRedactor() redacts form fields named by either list alone, in any case", () => {
  const body = (redactor: ReturnType<typeof createRedactor>, form: string) =>
    text(redactor.request(createRequest({ ...base, body: form })).body);
  // Names only DEFAULT_REDACTED_QUERY holds, with no JSON name anywhere in the
  // body. The first field has no "&" before it, so only the form rule sees it.
  for (const name of ["Sig", "KEY", "X-Amz-Signature"]) {
    assert.equal(body(createRedactor(), `${name}=s-1&b=2`), `${name}=${E}&b=2`, name);
  }
  // Each list alone, without the defaults.
  const onlyQuery = createRedactor({ includeDefaults: false, query: ["pin"] });
  assert.equal(body(onlyQuery, "PIN=1234&user=ada"), `PIN=${E}&user=ada`);
  const onlyJson = createRedactor({ includeDefaults: false, jsonFields: ["pin"] });
  assert.equal(body(onlyJson, "PIN=1234&user=ada"), `PIN=${E}&user=ada`);
  // A name in both lists, once.
  const both = createRedactor({ includeDefaults: false, query: ["pin"], jsonFields: ["pin"] });
  assert.equal(body(both, "pin=1234"), `pin=${E}`);
});

test("createRedactor() defaults cover user:password@ in URLs, in the target and in text", () => {
  const redactor = createRedactor();
  const redacted = redactor.request(createRequest({
    protocol: "postgres",
    action: "query",
    target: "postgres://app:s3cret@db.example:5432/main?sslmode=require",
    headers: [["x-upstream", "https://bot:tok3n@git.example/repo.git"]],
    body: "clone https://user:pa55word@git.example/x then run",
  }));
  assert.equal(redacted.target, `postgres://app:${E}@db.example:5432/main?sslmode=require`);
  assert.deepEqual(redacted.headers, [["x-upstream", `https://bot:${E}@git.example/repo.git`]]);
  assert.equal(text(redacted.body), `clone https://user:${E}@git.example/x then run`);
  // A secret query parameter in a URL inside a header or body, e.g. a redirect.
  const chunk = redactor.chunk!(
    createChunk('<a href="/cb?state=1&access_token=at-9">', 0, [[
      "header:location",
      "https://app.example/cb#access_token=at-9&expires_in=3600",
    ]]),
  );
  assert.equal(text(chunk.data), `<a href="/cb?state=1&access_token=${E}">`);
  assert.deepEqual(chunk.metadata, [[
    "header:location",
    `https://app.example/cb#access_token=${E}&expires_in=3600`,
  ]]);
});

test("createRedactor() defaults cover well-known token formats anywhere in a body or header", () => {
  const redactor = createRedactor();
  for (const [provider, token] of Object.entries(TOKENS)) {
    const request = createRequest({
      ...base,
      target: `https://api.example/echo/${token}`,
      headers: [["x-note", `uses ${token} today`]],
      body: JSON.stringify({ message: `the key is ${token}.`, n: 1 }),
    });
    const redacted = redactor.request(request);
    const all = JSON.stringify([redacted.target, redacted.headers, text(redacted.body)]);
    assert.ok(!all.includes(token), `${provider} leaked: ${all}`);
    assert.equal(text(redacted.body), JSON.stringify({ message: `the key is ${R}.`, n: 1 }));
    assert.deepEqual(redacted.headers, [["x-note", `uses ${R} today`]]);
    const chunk = redactor.chunk!(createChunk(`data: {"delta":"${token}"}\n\n`, 0));
    assert.equal(text(chunk.data), `data: {"delta":"${R}"}\n\n`, provider);
  }
  // Prose and identifiers that merely look alike are left alone.
  const prose = "task-runner, sk-learn-compatible-estimators, ghp_short, AKIA, eyJ, xoxb";
  assert.equal(text(redactor.chunk!(createChunk(prose, 0)).data), prose);
  assert.ok(DEFAULT_REDACTED_PATTERNS.every((pattern) => !pattern.global));
});

test("createRedactor() with includeDefaults false leaves all of that alone", () => {
  const redactor = createRedactor({ includeDefaults: false });
  const request = createRequest({
    ...base,
    target: `postgres://app:s3cret@db/x?key=k`,
    headers: [["authorization", TOKENS.github!]],
    body: JSON.stringify({ password: "p", token: TOKENS.openai }),
  });
  assert.equal(redactor.request(request), request);
});

test("createRedactor() changes a JSON body only where the secret was", () => {
  const redactor = createRedactor({ jsonFields: ["pin"] });
  const body = '{\n  "id": 12345678901234567890,\n  "big": 1e400,\n  "price": 1.10,\n' +
    '  "pin" : "0000",\t"list": [ 1.0, -0, 2E+3 ],\n  "password": {"nested": [1, 2]}\n}\n';
  const redacted = text(redactor.request(createRequest({ ...base, body })).body);
  assert.equal(
    redacted,
    '{\n  "id": 12345678901234567890,\n  "big": 1e400,\n  "price": 1.10,\n' +
      `  "pin" : "${R}",\t"list": [ 1.0, -0, 2E+3 ],\n  "password": "${R}"\n}\n`,
  );
  // Escapes in names are decoded before comparing; in values they are kept.
  const escaped = '{"pass\\u0077ord":"x","note":"a\\nb"}';
  assert.equal(
    text(redactor.request(createRequest({ ...base, body: escaped })).body),
    `{"pass\\u0077ord":"${R}","note":"a\\nb"}`,
  );
  // A placeholder that JSON must escape is written escaped.
  const quoting = createRedactor({ placeholder: 'say "no"' });
  const out = text(
    quoting.request(createRequest({ ...base, body: `{"a":"${TOKENS.aws}","password":"p"}` })).body,
  );
  assert.deepEqual(JSON.parse(out), { a: 'say "no"', password: 'say "no"' });
});

test("createRedactor() reads 10,000 levels of nesting without a stack overflow", () => {
  const depth = 10_000;
  const deep = `${"[".repeat(depth)}{"password":"p","b":1,"a":2}${"]".repeat(depth)}`;
  const redactor = createRedactor();
  const redacted = text(redactor.request(createRequest({ ...base, body: deep })).body);
  assert.equal(redacted, `${"[".repeat(depth)}{"password":"${R}","b":1,"a":2}${"]".repeat(depth)}`);
  // Deep objects too, and a deep text that is not JSON is left as it is.
  const objects = `${'{"password":'.repeat(depth)}1${"}".repeat(depth)}`;
  assert.equal(
    text(redactor.request(createRequest({ ...base, body: objects })).body),
    `{"password":"${R}"}`,
  );
  const broken = `${"[".repeat(depth)}{"password":"p"`;
  assert.equal(text(redactor.request(createRequest({ ...base, body: broken })).body), broken);
});

/** What redacting a parsed JSON value by name means, for comparison. */
function redactValue(value: unknown, fields: ReadonlySet<string>): unknown {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, fields));
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const secret = fields.has(key.toLowerCase()) && child !== null && typeof child !== "boolean";
    out[key] = secret ? R : redactValue(child, fields);
  }
  return out;
}

const jsonFieldNames = fc.constantFrom("password", "Access_Token", "id_token", "name", "value");

test("createRedactor() redacts JSON members in place, as redacting the parsed value would (property)", () => {
  const redactor = createRedactor({
    includeDefaults: false,
    jsonFields: ["password", "access_token", "id_token"],
  });
  const fields = new Set(["password", "access_token", "id_token"]);
  const value = fc.letrec((tie) => ({
    node: fc.oneof(
      { depthSize: "small" },
      fc.oneof(
        fc.string(),
        fc.integer(),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.boolean(),
        fc.constant(null),
      ),
      fc.array(tie("node")),
      fc.dictionary(jsonFieldNames, tie("node")),
    ),
  })).node;
  fc.assert(
    fc.property(value, fc.constantFrom(0, 2, "\t"), (input, indent) => {
      const original = JSON.stringify(input, null, indent);
      const request = createRequest({ ...base, body: original });
      const redacted = text(redactor.request(request).body);
      assert.deepEqual(JSON.parse(redacted), redactValue(JSON.parse(original), fields));
      // Idempotent, and without secrets byte for byte the same.
      assert.equal(
        text(redactor.request(createRequest({ ...base, body: redacted })).body),
        redacted,
      );
      if (JSON.stringify(redactValue(input, fields)) === JSON.stringify(input)) {
        assert.equal(redacted, original);
      }
    }),
  );
});

const secretValue = fc.stringMatching(/^S3CRET[a-z0-9]{6,12}$/);

test("createRedactor() defaults are idempotent and keep redacted recordings matching (property)", () => {
  const redactor = createRedactor();
  const placeOf = fc.constantFrom("header", "query", "json", "form", "userinfo", "token");
  const tokenOf = fc.constantFrom(...Object.values(TOKENS));
  const build = (place: string, secret: string, token: string): InteractionRequest => {
    switch (place) {
      case "header":
        return createRequest({ ...base, headers: [["X-Goog-Api-Key", secret]] });
      case "query":
        return createRequest({ ...base, target: `https://api.example/x?Key=${secret}&page=2` });
      case "json":
        return createRequest({ ...base, body: `{"a": 1, "Client_Secret": "${secret}"}` });
      case "form":
        return createRequest({ ...base, body: `a=1&refresh_token=${secret}` });
      case "userinfo":
        return createRequest({ ...base, target: `https://u:${secret}@api.example/x` });
      default:
        return createRequest({ ...base, body: `{"note": "token ${token} and ${secret}"}` });
    }
  };
  fc.assert(
    fc.property(placeOf, secretValue, secretValue, tokenOf, (place, one, other, token) => {
      const request = build(place, one, token);
      const redacted = redactor.request(request);
      assert.equal(redactor.request(redacted), redacted, "idempotent");
      const all = JSON.stringify([redacted.target, redacted.headers, text(redacted.body)]);
      if (place !== "token") assert.ok(!all.includes(one), all);
      assert.ok(!all.includes(token), all);
      // Recorded redacted, the interaction matches the next live request,
      // whatever its secret is this time.
      const stored = redactor.interaction(createInteraction(request, ["ok"]));
      assert.equal(stored.fingerprint, fingerprint(redacted));
      if (place !== "token") {
        assert.equal(fingerprint(redactor.request(build(place, other, token))), stored.fingerprint);
      }
      let live = 0;
      const broker = createBroker({
        cassette: createCassette([stored]),
        mode: "auto",
        liveResponder: () => (live++, ["live"]),
      });
      assert.equal(text([...broker.replay(request)][0]!.data), "ok");
      assert.equal(live, 0);
    }),
  );
});
