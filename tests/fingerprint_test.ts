import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import {
  createRequest,
  fingerprint,
  type InteractionRequest,
  InteractionValidationError,
} from "@x/replay";
import { type PlainRequest, pythonFingerprints } from "./_python.ts";

interface Vector {
  readonly request: {
    readonly protocol: string;
    readonly action: string;
    readonly target: string;
    readonly headers: [string, string][];
    readonly body_hex: string;
  };
  readonly fingerprint: string;
}

const vectors: Vector[] = JSON.parse(
  readFileSync(new URL("./fixtures/fingerprints.json", import.meta.url), "utf8"),
).vectors;

function fromVector(vector: Vector): InteractionRequest {
  return createRequest({ ...vector.request, body: Buffer.from(vector.request.body_hex, "hex") });
}

// Strings with every kind of character json.dumps treats specially: quotes,
// backslashes, control characters, DEL, non-ASCII, astral symbols.
const text = fc.oneof(
  fc.string({ unit: "binary", maxLength: 24 }),
  fc.string({ unit: "binary-ascii", maxLength: 24 }),
  fc.string({
    unit: fc.constantFrom(
      '"',
      "\\",
      "\n",
      "\r",
      "\t",
      "\b",
      "\f",
      "\x00",
      "\x1f",
      "\x7f",
      "é",
      "😀",
      "\u2028",
      "\ufeff",
    ),
    maxLength: 12,
  }),
);
const plainRequest: fc.Arbitrary<PlainRequest> = fc.record({
  protocol: text,
  action: text,
  target: text,
  headers: fc.array(fc.tuple(text, text), { maxLength: 4 }),
  body: fc.uint8Array({ maxLength: 300 }),
});

test("fingerprint() matches every interposition 0.6 vector", () => {
  assert.ok(vectors.length >= 10);
  for (const vector of vectors) {
    assert.equal(
      fingerprint(fromVector(vector)),
      vector.fingerprint,
      JSON.stringify(vector.request),
    );
  }
});

test("fingerprint() oracle (CPython json.dumps) reproduces the interposition vectors", () => {
  const expected = vectors.map((vector) => vector.fingerprint);
  assert.deepEqual(pythonFingerprints(vectors.map(fromVector)), expected);
});

test("fingerprint() equals CPython's for generated unicode, control characters, astral symbols and bytes", () => {
  const samples = fc.sample(plainRequest, { numRuns: 600, seed: 20261123 });
  const ours = samples.map((sample) => fingerprint(createRequest(sample)));
  assert.deepEqual(ours, pythonFingerprints(samples));
});

test("fingerprint() equals CPython's for lone surrogates in a hand-built request", () => {
  const lone = {
    protocol: "p\ud800",
    action: "\udfff",
    target: "x\udc00y",
    headers: [["\ud83d", "v"]] as const,
    body: new Uint8Array(0),
  };
  assert.deepEqual([fingerprint(lone as InteractionRequest)], pythonFingerprints([lone]));
});

test("fingerprint() equals CPython's for bodies larger than one hashing slice", () => {
  const sizes = [16 * 1024 - 1, 16 * 1024, 16 * 1024 + 1, 64 * 1024 + 1, 300_000];
  const requests = sizes.map((size) => {
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i++) body[i] = (i * 31 + 7) & 0xff;
    return { protocol: "http", action: "PUT", target: "/blob", headers: [], body };
  });
  assert.deepEqual(
    requests.map((request) => fingerprint(createRequest(request))),
    pythonFingerprints(requests),
  );
});

test("fingerprint() stays CPython's when asked again, and follows body bytes and plain objects that change", () => {
  const samples = fc.sample(plainRequest, { numRuns: 200, seed: 20261201 });
  const sealed = samples.map((sample) => createRequest(sample));
  // Twice each: the second call may use what the first one kept.
  const once = sealed.map((request) => fingerprint(request));
  const twice = sealed.map((request) => fingerprint(request));
  const expected = pythonFingerprints(samples);
  assert.deepEqual(once, expected);
  assert.deepEqual(twice, expected);
  // A body's bytes cannot be frozen: writing into one changes the fingerprint.
  for (const request of sealed) {
    if (request.body.length > 0) request.body[0] = request.body[0]! ^ 0xff;
  }
  assert.deepEqual(sealed.map((request) => fingerprint(request)), pythonFingerprints(sealed));
  // A plain request-shaped object can change between calls.
  const plain: { target: string; headers: [string, string][] } & InteractionRequest = {
    protocol: "http",
    action: "GET",
    target: "/a",
    headers: [["k", "v"]],
    body: new Uint8Array(0),
  };
  const before = fingerprint(plain);
  plain.headers[0]![1] = "w\u00e9";
  plain.target = "/b";
  const after = fingerprint(plain);
  assert.deepEqual(
    [before, after],
    pythonFingerprints([{ ...plain, target: "/a", headers: [["k", "v"]] }, plain]),
  );
});

test("fingerprint() is deterministic", () => {
  fc.assert(
    fc.property(plainRequest, (sample) => {
      assert.equal(fingerprint(createRequest(sample)), fingerprint(createRequest(sample)));
    }),
  );
});

test("fingerprint() changes with every field", () => {
  fc.assert(
    fc.property(
      plainRequest,
      fc.constantFrom("protocol", "action", "target"),
      (sample, field) => {
        const changed = { ...sample, [field]: `${sample[field]}x` };
        assert.notEqual(fingerprint(createRequest(sample)), fingerprint(createRequest(changed)));
      },
    ),
  );
  fc.assert(
    fc.property(plainRequest, fc.uint8Array({ minLength: 1, maxLength: 4 }), (sample, extra) => {
      const body = new Uint8Array([...sample.body, ...extra]);
      assert.notEqual(
        fingerprint(createRequest(sample)),
        fingerprint(createRequest({ ...sample, body })),
      );
    }),
  );
  fc.assert(
    fc.property(plainRequest, text, text, (sample, key, value) => {
      const headers = [...sample.headers, [key, value] as const];
      assert.notEqual(
        fingerprint(createRequest(sample)),
        fingerprint(createRequest({ ...sample, headers })),
      );
    }),
  );
});

test("fingerprint() depends on header order", () => {
  fc.assert(
    fc.property(plainRequest, fc.tuple(text, text), fc.tuple(text, text), (sample, a, b) => {
      fc.pre(a[0] !== b[0] || a[1] !== b[1]);
      const ab = createRequest({ ...sample, headers: [a, b] });
      const ba = createRequest({ ...sample, headers: [b, a] });
      assert.notEqual(fingerprint(ab), fingerprint(ba));
    }),
  );
});

test("fingerprint() tells a string body from the same text elsewhere", () => {
  const inBody = createRequest({ protocol: "p", action: "a", target: "", body: "t" });
  const inTarget = createRequest({ protocol: "p", action: "a", target: "t" });
  assert.notEqual(fingerprint(inBody), fingerprint(inTarget));
});

test("fingerprint() rejects a malformed request with the path of the problem", () => {
  const cases: [unknown, string][] = [
    [null, "request"],
    [
      { protocol: 1, action: "a", target: "t", headers: [], body: new Uint8Array() },
      "request.protocol",
    ],
    [
      { protocol: "p", action: "a", target: "t", headers: {}, body: new Uint8Array() },
      "request.headers",
    ],
    [
      { protocol: "p", action: "a", target: "t", headers: [["k"]], body: new Uint8Array() },
      "request.headers[0]",
    ],
    [{ protocol: "p", action: "a", target: "t", headers: [], body: "text" }, "request.body"],
  ];
  for (const [value, path] of cases) {
    assert.throws(
      () => fingerprint(value as InteractionRequest),
      (error: unknown) => error instanceof InteractionValidationError && error.path === path,
      path,
    );
  }
});
