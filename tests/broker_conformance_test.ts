// One suite run against both brokers (createBroker/openBroker and
// createAsyncBroker/openAsyncBroker) and, where a store is involved, against
// every store each broker accepts: interposition's record and persistence
// behaviour, scenario by scenario.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  type Cassette,
  CassetteLoadError,
  CassetteSaveError,
  type CassetteStore,
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  InteractionNotFoundError,
  type InteractionRequest,
  InteractionValidationError,
  LiveResponderRequiredError,
  openAsyncBroker,
  openBroker,
  parseCassette,
  type ResponseChunk,
  stringifyCassette,
} from "@x/replay";
import {
  type AnyStore,
  cleanUpStores,
  contentOf,
  get,
  type StoreSubject,
  storeSubjects,
  text,
  texts,
} from "./_helpers.ts";

after(cleanUpStores);

type Live = (request: InteractionRequest) => Iterable<ResponseChunk | string | Uint8Array>;

interface Options {
  readonly cassette: Cassette;
  readonly mode?: "replay" | "record" | "auto";
  readonly liveResponder?: Live;
  readonly store?: AnyStore;
}

/** A broker seen through one interface, whichever flavour it is. */
interface Subject {
  readonly mode: string;
  readonly cassette: Cassette;
  /** Calls `replay()`; whatever it throws at the call is thrown here. */
  call(request: InteractionRequest): { next(): Promise<IteratorResult<ResponseChunk>> };
  collect(request: InteractionRequest): Promise<ResponseChunk[]>;
}

interface Flavour {
  readonly create: string;
  readonly open: string;
  readonly stores: readonly StoreSubject[];
  make(options: Options): Subject;
  openFrom(
    store: AnyStore,
    options: { mode?: "replay" | "record" | "auto"; liveResponder?: Live },
  ): Promise<Subject>;
}

function syncSubject(broker: ReturnType<typeof createBroker>): Subject {
  return {
    get mode() {
      return broker.mode;
    },
    get cassette() {
      return broker.cassette;
    },
    call(request) {
      const iterator = broker.replay(request);
      return { next: () => Promise.resolve(iterator.next()) };
    },
    collect: (request) => Promise.resolve([...broker.replay(request)]),
  };
}

function asyncSubject(broker: ReturnType<typeof createAsyncBroker>): Subject {
  return {
    get mode() {
      return broker.mode;
    },
    get cassette() {
      return broker.cassette;
    },
    call: (request) => broker.replay(request),
    async collect(request) {
      const chunks: ResponseChunk[] = [];
      for await (const chunk of broker.replay(request)) chunks.push(chunk);
      return chunks;
    },
  };
}

const flavours: readonly Flavour[] = [
  {
    create: "createBroker()",
    open: "openBroker()",
    stores: storeSubjects.filter((subject) => subject.sync),
    make: (options) => syncSubject(createBroker(options as Parameters<typeof createBroker>[0])),
    openFrom: (store, options) =>
      Promise.resolve().then(() => syncSubject(openBroker(store as CassetteStore, options))),
  },
  {
    create: "createAsyncBroker()",
    open: "openAsyncBroker()",
    stores: storeSubjects,
    make: (options) => asyncSubject(createAsyncBroker(options)),
    openFrom: async (store, options) => asyncSubject(await openAsyncBroker(store, options)),
  },
];

/** A live responder that counts its calls and answers from the target. */
function counting(): Live & { calls: number } {
  const live = Object.assign((request: InteractionRequest) => {
    live.calls++;
    return [createChunk(`live ${request.target}`, 0, [["status_code", "200"]]), "!"];
  }, { calls: 0 });
  return live;
}

const recorded = createCassette([createInteraction(get("/known"), ["recorded"])]);

for (const flavour of flavours) {
  const { create, open } = flavour;

  for (const mode of ["record", "auto"] as const) {
    test(`${create} throws LiveResponderRequiredError at construction in ${mode} mode`, () => {
      assert.throws(
        () => flavour.make({ cassette: createCassette(), mode }),
        (error: unknown) => error instanceof LiveResponderRequiredError && error.mode === mode,
      );
    });

    test(`${open} throws LiveResponderRequiredError in ${mode} mode without loading`, async () => {
      let loads = 0;
      const store = { load: () => (loads++, createCassette()), save: () => {} };
      await assert.rejects(
        flavour.openFrom(store, { mode }),
        (error: unknown) => error instanceof LiveResponderRequiredError && error.mode === mode,
      );
      assert.equal(loads, 0);
    });
  }

  test(`${create} throws RangeError for an unknown mode`, () => {
    assert.throws(
      () => flavour.make({ cassette: createCassette(), mode: "playback" as "replay" }),
      (error: unknown) =>
        error instanceof RangeError &&
        error.message ===
          'Cannot create broker: mode must be "replay", "record" or "auto", got string "playback"',
    );
  });

  test(`${create} defaults to replay mode`, () => {
    assert.equal(flavour.make({ cassette: recorded }).mode, "replay");
  });

  test(`${create} throws InteractionNotFoundError at the call on a miss in replay mode`, () => {
    const live = counting();
    const broker = flavour.make({ cassette: recorded, liveResponder: live });
    const miss = get("/unknown");
    assert.throws(
      () => broker.call(miss),
      (error: unknown) =>
        error instanceof InteractionNotFoundError && error.request === miss &&
        error.message === "No matching interaction for http:GET:/unknown",
    );
    assert.equal(live.calls, 0);
  });

  test(`${create} replays a hit in replay mode`, async () => {
    assert.deepEqual(texts(await flavour.make({ cassette: recorded }).collect(get("/known"))), [
      "recorded",
    ]);
  });

  test(`${create} forwards and records a miss in auto mode`, async () => {
    const live = counting();
    const broker = flavour.make({ cassette: createCassette(), mode: "auto", liveResponder: live });
    const chunks = await broker.collect(get("/new"));
    assert.deepEqual(texts(chunks), ["live /new", "!"]);
    assert.deepEqual(chunks.map((chunk) => chunk.sequence), [0, 1]);
    // Recording stamps each chunk's arrival offset after what the live responder gave.
    assert.deepEqual(chunks[0]!.metadata.slice(0, -1), [["status_code", "200"]]);
    assert.ok(chunks.every((chunk) => chunk.metadata.at(-1)?.[0] === "offset_ms"));
    assert.equal(live.calls, 1);
    assert.equal(broker.cassette.interactions.length, 1);
    assert.deepEqual(broker.cassette.interactions[0]!.responseChunks, chunks);
  });

  test(`${create} does not call the live responder on a hit in auto mode`, async () => {
    const live = counting();
    const broker = flavour.make({ cassette: recorded, mode: "auto", liveResponder: live });
    assert.deepEqual(texts(await broker.collect(get("/known"))), ["recorded"]);
    assert.equal(live.calls, 0);
    assert.equal(broker.cassette, recorded);
  });

  test(`${create} forwards and records even on a hit in record mode`, async () => {
    const live = counting();
    const broker = flavour.make({ cassette: recorded, mode: "record", liveResponder: live });
    assert.deepEqual(texts(await broker.collect(get("/known"))), ["live /known", "!"]);
    assert.deepEqual(texts(await broker.collect(get("/known"))), ["live /known", "!"]);
    assert.equal(live.calls, 2);
    assert.equal(broker.cassette.interactions.length, 3);
    // As in interposition, the first interaction of a fingerprint keeps winning.
    const replayer = flavour.make({ cassette: broker.cassette });
    assert.deepEqual(texts(await replayer.collect(get("/known"))), ["recorded"]);
  });

  test(`${create} replaces its cassette instead of changing it`, async () => {
    const start = createCassette();
    const broker = flavour.make({ cassette: start, mode: "auto", liveResponder: counting() });
    await broker.collect(get("/a"));
    const afterFirst = broker.cassette;
    await broker.collect(get("/b"));
    assert.equal(start.interactions.length, 0);
    assert.equal(afterFirst.interactions.length, 1);
    assert.equal(broker.cassette.interactions.length, 2);
    assert.ok(Object.isFrozen(broker.cassette));
  });

  test(`${create} passes a live responder's error through unchanged and records nothing`, async () => {
    const failure = new Error("connection refused");
    const saves: Cassette[] = [];
    const broker = flavour.make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: () => {
        throw failure;
      },
      store: {
        load: () => createCassette(),
        save: (cassette: Cassette) => void saves.push(cassette),
      },
    });
    await assert.rejects(
      async () => await broker.collect(get("/down")),
      (error) => error === failure,
    );
    assert.equal(broker.cassette.interactions.length, 0);
    assert.equal(saves.length, 0);
  });

  test(`${create} passes an error thrown mid-response through unchanged and records nothing`, async () => {
    const failure = new Error("connection reset");
    const broker = flavour.make({
      cassette: createCassette(),
      mode: "record",
      liveResponder: function* () {
        yield "partial";
        throw failure;
      },
    });
    await assert.rejects(
      async () => await broker.collect(get("/flaky")),
      (error) => error === failure,
    );
    assert.equal(broker.cassette.interactions.length, 0);
  });

  test(`${create} records a response with zero chunks and replays it as zero chunks`, async () => {
    const live = counting();
    const broker = flavour.make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: (request) => (live(request), []),
    });
    assert.deepEqual(await broker.collect(get("/204")), []);
    assert.deepEqual(await broker.collect(get("/204")), []);
    assert.equal(live.calls, 1);
    // Stored as interposition requires (one chunk, sequence 0), and the file
    // form says what it is.
    const [interaction] = broker.cassette.interactions;
    assert.equal(interaction!.responseChunks.length, 1);
    assert.equal(interaction!.responseChunks[0]!.data.length, 0);
    assert.deepEqual(interaction!.responseChunks[0]!.metadata, [[
      "x-replay-empty-response",
      "true",
    ]]);
    const reloaded = parseCassette(stringifyCassette(broker.cassette, { format: "yaml" }), {
      format: "yaml",
    });
    assert.deepEqual(await flavour.make({ cassette: reloaded }).collect(get("/204")), []);
  });

  test(`${create} keeps a single empty chunk distinct from zero chunks`, async () => {
    const broker = flavour.make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: () => [""],
    });
    assert.deepEqual(texts(await broker.collect(get("/empty-body"))), [""]);
    assert.deepEqual(texts(await broker.collect(get("/empty-body"))), [""]);
  });

  test(`${create} rejects a live chunk with the wrong sequence and records nothing`, async () => {
    const broker = flavour.make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: () => [createChunk("a", 0), createChunk("b", 2)],
    });
    await assert.rejects(
      async () => await broker.collect(get("/bad")),
      (error: unknown) =>
        error instanceof InteractionValidationError &&
        error.message === "responseChunks[1].sequence: expected 1, got 2",
    );
    assert.equal(broker.cassette.interactions.length, 0);
  });

  test(`${create} rejects a live response that is a bare string with a TypeError`, async () => {
    const broker = flavour.make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: (() => "hello") as unknown as Live,
    });
    await assert.rejects(
      async () => await broker.collect(get("/s")),
      (error: unknown) =>
        error instanceof TypeError && /wrap a single chunk in an array/.test(error.message),
    );
  });

  test(`${create} throws CassetteSaveError before any chunk when the store's save throws, and keeps its cassette`, async () => {
    const diskFull = Object.assign(new Error("ENOSPC: no space left on device"), {
      code: "ENOSPC",
    });
    let failing = true;
    const saved: Cassette[] = [];
    const store = {
      path: "/cassettes/full.json",
      load: () => createCassette(),
      save: (cassette: Cassette) => {
        if (failing) throw diskFull;
        saved.push(cassette);
      },
    };
    const live = counting();
    const broker = flavour.make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: live,
      store,
    });
    const delivered: ResponseChunk[] = [];
    await assert.rejects(
      async () => {
        const iterator = broker.call(get("/x"));
        for (let step = await iterator.next(); !step.done; step = await iterator.next()) {
          delivered.push(step.value);
        }
      },
      (error: unknown) =>
        error instanceof CassetteSaveError && error.cause === diskFull &&
        error.path === "/cassettes/full.json" &&
        error.message ===
          'Cannot save cassette to "/cassettes/full.json": ENOSPC: no space left on device',
    );
    assert.deepEqual(delivered, []);
    // ADR 0011: memory never holds what the store refused...
    assert.equal(broker.cassette.interactions.length, 0);
    // ...so a retry asks the live responder again and saves once the disk is back.
    failing = false;
    assert.deepEqual(texts(await broker.collect(get("/x"))), ["live /x", "!"]);
    assert.equal(live.calls, 2);
    assert.equal(saved.length, 1);
    assert.equal(saved[0], broker.cassette);
  });

  test(`${open} wraps a failing load in CassetteLoadError with the cause`, async () => {
    const failure = new Error("backend unavailable");
    await assert.rejects(
      flavour.openFrom({
        load: () => {
          throw failure;
        },
        save: () => {},
      }, {}),
      (error: unknown) =>
        error instanceof CassetteLoadError && error.cause === failure && error.path === undefined &&
        error.message === "Cannot load cassette: backend unavailable",
    );
  });

  test(`${open} rejects a store whose load() returns something that is not a cassette`, async () => {
    await assert.rejects(
      flavour.openFrom({ load: () => ({}) as Cassette, save: () => {} }, {}),
      (error: unknown) =>
        error instanceof CassetteLoadError && error.cause instanceof InteractionValidationError,
    );
  });

  for (const storeSubject of flavour.stores) {
    const store = storeSubject.name;

    test(`${create} with ${store} saves a recording before delivering it`, async () => {
      const target = storeSubject.fresh();
      const broker = flavour.make({
        cassette: createCassette(),
        mode: "auto",
        liveResponder: counting(),
        store: target,
      });
      const iterator = broker.call(get("/saved-first"));
      const first = await iterator.next();
      assert.equal(text(first.value as ResponseChunk), "live /saved-first");
      const stored = await storeSubject.reopen(target).load();
      assert.deepEqual(contentOf(stored.interactions), contentOf(broker.cassette.interactions));
    });

    test(`${create} with ${store} writes a cassette that serialises and replays`, async () => {
      const target = storeSubject.fresh();
      const live = counting();
      const broker = flavour.make({
        cassette: createCassette(),
        mode: "auto",
        liveResponder: live,
        store: target,
      });
      const expected = new Map<string, string[]>();
      for (const path of ["/a", "/b", "/a", "/c"]) {
        expected.set(path, texts(await broker.collect(get(path))));
      }
      assert.equal(live.calls, 3);
      const stored = await storeSubject.reopen(target).load();
      for (const format of ["json", "yaml"] as const) {
        const copy = parseCassette(stringifyCassette(stored, { format }), { format });
        const replayer = flavour.make({ cassette: copy });
        for (const [path, chunks] of expected) {
          assert.deepEqual(texts(await replayer.collect(get(path))), chunks);
        }
      }
    });

    test(`${open} with ${store} replays in replay mode and throws on a miss`, async () => {
      const target = storeSubject.fresh();
      await target.save(recorded);
      const broker = await flavour.openFrom(storeSubject.reopen(target), {});
      assert.equal(broker.mode, "replay");
      assert.deepEqual(texts(await broker.collect(get("/known"))), ["recorded"]);
      assert.throws(() => broker.call(get("/unknown")), InteractionNotFoundError);
    });

    test(`${open} with ${store} in auto mode replays hits and persists misses`, async () => {
      const target = storeSubject.fresh();
      await target.save(recorded);
      const live = counting();
      const broker = await flavour.openFrom(storeSubject.reopen(target), {
        mode: "auto",
        liveResponder: live,
      });
      assert.deepEqual(texts(await broker.collect(get("/known"))), ["recorded"]);
      assert.deepEqual(texts(await broker.collect(get("/new"))), ["live /new", "!"]);
      assert.equal(live.calls, 1);
      const reopened = await flavour.openFrom(storeSubject.reopen(target), {});
      assert.deepEqual(texts(await reopened.collect(get("/new"))), ["live /new", "!"]);
      assert.equal(reopened.cassette.interactions.length, 2);
    });

    test(`${open} with ${store} in record mode forwards hits and persists every recording`, async () => {
      const target = storeSubject.fresh();
      await target.save(recorded);
      const live = counting();
      const broker = await flavour.openFrom(storeSubject.reopen(target), {
        mode: "record",
        liveResponder: live,
      });
      assert.deepEqual(texts(await broker.collect(get("/known"))), ["live /known", "!"]);
      assert.equal(live.calls, 1);
      const stored = await storeSubject.reopen(target).load();
      assert.deepEqual(stored.interactions.map((i) => texts([...i.responseChunks])), [
        ["recorded"],
        ["live /known", "!"],
      ]);
    });
  }
}
