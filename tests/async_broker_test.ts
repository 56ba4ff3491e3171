import { test } from "node:test";
import assert from "node:assert/strict";
import {
  type AsyncBroker,
  type Cassette,
  CassetteSaveError,
  createAsyncBroker,
  createCassette,
  createChunk,
  InteractionNotFoundError,
  type InteractionRequest,
  memoryStore,
  type ResponseChunk,
} from "@x/replay";
import { get, text, texts } from "./_helpers.ts";

async function collect(broker: AsyncBroker, request: InteractionRequest): Promise<string[]> {
  const chunks: ResponseChunk[] = [];
  for await (const chunk of broker.replay(request)) chunks.push(chunk);
  return texts(chunks);
}

/** A promise with its resolve function, to order events without timers. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

const shapes: ReadonlyArray<readonly [string, () => unknown]> = [
  ["an array", () => ["a", "b"]],
  ["a generator", function* () {
    yield "a";
    yield "b";
  }],
  ["an async generator", async function* () {
    yield "a";
    await Promise.resolve();
    yield createChunk("b", 1);
  }],
  ["a promise of an array", () => Promise.resolve(["a", "b"])],
  ["a promise of an async generator", () =>
    Promise.resolve((async function* () {
      yield "a";
      yield "b";
    })())],
  ["a ReadableStream", () =>
    new ReadableStream<string>({
      start(controller) {
        controller.enqueue("a");
        controller.enqueue("b");
        controller.close();
      },
    })],
];

for (const recording of ["buffered", "streaming"] as const) {
  for (const [shape, live] of shapes) {
    test(`createAsyncBroker() records a live response given as ${shape} (${recording})`, async () => {
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        recording,
        liveResponder: live as () => Iterable<string>,
      });
      assert.deepEqual(await collect(broker, get("/shape")), ["a", "b"]);
      assert.deepEqual(texts([...broker.cassette.interactions[0]!.responseChunks]), ["a", "b"]);
    });
  }

  test(`createAsyncBroker() passes a rejected live response through unchanged (${recording})`, async () => {
    const failure = new Error("timeout");
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "auto",
      recording,
      liveResponder: () => Promise.reject(failure),
    });
    await assert.rejects(collect(broker, get("/x")), (error) => error === failure);
    assert.equal(broker.cassette.interactions.length, 0);
  });

  test(`createAsyncBroker() records concurrent misses of one request once (${recording})`, async () => {
    const gate = deferred();
    let calls = 0;
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "auto",
      recording,
      store: memoryStore(),
      liveResponder: async function* (request) {
        calls++;
        await gate.promise;
        yield `one ${request.target}`;
        yield "two";
      },
    });
    const results = Promise.all([1, 2, 3, 4].map(() => collect(broker, get("/same"))));
    const other = collect(broker, get("/other"));
    gate.resolve();
    for (const result of await results) assert.deepEqual(result, ["one /same", "two"]);
    assert.deepEqual(await other, ["one /other", "two"]);
    assert.equal(calls, 2);
    assert.deepEqual(broker.cassette.interactions.map((i) => i.request.target).sort(), [
      "/other",
      "/same",
    ]);
  });

  test(`createAsyncBroker() shares a live failure with concurrent waiters, then retries (${recording})`, async () => {
    const gate = deferred();
    const failure = new Error("503");
    let calls = 0;
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "auto",
      recording,
      liveResponder: async () => {
        calls++;
        if (calls === 1) {
          await gate.promise;
          throw failure;
        }
        return ["ok"];
      },
    });
    const attempts = [collect(broker, get("/x")), collect(broker, get("/x"))];
    gate.resolve();
    for (const attempt of attempts) await assert.rejects(attempt, (error) => error === failure);
    assert.equal(calls, 1);
    assert.deepEqual(await collect(broker, get("/x")), ["ok"]);
    assert.equal(calls, 2);
  });

  test(`createAsyncBroker() saves recordings one at a time, each on top of the last (${recording})`, async () => {
    const saved: Cassette[] = [];
    let active = 0;
    let overlapped = false;
    const store = {
      load: () => Promise.resolve(createCassette()),
      save: async (cassette: Cassette) => {
        active++;
        overlapped ||= active > 1;
        await new Promise((resolve) => setTimeout(resolve, 1));
        saved.push(cassette);
        active--;
      },
    };
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "auto",
      recording,
      store,
      liveResponder: (request) => [request.target],
    });
    await Promise.all(["/a", "/b", "/c", "/d"].map((path) => collect(broker, get(path))));
    assert.equal(overlapped, false);
    assert.deepEqual(saved.map((cassette) => cassette.interactions.length), [1, 2, 3, 4]);
    assert.equal(saved[3], broker.cassette);
  });
}

test("createAsyncBroker() throws a replay-mode miss synchronously at the call", () => {
  const broker = createAsyncBroker({ cassette: createCassette() });
  assert.throws(() => broker.replay(get("/missing")), InteractionNotFoundError);
});

test("createAsyncBroker() does not call the live responder before the first next()", async () => {
  let calls = 0;
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    liveResponder: () => (calls++, ["x"]),
  });
  const iterator = broker.replay(get("/lazy"));
  assert.equal(calls, 0);
  await iterator.next();
  assert.equal(calls, 1);
});

test("createAsyncBroker() buffers by default: the whole live response is recorded before the first chunk", async () => {
  const events: string[] = [];
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    store: {
      load: () => createCassette(),
      save: () => void events.push("saved"),
    },
    liveResponder: async function* () {
      events.push("live 1");
      yield "1";
      events.push("live 2");
      yield "2";
    },
  });
  for await (const chunk of broker.replay(get("/b"))) events.push(`got ${text(chunk)}`);
  assert.deepEqual(events, ["live 1", "live 2", "saved", "got 1", "got 2"]);
});

test("createAsyncBroker() streams: chunks reach the consumer as they are produced, the save comes last", async () => {
  const events: string[] = [];
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    recording: "streaming",
    store: {
      load: () => createCassette(),
      save: () => void events.push("saved"),
    },
    liveResponder: async function* () {
      events.push("live 1");
      yield "1";
      events.push("live 2");
      yield "2";
    },
  });
  for await (const chunk of broker.replay(get("/s"))) events.push(`got ${text(chunk)}`);
  assert.deepEqual(events, ["live 1", "got 1", "live 2", "got 2", "saved"]);
  assert.equal(broker.cassette.interactions.length, 1);
});

test("createAsyncBroker() records nothing when a streaming consumer stops early, and closes the live stream", async () => {
  let closed = false;
  let saves = 0;
  let calls = 0;
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "auto",
    recording: "streaming",
    store: { load: () => createCassette(), save: () => void saves++ },
    liveResponder: async function* () {
      calls++;
      try {
        yield "1";
        yield "2";
        yield "3";
      } finally {
        closed = true;
      }
    },
  });
  for await (const chunk of broker.replay(get("/long"))) {
    assert.equal(text(chunk), "1");
    break;
  }
  assert.equal(closed, true);
  assert.equal(saves, 0);
  assert.equal(broker.cassette.interactions.length, 0);
  // Nothing partial is replayed: the next replay goes live again and records in full.
  assert.deepEqual(await collect(broker, get("/long")), ["1", "2", "3"]);
  assert.equal(calls, 2);
  assert.equal(saves, 1);
});

test("createAsyncBroker() lets a waiter record when the streaming recorder stops early", async () => {
  const gate = deferred();
  let calls = 0;
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "auto",
    recording: "streaming",
    liveResponder: async function* () {
      calls++;
      yield "1";
      await gate.promise;
      yield "2";
    },
  });
  const early = broker.replay(get("/x"));
  assert.equal(text((await early.next()).value as ResponseChunk), "1");
  const waiter = collect(broker, get("/x"));
  await early.return!(undefined);
  gate.resolve();
  assert.deepEqual(await waiter, ["1", "2"]);
  assert.equal(calls, 2);
  assert.equal(broker.cassette.interactions.length, 1);
});

test("createAsyncBroker() delivers streamed chunks, then records nothing when the live stream fails", async () => {
  const failure = new Error("stream reset");
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "auto",
    recording: "streaming",
    liveResponder: async function* () {
      yield "1";
      throw failure;
    },
  });
  const got: string[] = [];
  await assert.rejects(async () => {
    for await (const chunk of broker.replay(get("/x"))) got.push(text(chunk));
  }, (error) => error === failure);
  assert.deepEqual(got, ["1"]);
  assert.equal(broker.cassette.interactions.length, 0);
});

test("createAsyncBroker() reports a failed streaming save after the last chunk and keeps its cassette", async () => {
  const failure = new Error("EROFS: read-only file system");
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "auto",
    recording: "streaming",
    store: { load: () => createCassette(), save: () => Promise.reject(failure) },
    liveResponder: () => ["1", "2"],
  });
  const got: string[] = [];
  await assert.rejects(async () => {
    for await (const chunk of broker.replay(get("/x"))) got.push(text(chunk));
  }, (error: unknown) => error instanceof CassetteSaveError && error.cause === failure);
  assert.deepEqual(got, ["1", "2"]);
  assert.equal(broker.cassette.interactions.length, 0);
});

test("createAsyncBroker() records a streamed response with zero chunks", async () => {
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "auto",
    recording: "streaming",
    liveResponder: async function* () {},
  });
  assert.deepEqual(await collect(broker, get("/none")), []);
  assert.deepEqual(await collect(broker, get("/none")), []);
  assert.equal(broker.cassette.interactions.length, 1);
});

test("createAsyncBroker() rejects an unknown recording style", () => {
  assert.throws(
    () =>
      createAsyncBroker({
        cassette: createCassette(),
        recording: "eager" as "buffered",
      }),
    (error: unknown) =>
      error instanceof RangeError &&
      error.message ===
        'Cannot create broker: recording must be "buffered" or "streaming", got string "eager"',
  );
});
