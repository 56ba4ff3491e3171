import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Cassette,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fingerprint,
  InteractionNotFoundError,
  type InteractionRequest,
  match,
  replay,
  replayAsync,
  type ResponseChunk,
} from "@x/replay";

const hit = createRequest({ protocol: "http", action: "POST", target: "/v1/chat", body: "{}" });
const miss = createRequest({ protocol: "http", action: "GET", target: "/nowhere" });
const cassette = createCassette([
  createInteraction(hit, [createChunk("Hel", 0, [["status_code", "200"]]), "lo", "!"]),
  createInteraction(hit, ["never replayed"]),
]);

const text = (chunk: ResponseChunk) => new TextDecoder().decode(chunk.data);

/** One way to drain a replay, so the same suite runs against both twins. */
interface Flavour {
  readonly name: string;
  readonly start: (cassette: Cassette, request: InteractionRequest) => {
    next(): Promise<IteratorResult<ResponseChunk>>;
  };
  readonly collect: (cassette: Cassette, request: InteractionRequest) => Promise<ResponseChunk[]>;
}

const flavours: Flavour[] = [
  {
    name: "replay()",
    start: (c, r) => {
      const iterator = replay(c, r);
      return { next: () => Promise.resolve(iterator.next()) };
    },
    collect: (c, r) => Promise.resolve([...replay(c, r)]),
  },
  {
    name: "replayAsync()",
    start: (c, r) => replayAsync(c, r),
    collect: async (c, r) => {
      const chunks: ResponseChunk[] = [];
      for await (const chunk of replayAsync(c, r)) chunks.push(chunk);
      return chunks;
    },
  },
];

for (const flavour of flavours) {
  test(`${flavour.name} yields the recorded chunks in order`, async () => {
    const chunks = await flavour.collect(cassette, hit);
    assert.deepEqual(chunks.map(text), ["Hel", "lo", "!"]);
    assert.deepEqual(chunks.map((chunk) => chunk.sequence), [0, 1, 2]);
    assert.deepEqual(chunks[0]!.metadata, [["status_code", "200"]]);
  });

  test(`${flavour.name} throws InteractionNotFoundError at the call, before any next()`, () => {
    const call = () => flavour.start(cassette, miss);
    assert.throws(call, (error: unknown) => {
      assert.ok(error instanceof InteractionNotFoundError);
      assert.equal(error.request, miss);
      assert.equal(error.fingerprint, fingerprint(miss));
      assert.equal(error.message, "No matching interaction for http:GET:/nowhere");
      return true;
    });
  });

  test(`${flavour.name} gives a fresh iterator per call and an exhausted one stays exhausted`, async () => {
    const first = flavour.start(cassette, hit);
    const second = flavour.start(cassette, hit);
    assert.equal(text((await first.next()).value as ResponseChunk), "Hel");
    assert.equal(text((await second.next()).value as ResponseChunk), "Hel");
    await first.next();
    await first.next();
    assert.equal((await first.next()).done, true);
    assert.equal((await first.next()).done, true);
    assert.equal(text((await second.next()).value as ResponseChunk), "lo");
  });

  test(`${flavour.name} replays the first of several interactions with one fingerprint`, async () => {
    for (let i = 0; i < 3; i++) {
      assert.deepEqual((await flavour.collect(cassette, hit)).map(text), ["Hel", "lo", "!"]);
    }
  });

  test(`${flavour.name} is lazy: it hands out one chunk per next()`, async () => {
    const iterator = flavour.start(cassette, hit);
    const step = await iterator.next();
    assert.equal(step.done, false);
    assert.equal((step.value as ResponseChunk).sequence, 0);
  });
}

test("replay() hands out the cassette's own frozen chunks, so replays are stable", () => {
  const [first] = replay(cassette, hit);
  assert.equal(first, cassette.interactions[0]!.responseChunks[0]);
  assert.ok(Object.isFrozen(first));
  assert.throws(() => {
    (first as { sequence: number }).sequence = 5;
  }, TypeError);
  assert.equal([...replay(cassette, hit)][0]!.sequence, 0);
});

test("replay() iterator is iterable (for-of and spread)", () => {
  const iterator = replay(cassette, hit);
  assert.equal(iterator[Symbol.iterator](), iterator);
});

test("replayAsync() iterator is async-iterable and can stop early", async () => {
  const iterator = replayAsync(cassette, hit);
  assert.equal(iterator[Symbol.asyncIterator](), iterator);
  for await (const chunk of iterator) {
    assert.equal(chunk.sequence, 0);
    break;
  }
  assert.equal((await iterator.next()).done, true);
});

test("match() returns the first interaction or undefined", () => {
  assert.equal(match(cassette, hit), cassette.interactions[0]);
  assert.equal(match(cassette, miss), undefined);
  assert.equal(match(createCassette(), hit), undefined);
});

test("match() and replay() accept an equal request built separately", () => {
  const again = createRequest({
    protocol: "http",
    action: "POST",
    target: "/v1/chat",
    body: new TextEncoder().encode("{}"),
  });
  assert.equal(match(cassette, again), cassette.interactions[0]);
  assert.equal([...replay(cassette, again)].length, 3);
});

// Arbitrary cassettes of a few requests (targets from a small pool, so
// fingerprints repeat) with arbitrary chunk bytes.
const recorded = fc.array(
  fc.record({
    target: fc.constantFrom("/a", "/b", "/c"),
    chunks: fc.array(fc.uint8Array({ maxLength: 8 }), { minLength: 1, maxLength: 5 }),
  }),
  { minLength: 1, maxLength: 12 },
);

function build(list: { target: string; chunks: Uint8Array[] }[]): Cassette {
  return createCassette(
    list.map(({ target, chunks }) =>
      createInteraction(createRequest({ protocol: "p", action: "a", target }), chunks)
    ),
  );
}

const bytesOf = (chunks: ResponseChunk[]) => chunks.map((chunk) => [...chunk.data]);

test("replay() yields exactly the recorded chunks of the first match, in order (property)", () => {
  fc.assert(
    fc.property(recorded, (list) => {
      const built = build(list);
      for (const { target } of list) {
        const request = createRequest({ protocol: "p", action: "a", target });
        const first = list.find((entry) => entry.target === target)!;
        assert.deepEqual(
          bytesOf([...replay(built, request)]),
          first.chunks.map((chunk) => [...chunk]),
        );
      }
    }),
  );
});

test("replay() twice gives equal sequences, and an exhausted iterator yields nothing more (property)", () => {
  fc.assert(
    fc.property(recorded, (list) => {
      const built = build(list);
      const request = createRequest({ protocol: "p", action: "a", target: list[0]!.target });
      const iterator = replay(built, request);
      const once = [...iterator];
      assert.deepEqual([...iterator], []);
      assert.deepEqual(once, [...replay(built, request)]);
    }),
  );
});

test("replayAsync() yields what replay() yields (property)", async () => {
  await fc.assert(
    fc.asyncProperty(recorded, async (list) => {
      const built = build(list);
      for (const { target } of list) {
        const request = createRequest({ protocol: "p", action: "a", target });
        const chunks: ResponseChunk[] = [];
        for await (const chunk of replayAsync(built, request)) chunks.push(chunk);
        assert.deepEqual(chunks, [...replay(built, request)]);
      }
    }),
  );
});

test("match() picks the first of duplicates (property)", () => {
  fc.assert(
    fc.property(recorded, (list) => {
      const built = build(list);
      for (const interaction of built.interactions) {
        const found = match(built, interaction.request);
        assert.equal(
          found,
          built.interactions.find((other) => other.fingerprint === interaction.fingerprint),
        );
      }
    }),
  );
});

// --- occurrences and timing ---------------------------------------------------

test("match() and replay() take the occurrence-th interaction of a repeated request", () => {
  assert.equal(match(cassette, hit, { occurrence: 1 }), cassette.interactions[1]);
  assert.deepEqual([...replay(cassette, hit, { occurrence: 1 })].map(text), ["never replayed"]);
  assert.equal(match(cassette, hit, { occurrence: 2 }), undefined);
  assert.throws(() => replay(cassette, hit, { occurrence: 2 }), (error: unknown) => {
    assert.ok(error instanceof InteractionNotFoundError);
    assert.equal(error.occurrence, 2);
    assert.equal(error.recorded, 2);
    assert.equal(
      error.message,
      "No matching interaction for http:POST:/v1/chat (occurrence 3 asked, 2 recorded)",
    );
    return true;
  });
  for (const occurrence of [-1, 0.5, Number.NaN]) {
    assert.throws(() => match(cassette, hit, { occurrence }), RangeError);
  }
});

test("replay() reports the normalised request on a miss", () => {
  const normalize = () => miss;
  assert.throws(() => replay(cassette, hit, { normalize }), (error: unknown) => {
    assert.ok(error instanceof InteractionNotFoundError);
    assert.equal(error.request, miss);
    return true;
  });
});

const timedRequest = createRequest({ protocol: "sse", action: "GET", target: "/events" });
const timedCassette = createCassette([
  createInteraction(timedRequest, [
    createChunk("a", 0, [["status_code", "200"], ["offset_ms", "120"]]),
    createChunk("b", 1, [["offset_ms", "120"]]),
    createChunk("c", 2),
    createChunk("d", 3, [["offset_ms", "400.5"]]),
    createChunk("e", 4, [["offset_ms", "bogus"]]),
  ]),
]);

/** A fake clock: records each wait and resolves it at once, logging the order of events. */
function fakeClock() {
  const log: string[] = [];
  const sleep = (ms: number) => {
    log.push(`sleep ${ms}`);
    return Promise.resolve();
  };
  return { log, sleep };
}

async function drain(options: Parameters<typeof replayAsync>[2], log: string[]): Promise<void> {
  for await (const chunk of replayAsync(timedCassette, timedRequest, options)) {
    log.push(text(chunk));
  }
}

test("replayAsync() waits the recorded gaps before each chunk with timing: recorded", async () => {
  const clock = fakeClock();
  await drain({ timing: "recorded", sleep: clock.sleep }, clock.log);
  assert.deepEqual(clock.log, ["sleep 120", "a", "b", "c", "sleep 280.5", "d", "e"]);
});

test("replayAsync() scales the recorded gaps", async () => {
  const clock = fakeClock();
  await drain({ timing: { scale: 2 }, sleep: clock.sleep }, clock.log);
  assert.deepEqual(clock.log, ["sleep 240", "a", "b", "c", "sleep 561", "d", "e"]);
  const instant = fakeClock();
  await drain({ timing: { scale: 0 }, sleep: instant.sleep }, instant.log);
  assert.deepEqual(instant.log, ["a", "b", "c", "d", "e"]);
});

test("replayAsync() ignores timing by default and rejects a bad scale", async () => {
  const clock = fakeClock();
  await drain({ sleep: clock.sleep }, clock.log);
  assert.deepEqual(clock.log, ["a", "b", "c", "d", "e"]);
  for (const timing of [{ scale: -1 }, { scale: Number.POSITIVE_INFINITY }, "fast"]) {
    assert.throws(
      () => replayAsync(timedCassette, timedRequest, { timing: timing as "none" }),
      RangeError,
    );
  }
});

test("replayAsync() with the real clock waits for the recorded gap", async () => {
  const request = createRequest({ protocol: "sse", action: "GET", target: "/slow" });
  const slow = createCassette([
    createInteraction(request, [createChunk("x", 0, [["offset_ms", "30"]])]),
  ]);
  let settled = false;
  const iterator = replayAsync(slow, request, { timing: "recorded" });
  const pending = iterator.next().then((step) => {
    settled = true;
    return step;
  });
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(settled, false);
  assert.equal(text((await pending).value as ResponseChunk), "x");
});
