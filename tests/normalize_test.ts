import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  canonicalJsonBody,
  composeNormalizers,
  createCassette,
  createInteraction,
  createRequest,
  dropHeaders,
  dropQuery,
  fingerprint,
  type InteractionRequest,
  keepHeaders,
  lowercaseHeaderNames,
  match,
  type Normalizer,
  replay,
  sortHeaders,
  sortQuery,
} from "@x/replay";

const base = { protocol: "http", action: "GET", target: "/" };
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("keepHeaders() keeps only the named headers, any case, in order", () => {
  const request = createRequest({
    ...base,
    headers: [["Accept", "a"], ["X-Id", "1"], ["content-type", "c"], ["ACCEPT", "b"]],
  });
  assert.deepEqual(keepHeaders(["accept", "Content-Type"])(request).headers, [
    ["Accept", "a"],
    ["content-type", "c"],
    ["ACCEPT", "b"],
  ]);
  assert.deepEqual(keepHeaders([])(request).headers, []);
});

test("dropHeaders() removes the named headers, any case", () => {
  const request = createRequest({
    ...base,
    headers: [["Date", "x"], ["accept", "a"], ["DATE", "y"]],
  });
  assert.deepEqual(dropHeaders(["date"])(request).headers, [["accept", "a"]]);
});

test("lowercaseHeaderNames() lower-cases names and keeps values", () => {
  const request = createRequest({ ...base, headers: [["X-Mixed", "Value"], ["b", "B"]] });
  assert.deepEqual(lowercaseHeaderNames()(request).headers, [["x-mixed", "Value"], ["b", "B"]]);
});

test("sortHeaders() sorts by name and keeps repeated names in order", () => {
  const request = createRequest({
    ...base,
    headers: [["b", "1"], ["a", "2"], ["b", "0"], ["A", "3"]],
  });
  assert.deepEqual(sortHeaders()(request).headers, [["A", "3"], ["a", "2"], ["b", "1"], [
    "b",
    "0",
  ]]);
});

test("sortQuery() sorts parameters, keeps repeats, encodings and the fragment", () => {
  const sort = sortQuery();
  const at = (target: string) => sort(createRequest({ ...base, target })).target;
  assert.equal(at("/p?z=1&a=%20x&tag=b&tag=a#frag"), "/p?a=%20x&tag=b&tag=a&z=1#frag");
  assert.equal(at("https://h.example/p?b&a=&&c=3"), "https://h.example/p?a=&b&c=3");
  assert.equal(at("/no-query"), "/no-query");
  assert.equal(at("/empty?"), "/empty");
});

test("dropQuery() removes named parameters by decoded name", () => {
  const drop = dropQuery(["api key", "sig"]);
  const at = (target: string) => drop(createRequest({ ...base, target })).target;
  assert.equal(at("/p?api+key=s3cret&id=1&sig=x&api%20key=y"), "/p?id=1");
  assert.equal(at("/p?sig=1"), "/p");
  assert.equal(at("/p?bad=%zz&sig=1#f"), "/p?bad=%zz#f");
  assert.equal(at("/p"), "/p");
});

test("canonicalJsonBody() sorts keys and strips whitespace, leaving non-JSON alone", () => {
  const canonical = canonicalJsonBody();
  const body = (input: string | Uint8Array) =>
    canonical(createRequest({ ...base, body: input })).body;
  assert.equal(
    text(body('{\n  "b": {"y": 1, "x": [ 2, {"d": 0, "c": 1} ]},\n  "a": "é"\n}')),
    '{"a":"é","b":{"x":[2,{"c":1,"d":0}],"y":1}}',
  );
  assert.equal(text(body("not json")), "not json");
  assert.deepEqual([...body(new Uint8Array([0xff, 0x7b]))], [0xff, 0x7b]);
  assert.equal(body("").length, 0);
});

test("composeNormalizers() applies left to right and rejects non-functions", () => {
  const calls: string[] = [];
  const tag = (name: string): Normalizer => (request) => {
    calls.push(name);
    return request;
  };
  composeNormalizers(tag("a"), tag("b"))(createRequest(base));
  assert.deepEqual(calls, ["a", "b"]);
  const identity = composeNormalizers();
  const request = createRequest(base);
  assert.equal(identity(request), request);
  assert.throws(() => composeNormalizers(5 as unknown as Normalizer), TypeError);
});

test("normalisers return the same request object when nothing changes", () => {
  const request = createRequest({
    ...base,
    target: "/p?a=1&b=2",
    headers: [["a", "1"]],
    body: '{"a":1}',
  });
  for (
    const normalize of [
      keepHeaders(["a"]),
      dropHeaders(["x"]),
      lowercaseHeaderNames(),
      sortHeaders(),
      sortQuery(),
      dropQuery(["x"]),
      canonicalJsonBody(),
    ]
  ) {
    assert.equal(normalize(request), request);
  }
});

test("normalisers copy and validate a hand-built request", () => {
  const body = new Uint8Array([1]);
  const plain = { ...base, headers: [["k", "v"]], body } as unknown as InteractionRequest;
  const normalized = sortHeaders()(plain);
  body[0] = 2;
  assert.deepEqual([...normalized.body], [1]);
  assert.ok(Object.isFrozen(normalized));
});

// --- properties ---------------------------------------------------------------

const name = fc.constantFrom("Accept", "accept", "X-Id", "x-id", "Date", "content-type", "b", "B");
const param = fc.tuple(
  fc.constantFrom("a", "b", "z", "api%20key", "api+key", "sig", "_", "%zz"),
  fc.constantFrom("", "=", "=1", "=%20", "=x&"),
).map(([k, v]) => k + v);
const json = fc.json({ maxDepth: 3 });
const arbitraryRequest = fc.record({
  protocol: fc.constantFrom("http", "grpc"),
  action: fc.constantFrom("GET", "POST"),
  target: fc.tuple(
    fc.constantFrom("/p", "https://h.example/p"),
    fc.array(param, { maxLength: 6 }),
    fc.constantFrom("", "#f"),
  )
    .map(([path, params, fragment]) =>
      `${path}${params.length ? "?" : ""}${params.join("&")}${fragment}`
    ),
  headers: fc.array(fc.tuple(name, fc.constantFrom("1", "2", "x")), { maxLength: 6 }),
  body: fc.oneof(json, fc.string(), fc.uint8Array({ maxLength: 8 })),
}).map((init) => createRequest(init));

const normalizers: [string, Normalizer][] = [
  ["keepHeaders()", keepHeaders(["accept", "X-Id"])],
  ["dropHeaders()", dropHeaders(["date", "B"])],
  ["lowercaseHeaderNames()", lowercaseHeaderNames()],
  ["sortHeaders()", sortHeaders()],
  ["sortQuery()", sortQuery()],
  ["dropQuery()", dropQuery(["sig", "api key", "_"])],
  ["canonicalJsonBody()", canonicalJsonBody()],
  [
    "composeNormalizers()",
    composeNormalizers(
      lowercaseHeaderNames(),
      dropHeaders(["date"]),
      sortHeaders(),
      sortQuery(),
      dropQuery(["sig"]),
      canonicalJsonBody(),
    ),
  ],
];

for (const [label, normalize] of normalizers) {
  test(`${label} is idempotent (property)`, () => {
    fc.assert(
      fc.property(arbitraryRequest, (request) => {
        const once = normalize(request);
        const twice = normalize(once);
        assert.deepEqual(twice, once);
        assert.equal(fingerprint(twice), fingerprint(once));
      }),
      { numRuns: 300 },
    );
  });
}

test("sortQuery() and sortHeaders() make order irrelevant to the fingerprint (property)", () => {
  const normalize = composeNormalizers(sortHeaders(), sortQuery());
  fc.assert(
    fc.property(arbitraryRequest, fc.nat(), (request, seed) => {
      // A shuffle that keeps same-name entries in order: a stable sort on random keys grouped by name.
      const rank = (key: string) => (key.length * 7919 + seed) % 13;
      const headers = [...request.headers].sort(([a], [b]) =>
        rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0)
      );
      const shuffled = createRequest({ ...request, headers });
      assert.equal(fingerprint(normalize(shuffled)), fingerprint(normalize(request)));
    }),
  );
});

test("match() and replay() find an interaction recorded under the same normaliser (property)", () => {
  const normalize = composeNormalizers(
    lowercaseHeaderNames(),
    sortHeaders(),
    sortQuery(),
    canonicalJsonBody(),
  );
  fc.assert(
    fc.property(arbitraryRequest, (request) => {
      const cassette = createCassette([createInteraction(normalize(request), ["ok"])]);
      assert.equal(match(cassette, request, { normalize }), cassette.interactions[0]);
      assert.equal([...replay(cassette, request, { normalize })].length, 1);
    }),
  );
});

test("canonicalJsonBody() reads 10,000 levels of nesting without a stack overflow", () => {
  const depth = 10_000;
  const canonical = canonicalJsonBody();
  const deep = `${"[".repeat(depth)}{"password":"p","b":1,"a":2}${"]".repeat(depth)}`;
  assert.equal(
    text(canonical(createRequest({ ...base, body: deep })).body),
    `${"[".repeat(depth)}{"a":2,"b":1,"password":"p"}${"]".repeat(depth)}`,
  );
  const objects = `${'{"x":'.repeat(depth)}1${"}".repeat(depth)}`;
  assert.equal(text(canonical(createRequest({ ...base, body: objects })).body), objects);
  // A deep text that is not JSON is left as it is.
  const broken = `${"[".repeat(depth)}{"password":"p"`;
  assert.equal(text(canonical(createRequest({ ...base, body: broken })).body), broken);
});

test("canonicalJsonBody() keeps a member named __proto__", () => {
  const request = createRequest({ ...base, body: '{"b":1,"__proto__":{"a":2}}' });
  assert.equal(text(canonicalJsonBody()(request).body), '{"__proto__":{"a":2},"b":1}');
});

test("canonicalJsonBody() gives the same text at any depth (property)", () => {
  const normalize = canonicalJsonBody();
  fc.assert(
    fc.property(fc.json(), (json) => {
      const shallow = text(normalize(createRequest({ ...base, body: json })).body);
      // Deep enough that every runtime's recursive parser or printer gives out.
      const depth = 20_000;
      const wrapped = `${"[".repeat(depth)}${json}${"]".repeat(depth)}`;
      const deep = text(normalize(createRequest({ ...base, body: wrapped })).body);
      assert.equal(deep, `${"[".repeat(depth)}${shallow}${"]".repeat(depth)}`);
    }),
    { numRuns: 30 },
  );
});
