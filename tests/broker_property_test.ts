import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type AsyncBroker,
  type Broker,
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createRequest,
  fingerprint,
  type InteractionRequest,
  memoryStore,
  openBroker,
  type ResponseChunk,
} from "@x/replay";

/** A request and the response the live service gives it. */
interface Exchange {
  readonly request: InteractionRequest;
  readonly response: readonly ResponseChunk[];
}

const exchange: fc.Arbitrary<Exchange> = fc.record({
  protocol: fc.constantFrom("http", "grpc"),
  action: fc.constantFrom("GET", "POST"),
  target: fc.string({ unit: "grapheme", maxLength: 6 }),
  headers: fc.array(fc.tuple(fc.constantFrom("a", "b"), fc.string({ maxLength: 3 })), {
    maxLength: 2,
  }),
  body: fc.uint8Array({ maxLength: 6 }),
  pieces: fc.array(
    fc.oneof(fc.string({ unit: "grapheme", maxLength: 5 }), fc.uint8Array({ maxLength: 5 })),
    {
      maxLength: 4,
    },
  ),
  status: fc.constantFrom("200", "404"),
}).map(({ pieces, status, ...init }) => ({
  request: createRequest(init),
  response: pieces.map((piece, i) =>
    createChunk(piece, i, i === 0 ? [["status_code", status]] : [])
  ),
}));

/** A pool of exchanges and a sequence of picks from it, so requests repeat. */
const scenario = fc.array(exchange, { minLength: 1, maxLength: 6 }).chain((pool) =>
  fc.record({
    pool: fc.constant(pool),
    picks: fc.array(fc.nat({ max: pool.length - 1 }), { minLength: 1, maxLength: 20 }),
  })
);

/**
 * Chunks as plain data, comparable across brokers and with the live answers:
 * the arrival offsets stamped while recording are timing, not content.
 */
function plain(chunks: readonly ResponseChunk[]): unknown[] {
  return chunks.map((chunk) => ({
    data: [...chunk.data],
    sequence: chunk.sequence,
    metadata: chunk.metadata.filter(([key]) => key !== "offset_ms"),
  }));
}

/** A live responder that answers from the pool and counts calls per fingerprint. */
function liveFrom(pool: readonly Exchange[]) {
  const calls = new Map<string, number>();
  const answers = new Map<string, readonly ResponseChunk[]>();
  // Equal requests in the pool share a fingerprint; the first answer counts.
  for (const { request, response } of [...pool].reverse()) {
    answers.set(fingerprint(request), response);
  }
  const live = (request: InteractionRequest) => {
    const key = fingerprint(request);
    calls.set(key, (calls.get(key) ?? 0) + 1);
    return answers.get(key)!;
  };
  return { live, calls, answers };
}

function runSync(broker: Broker, requests: readonly InteractionRequest[]): unknown[][] {
  return requests.map((request) => plain([...broker.replay(request)]));
}

async function runAsync(
  broker: AsyncBroker,
  requests: readonly InteractionRequest[],
): Promise<unknown[][]> {
  const results: unknown[][] = [];
  for (const request of requests) {
    const chunks: ResponseChunk[] = [];
    for await (const chunk of broker.replay(request)) chunks.push(chunk);
    results.push(plain(chunks));
  }
  return results;
}

test("createBroker() in auto mode calls the live responder once per distinct request and replays what it recorded", () => {
  fc.assert(
    fc.property(scenario, ({ pool, picks }) => {
      const { live, calls, answers } = liveFrom(pool);
      const store = memoryStore();
      const broker = createBroker({
        cassette: createCassette(),
        mode: "auto",
        liveResponder: live,
        store,
      });
      const requests = picks.map((pick) => pool[pick]!.request);
      const results = runSync(broker, requests);
      const distinct = new Set(requests.map(fingerprint));
      assert.deepEqual([...calls.keys()].sort(), [...distinct].sort());
      for (const count of calls.values()) assert.equal(count, 1);
      requests.forEach((request, i) => {
        assert.deepEqual(results[i], plain(answers.get(fingerprint(request))!));
      });
      // What was saved replays the same, from a fresh broker with no live responder.
      const replayer = openBroker(store);
      assert.deepEqual(runSync(replayer, requests), results);
      assert.equal(broker.cassette.interactions.length, distinct.size);
    }),
  );
});

test("createAsyncBroker() agrees with createBroker() on any sequence of requests, buffered or streaming", async () => {
  await fc.assert(
    fc.asyncProperty(
      scenario,
      fc.constantFrom("buffered", "streaming" as const),
      async ({ pool, picks }, recording) => {
        const requests = picks.map((pick) => pool[pick]!.request);
        const sync = liveFrom(pool);
        const expected = runSync(
          createBroker({ cassette: createCassette(), mode: "auto", liveResponder: sync.live }),
          requests,
        );
        const async = liveFrom(pool);
        const broker = createAsyncBroker({
          cassette: createCassette(),
          mode: "auto",
          recording,
          liveResponder: async function* (request) {
            yield* async.live(request);
          },
        });
        assert.deepEqual(await runAsync(broker, requests), expected);
        assert.deepEqual(async.calls, sync.calls);
      },
    ),
  );
});

test("createAsyncBroker() in auto mode calls the live responder once per distinct request even when all replays run at once", async () => {
  await fc.assert(
    fc.asyncProperty(
      scenario,
      fc.constantFrom("buffered", "streaming" as const),
      async ({ pool, picks }, recording) => {
        const { live, calls, answers } = liveFrom(pool);
        const broker = createAsyncBroker({
          cassette: createCassette(),
          mode: "auto",
          recording,
          store: memoryStore(),
          liveResponder: async (request) => {
            const answer = live(request);
            // Let every other replay start while this one is still live.
            await new Promise((resolve) => setTimeout(resolve, 0));
            return answer;
          },
        });
        const requests = picks.map((pick) => pool[pick]!.request);
        const results = await Promise.all(requests.map((request) => runAsync(broker, [request])));
        for (const count of calls.values()) assert.equal(count, 1);
        requests.forEach((request, i) => {
          assert.deepEqual(results[i]![0], plain(answers.get(fingerprint(request))!));
        });
        assert.equal(broker.cassette.interactions.length, new Set(requests.map(fingerprint)).size);
      },
    ),
    { numRuns: 50 },
  );
});
