import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  appendInteraction,
  type Cassette,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fingerprint,
  type Interaction,
  type InteractionRequest,
  InteractionValidationError,
  match,
  ReplayError,
} from "@x/replay";

const request = createRequest({ protocol: "http", action: "GET", target: "/x" });

function assertDeeplyFrozen(value: unknown, path = "value"): void {
  if (value instanceof Uint8Array || typeof value !== "object" || value === null) return;
  assert.ok(Object.isFrozen(value), `${path} is frozen`);
  for (const [key, child] of Object.entries(value)) assertDeeplyFrozen(child, `${path}.${key}`);
}

function validationError(path: string, message?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(
      error instanceof InteractionValidationError,
      `expected InteractionValidationError, got ${error}`,
    );
    assert.ok(error instanceof ReplayError);
    assert.equal(error.path, path);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  };
}

test("createRequest() returns a deeply frozen request with defaults", () => {
  const made = createRequest({ protocol: "grpc", action: "List", target: "svc" });
  assert.deepEqual(made.headers, []);
  assert.equal(made.body.length, 0);
  assertDeeplyFrozen(made);
  // Every empty body, given or not, is one frozen empty array: nothing to own.
  for (const body of ["", new Uint8Array(0), undefined]) {
    const empty = createRequest({ protocol: "grpc", action: "List", target: "svc", body }).body;
    assert.equal(empty.length, 0);
    assert.ok(Object.isFrozen(empty));
  }
});

test("createRequest() encodes string bodies as UTF-8 and copies byte bodies", () => {
  assert.deepEqual([...createRequest({ ...request, body: "é" }).body], [0xc3, 0xa9]);
  const bytes = new Uint8Array([1, 2, 3]);
  const made = createRequest({ ...request, body: bytes });
  bytes[0] = 99;
  assert.deepEqual([...made.body], [1, 2, 3]);
  const buffer = new Uint8Array([4, 5]).buffer;
  const fromBuffer = createRequest({ ...request, body: buffer });
  new Uint8Array(buffer)[0] = 0;
  assert.deepEqual([...fromBuffer.body], [4, 5]);
  assert.equal(
    Object.getPrototypeOf(createRequest({ ...request, body: new Uint8Array(2) }).body),
    Uint8Array.prototype,
  );
});

test("createRequest() accepts headers as pairs, records, Maps and keeps order and duplicates", () => {
  const pairs = [["b", "1"], ["a", "2"], ["b", "3"]] as const;
  assert.deepEqual(createRequest({ ...request, headers: pairs }).headers, pairs);
  assert.deepEqual(createRequest({ ...request, headers: { z: "1", a: "2" } }).headers, [
    ["z", "1"],
    ["a", "2"],
  ]);
  assert.deepEqual(createRequest({ ...request, headers: new Map([["k", "v"]]) }).headers, [[
    "k",
    "v",
  ]]);
  const mutable: [string, string][] = [["k", "v"]];
  const made = createRequest({ ...request, headers: mutable });
  mutable[0]![1] = "changed";
  mutable.push(["x", "y"]);
  assert.deepEqual(made.headers, [["k", "v"]]);
});

test("createRequest() rejects wrong types with the path of the value", () => {
  const bad = (init: unknown) => () => createRequest(init as Parameters<typeof createRequest>[0]);
  assert.throws(bad(null), validationError(""));
  assert.throws(
    bad({ action: "a", target: "t" }),
    validationError("protocol", "protocol: expected a string, got undefined"),
  );
  assert.throws(bad({ ...request, headers: [["k", 1]] }), validationError("headers[0][1]"));
  assert.throws(bad({ ...request, headers: [["k"]] }), validationError("headers[0]"));
  assert.throws(bad({ ...request, headers: 5 }), validationError("headers"));
  assert.throws(bad({ ...request, body: 5 }), validationError("body"));
  assert.throws(bad({ ...request, target: "\ud800" }), validationError("target"));
});

test("createChunk() copies data, validates the sequence and freezes", () => {
  const data = new Uint8Array([1]);
  const chunk = createChunk(data, 2, [["k", "v"]]);
  data[0] = 0;
  assert.deepEqual([...chunk.data], [1]);
  assert.equal(chunk.sequence, 2);
  assertDeeplyFrozen(chunk);
  for (const sequence of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    assert.throws(() => createChunk("x", sequence), validationError("sequence"));
  }
  assert.throws(() => createChunk(7 as unknown as string, 0), validationError("data"));
});

test("createInteraction() assigns sequences to bare pieces and computes the fingerprint", () => {
  const interaction = createInteraction(request, ["a", new Uint8Array([98]), createChunk("c", 2)]);
  assert.deepEqual(interaction.responseChunks.map((chunk) => chunk.sequence), [0, 1, 2]);
  assert.equal(interaction.fingerprint, fingerprint(request));
  assert.deepEqual(interaction.metadata, []);
  assertDeeplyFrozen(interaction);
});

test("createInteraction() takes any iterable of chunks", () => {
  function* pieces() {
    yield "x";
    yield "y";
  }
  assert.equal(createInteraction(request, pieces()).responseChunks.length, 2);
});

test("createInteraction() enforces the interaction rules with paths", () => {
  assert.throws(
    () => createInteraction(request, []),
    validationError("responseChunks", "responseChunks: expected at least one chunk, got none"),
  );
  assert.throws(
    () => createInteraction(request, [createChunk("a", 0), createChunk("b", 2)]),
    validationError("responseChunks[1].sequence", "responseChunks[1].sequence: expected 1, got 2"),
  );
  assert.throws(
    () => createInteraction(request, ["a"], { fingerprint: "0".repeat(64) }),
    validationError("fingerprint"),
  );
  assert.equal(
    createInteraction(request, ["a"], { fingerprint: fingerprint(request) }).fingerprint,
    fingerprint(request),
  );
  assert.throws(
    () => createInteraction(request, 5 as unknown as string[]),
    validationError("responseChunks"),
  );
  assert.throws(
    () => createInteraction({ ...request, body: 5 } as unknown as InteractionRequest, ["a"]),
    validationError("request.body"),
  );
});

test("createInteraction() validates a hand-built request and copies it", () => {
  const body = new Uint8Array([1]);
  const interaction = createInteraction({
    protocol: "p",
    action: "a",
    target: "t",
    headers: [],
    body,
  }, ["x"]);
  body[0] = 2;
  assert.deepEqual([...interaction.request.body], [1]);
  assertDeeplyFrozen(interaction);
});

test("createCassette() indexes every fingerprint with ascending positions", () => {
  const other = createRequest({ protocol: "http", action: "GET", target: "/y" });
  const cassette = createCassette([
    createInteraction(request, ["1"]),
    createInteraction(other, ["2"]),
    createInteraction(request, ["3"]),
  ]);
  assert.deepEqual(cassette.index.get(fingerprint(request)), [0, 2]);
  assert.deepEqual(cassette.index.get(fingerprint(other)), [1]);
  assert.equal(cassette.index.size, 2);
  assertDeeplyFrozen(cassette.interactions);
  assert.ok(Object.isFrozen(cassette));
});

test("createCassette() index cannot be modified", () => {
  const cassette = createCassette([createInteraction(request, ["1"])]);
  const index = cassette.index as Map<string, readonly number[]>;
  assert.throws(() => index.set("x", [1]), TypeError);
  assert.throws(() => index.delete(fingerprint(request)), TypeError);
  assert.throws(() => index.clear(), TypeError);
  assert.throws(() => (index.get(fingerprint(request)) as number[]).push(5), TypeError);
  assert.deepEqual(cassette.index.get(fingerprint(request)), [0]);
});

test("createCassette() validates plain interaction objects with their position", () => {
  const good = createInteraction(request, ["1"]);
  const plain = {
    ...good,
    responseChunks: [{ data: new Uint8Array([1]), sequence: 1, metadata: [] }],
  };
  assert.throws(
    () => createCassette([good, plain as unknown as Interaction]),
    validationError("interactions[1].responseChunks[0].sequence"),
  );
  const copy = createCassette([{ ...good } as Interaction]);
  assert.deepEqual(copy.interactions[0], good);
  assert.throws(
    () => createCassette(3 as unknown as Interaction[]),
    validationError("interactions"),
  );
});

test("appendInteraction() returns a new cassette and leaves the old one unchanged", () => {
  const first = createInteraction(request, ["1"]);
  const second = createInteraction(request, ["2"]);
  const empty = createCassette();
  const one = appendInteraction(empty, first);
  const two = appendInteraction(one, second);
  assert.equal(empty.interactions.length, 0);
  assert.equal(empty.index.size, 0);
  assert.equal(one.interactions.length, 1);
  assert.deepEqual(one.index.get(first.fingerprint), [0]);
  assert.deepEqual(two.index.get(first.fingerprint), [0, 1]);
  assert.equal(match(two, request), first);
  assert.ok(Object.isFrozen(two.interactions));
});

test("appendInteraction() rejects values that are not a cassette or an interaction", () => {
  assert.throws(
    () =>
      appendInteraction(
        { interactions: [] } as unknown as Cassette,
        createInteraction(request, ["1"]),
      ),
    validationError("cassette"),
  );
  assert.throws(
    () => appendInteraction(createCassette(), { request } as unknown as Interaction),
    validationError("interaction.responseChunks"),
  );
});

test("appendInteraction() builds the same index as createCassette() (property)", () => {
  const targets = fc.array(fc.constantFrom("/a", "/b", "/c", "/d"), { maxLength: 20 });
  fc.assert(
    fc.property(targets, (list) => {
      const interactions = list.map((target, i) =>
        createInteraction(createRequest({ protocol: "http", action: "GET", target }), [String(i)])
      );
      const appended = interactions.reduce(appendInteraction, createCassette());
      const built = createCassette(interactions);
      assert.deepEqual([...appended.index.entries()].sort(), [...built.index.entries()].sort());
      assert.deepEqual(appended.interactions, built.interactions);
    }),
  );
});
