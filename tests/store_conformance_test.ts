// One contract, run against every store (memory, JSON and YAML files, sync
// and async): what a broker may rely on when it saves and loads.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  appendInteraction,
  type Cassette,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  InteractionValidationError,
  memoryStore,
  replay,
} from "@x/replay";
import { cleanUpStores, contentOf, get, storeSubjects, texts } from "./_helpers.ts";

after(cleanUpStores);

// A cassette with everything a store must keep: binary bytes, metadata,
// several chunks, two interactions with one fingerprint, and a response with
// zero chunks (recorded through a broker, as it would be in practice).
function richCassette(): Cassette {
  const post = createRequest({
    protocol: "http",
    action: "POST",
    target: "/upload?x=1",
    headers: [["content-type", "image/png"], ["x-trace", "1"], ["x-trace", "2"]],
    body: new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]),
  });
  const base = createCassette([
    createInteraction(post, [
      createChunk("héllo\nworld\n", 0, [["status_code", "201"]]),
      new Uint8Array([0, 1, 2, 0xfe]),
      "",
    ], { metadata: [["recorded_at", "2026-01-05T00:00:00Z"]] }),
    createInteraction(post, ["second, never replayed"]),
  ]);
  const broker = createBroker({ cassette: base, mode: "record", liveResponder: () => [] });
  [...broker.replay(get("/empty"))];
  return broker.cassette;
}

for (const subject of storeSubjects) {
  const { name } = subject;

  test(`${name} loads an empty cassette before anything is saved`, async () => {
    const loaded = await subject.fresh().load();
    assert.equal(loaded.interactions.length, 0);
  });

  test(`${name} round-trips a cassette exactly`, async () => {
    const store = subject.fresh();
    const cassette = richCassette();
    await store.save(cassette);
    const loaded = await subject.reopen(store).load();
    assert.deepEqual(contentOf(loaded.interactions), contentOf(cassette.interactions));
    assert.deepEqual([...loaded.index], [...cassette.index]);
    const first = cassette.interactions[0]!.request;
    assert.deepEqual(texts([...replay(loaded, first)]), texts([...replay(cassette, first)]));
    assert.ok(Object.isFrozen(loaded));
  });

  test(`${name} keeps another writer's interactions when saving`, async () => {
    const first = subject.fresh();
    const second = subject.reopen(first);
    const start = await second.load();
    const a = createInteraction(get("/a"), ["a"]);
    const b = createInteraction(get("/b"), ["b"]);
    const c = createInteraction(get("/c"), ["c"]);
    const ours = appendInteraction(await first.load(), a);
    await first.save(ours);
    // The second writer never saw /a: its save must not drop it.
    await second.save(appendInteraction(start, b));
    await first.save(appendInteraction(ours, c));
    const loaded = await subject.reopen(first).load();
    assert.deepEqual(loaded.interactions.map((i) => i.request.target), ["/a", "/b", "/c"]);
  });

  test(`${name} adds nothing when the same cassette is saved again`, async () => {
    const store = subject.fresh();
    const cassette = richCassette();
    await store.save(cassette);
    await store.save(cassette);
    await subject.reopen(store).save(cassette);
    assert.deepEqual(
      contentOf((await store.load()).interactions),
      contentOf(cassette.interactions),
    );
  });

  test(`${name} keeps a repeated identical interaction as often as the cassette has it`, async () => {
    const store = subject.fresh();
    const twice = createCassette([
      createInteraction(get("/same"), ["x"]),
      createInteraction(get("/same"), ["x"]),
    ]);
    await store.save(twice);
    assert.equal((await subject.reopen(store).load()).interactions.length, 2);
  });

  test(`${name} save() rejects a value that is not a cassette`, async () => {
    const store = subject.fresh();
    await assert.rejects(
      async () => await store.save({ interactions: [] } as unknown as Cassette),
      InteractionValidationError,
    );
  });
}

test("memoryStore() starts from the initial cassette", () => {
  const initial = createCassette([createInteraction(get("/x"), ["x"])]);
  assert.equal(memoryStore(initial).load(), initial);
  assert.throws(() => memoryStore({} as Cassette), InteractionValidationError);
});
