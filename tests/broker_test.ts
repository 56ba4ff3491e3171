import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type Cassette,
  CassetteSaveError,
  createBroker,
  createCassette,
  type InteractionRequest,
  InteractionValidationError,
  openBroker,
} from "@x/replay";
import { get, texts } from "./_helpers.ts";

test("createBroker() records and saves at the call, before the first chunk is read", () => {
  const events: string[] = [];
  const broker = createBroker({
    cassette: createCassette(),
    mode: "auto",
    liveResponder: () => (events.push("live"), ["x"]),
    store: { load: () => createCassette(), save: () => void events.push("saved") },
  });
  const iterator = broker.replay(get("/eager"));
  assert.deepEqual(events, ["live", "saved"]);
  assert.deepEqual(texts([...iterator]), ["x"]);
});

test("createBroker() gives a fresh iterator per call; an exhausted one stays exhausted", () => {
  const broker = createBroker({
    cassette: createCassette(),
    mode: "auto",
    liveResponder: () => ["a", "b"],
  });
  const first = broker.replay(get("/x"));
  assert.deepEqual(texts([...first]), ["a", "b"]);
  assert.deepEqual([...first], []);
  assert.deepEqual(texts([...broker.replay(get("/x"))]), ["a", "b"]);
});

test("createBroker() refuses a store whose save() returns a promise, and records nothing", () => {
  const broker = createBroker({
    cassette: createCassette(),
    mode: "auto",
    liveResponder: () => ["x"],
    store: {
      load: () => createCassette(),
      save: () => Promise.reject(new Error("async")) as unknown as void,
    },
  });
  assert.throws(
    () => broker.replay(get("/x")),
    (error: unknown) =>
      error instanceof TypeError && /use createAsyncBroker\(\)/.test(error.message),
  );
  assert.equal(broker.cassette.interactions.length, 0);
});

test("createBroker() rejects a live responder that returns a promise", () => {
  const broker = createBroker({
    cassette: createCassette(),
    mode: "record",
    liveResponder: (() => Promise.resolve(["x"])) as unknown as () => string[],
  });
  assert.throws(
    () => broker.replay(get("/x")),
    (error: unknown) =>
      error instanceof TypeError && /needs createAsyncBroker\(\)/.test(error.message),
  );
});

test("openBroker() refuses a store whose load() returns a promise", () => {
  assert.throws(
    () =>
      openBroker({
        load: () => Promise.resolve(createCassette()) as unknown as Cassette,
        save: () => {},
      }),
    (error: unknown) => error instanceof TypeError && /use openAsyncBroker\(\)/.test(error.message),
  );
});

test("createBroker() keeps a recording made by a live responder that uses the broker itself", () => {
  const broker: ReturnType<typeof createBroker> = createBroker({
    cassette: createCassette(),
    mode: "auto",
    liveResponder: (request: InteractionRequest) => {
      if (request.target === "/outer") return [`outer+${texts([...broker.replay(get("/inner"))])}`];
      return ["inner"];
    },
  });
  assert.deepEqual(texts([...broker.replay(get("/outer"))]), ["outer+inner"]);
  assert.deepEqual(broker.cassette.interactions.map((i) => i.request.target), ["/inner", "/outer"]);
});

test("createBroker() passes the live responder a frozen copy of a plain request", () => {
  let seen: InteractionRequest | undefined;
  const broker = createBroker({
    cassette: createCassette(),
    mode: "record",
    liveResponder: (request) => ((seen = request), ["x"]),
  });
  const body = new Uint8Array([1, 2]);
  [...broker.replay({ protocol: "p", action: "a", target: "t", headers: [], body })];
  body[0] = 9;
  assert.ok(Object.isFrozen(seen));
  assert.deepEqual([...seen!.body], [1, 2]);
});

test("createBroker() checks its options", () => {
  const cassette = createCassette();
  assert.throws(() => createBroker({ cassette: {} as Cassette }), InteractionValidationError);
  assert.throws(
    () =>
      createBroker({ cassette, mode: "auto", liveResponder: "http://x" as unknown as () => [] }),
    (error: unknown) =>
      error instanceof TypeError &&
      error.message ===
        'Cannot create broker: liveResponder must be a function, got string "http://x"',
  );
  assert.throws(
    () => createBroker({ cassette, store: { load: () => cassette } as never }),
    (error: unknown) =>
      error instanceof TypeError &&
      /store must have load\(\) and save\(\) methods/.test(error.message),
  );
  assert.throws(() => createBroker(undefined as never), TypeError);
});

test("createBroker() rejects a malformed request with InteractionValidationError", () => {
  const broker = createBroker({
    cassette: createCassette(),
    mode: "auto",
    liveResponder: () => ["x"],
  });
  assert.throws(
    () => broker.replay({ protocol: "http", action: 1 } as unknown as InteractionRequest),
    (error: unknown) =>
      error instanceof InteractionValidationError && error.path === "request.action",
  );
});

test("createBroker() returns a frozen broker whose cassette cannot be assigned", () => {
  const broker = createBroker({ cassette: createCassette() });
  assert.ok(Object.isFrozen(broker));
  assert.throws(() => {
    (broker as { cassette: Cassette }).cassette = createCassette();
  }, TypeError);
});

test("createBroker() keeps a CassetteSaveError thrown by the store as it is", () => {
  const failure = new CassetteSaveError("/x.json", new Error("EIO"));
  const broker = createBroker({
    cassette: createCassette(),
    mode: "auto",
    liveResponder: () => ["x"],
    store: {
      load: () => createCassette(),
      save: () => {
        throw failure;
      },
    },
  });
  assert.throws(() => broker.replay(get("/x")), (error) => error === failure);
});
