import { test } from "node:test";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  appendInteraction,
  type Cassette,
  CassetteLoadError,
  createCassette,
  createChunk,
  createInteraction,
  fileStore,
  type Interaction,
  journalStore,
  journalStoreAsync,
  openAsyncBroker,
  openBroker,
  parseCassette,
} from "@x/replay";
import { get, strayFiles, texts, withFolder } from "./_helpers.ts";

function interaction(target: string, answer = `answer to ${target}`): Interaction {
  return createInteraction(get(target), [createChunk(answer, 0)]);
}

function cassetteOf(...targets: string[]): Cassette {
  return createCassette(targets.map((target) => interaction(target)));
}

function targetsOf(cassette: Cassette): string[] {
  return cassette.interactions.map((item) => item.request.target);
}

function journalLines(path: string): string[] {
  return readFileSync(`${path}.journal`, "utf8").split("\n").slice(0, -1);
}

test("journalStore() records through a broker and replays from the files", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const recorder = openBroker(journalStore(path, { createIfMissing: true }), {
      mode: "auto",
      liveResponder: (request) => [`live ${request.target}`, "done"],
    });
    for (const target of ["/a", "/b", "/c"]) [...recorder.replay(get(target))];

    const player = openBroker(journalStore(path));
    assert.deepEqual(texts([...player.replay(get("/b"))]), ["live /b", "done"]);
    assert.equal(journalLines(path).length, 3);
    // The snapshot alone is a normal cassette every other tool can read.
    assert.deepEqual(fileStore(path).load().interactions, []);
    assert.deepEqual(strayFiles(folder, "cassette.json", "cassette.json.journal"), []);
  });
});

test("journalStoreAsync() records through an async broker", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    const recorder = await openAsyncBroker(journalStoreAsync(path, { createIfMissing: true }), {
      mode: "auto",
      liveResponder: (request) => [`live ${request.target}`],
    });
    for (const target of ["/a", "/b"]) {
      for await (const _ of recorder.replay(get(target)));
    }
    assert.deepEqual(targetsOf(await journalStoreAsync(path).load()), ["/a", "/b"]);
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b"]);
  });
});

test("journalStore() save appends only new interactions and leaves the snapshot untouched", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const store = journalStore(path, { createIfMissing: true });
    store.save(cassetteOf("/a", "/b"));
    store.compact();
    const snapshot = readFileSync(path, "utf8");
    const snapshotInode = statSync(path).ino;

    let cassette = store.load();
    cassette = appendInteraction(cassette, interaction("/c"));
    store.save(cassette);
    assert.equal(journalLines(path).length, 1);
    const before = readFileSync(`${path}.journal`, "utf8");

    cassette = appendInteraction(cassette, interaction("/d"));
    cassette = appendInteraction(cassette, interaction("/e"));
    store.save(cassette);
    const after = readFileSync(`${path}.journal`, "utf8");
    assert.ok(after.startsWith(before));
    assert.equal(after.slice(before.length).split("\n").length - 1, 2);
    // Saving again, or from a fresh store that brings an overlapping copy, adds nothing.
    store.save(cassette);
    journalStore(path).save(cassetteOf("/a", "/e"));
    assert.equal(readFileSync(`${path}.journal`, "utf8"), after);

    assert.equal(readFileSync(path, "utf8"), snapshot);
    assert.equal(statSync(path).ino, snapshotInode);
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c", "/d", "/e"]);
  });
});

test("journalStore() keeps an interaction held twice in a cassette twice", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const store = journalStore(path, { createIfMissing: true });
    const twice = createCassette([interaction("/a"), interaction("/a")]);
    store.save(twice);
    store.save(twice);
    assert.equal(journalStore(path).load().interactions.length, 2);
  });
});

test("journalStore() loads to the same cassette as its compacted form", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const store = journalStore(path, { createIfMissing: true });
    store.save(cassetteOf("/a"));
    store.compact();
    store.save(cassetteOf("/a", "/b", "/c"));
    const binary = createInteraction(get("/bin"), [
      createChunk(new Uint8Array([0, 255, 1]), 0, [["status_code", "200"]]),
    ]);
    store.save(appendInteraction(store.load(), binary));
    const loaded = journalStore(path).load();

    store.compact();
    assert.ok(!existsSync(`${path}.journal`));
    const compacted = parseCassette(readFileSync(path, "utf8"));
    assert.deepEqual(loaded.interactions, compacted.interactions);
    assert.deepEqual(journalStore(path).load().interactions, compacted.interactions);
    assert.deepEqual(targetsOf(compacted), ["/a", "/b", "/c", "/bin"]);
  });
});

test("journalStore() drops a torn last line and cuts it away on the next save", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    journalStore(path, { createIfMissing: true }).save(cassetteOf("/a", "/b"));
    const whole = readFileSync(`${path}.journal`, "utf8");
    const next = readFileSync(`${path}.journal`, "utf8").split("\n")[0]!;
    // A crash mid-append: half a line, no newline.
    appendFileSync(`${path}.journal`, next.slice(0, 40));
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b"]);

    journalStore(path).save(cassetteOf("/c"));
    const lines = journalLines(path);
    assert.equal(lines.length, 3);
    assert.ok(readFileSync(`${path}.journal`, "utf8").startsWith(whole));
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c"]);

    // A last line that ends in "\n" but does not parse is torn too.
    appendFileSync(`${path}.journal`, '{"request": {"proto\n');
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c"]);
  });
});

test("journalStore() names the line of a corrupt journal line that is not the last", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    journalStore(path, { createIfMissing: true }).save(cassetteOf("/a", "/b", "/c"));
    const lines = journalLines(path);
    lines[1] = lines[1]!.replace('"fingerprint"', '"fingerprint" x');
    writeFileSync(`${path}.journal`, `${lines.join("\n")}\n`);
    assert.throws(
      () => journalStore(path).load(),
      (error: unknown) =>
        error instanceof CassetteLoadError && /line 2 of the journal/.test(error.message),
    );
  });
});

test("journalStore() load fails on a missing snapshot unless createIfMissing", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "missing.json");
    assert.throws(() => journalStore(path).load(), CassetteLoadError);
    await assert.rejects(journalStoreAsync(path).load(), CassetteLoadError);
    assert.deepEqual(journalStore(path, { createIfMissing: true }).load().interactions, []);
    assert.deepEqual(strayFiles(folder), []);
  });
});

test("journalStore() refuses YAML paths", () => {
  assert.throws(() => journalStore("cassette.yaml"), RangeError);
  assert.throws(() => journalStoreAsync("cassette.yml"), RangeError);
  assert.throws(() => journalStore(""), TypeError);
});

test("journalStore() compact writes everything to the snapshot and removes the journal", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    const store = journalStoreAsync(path, { createIfMissing: true });
    await store.save(cassetteOf("/a", "/b"));
    await store.save(cassetteOf("/c"));
    await store.compact();
    assert.ok(!existsSync(`${path}.journal`));
    assert.deepEqual(targetsOf(fileStore(path).load()), ["/a", "/b", "/c"]);
    assert.deepEqual(targetsOf(await store.load()), ["/a", "/b", "/c"]);
    assert.deepEqual(strayFiles(folder, "cassette.json"), []);
  });
});

test("journalStore() does not replay a journal its snapshot already holds after a crashed compaction", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const store = journalStore(path, { createIfMissing: true });
    store.save(cassetteOf("/a", "/b"));
    const journal = readFileSync(`${path}.journal`);
    store.compact();
    // Simulate a crash after the snapshot was renamed but before the journal
    // was removed: put the journal back; the marker is still there.
    writeFileSync(`${path}.journal`, journal);
    const snapshot = readFileSync(path, "utf8");
    writeFileSync(
      `${path}.journal.compacted`,
      JSON.stringify({
        snapshot: createHash("sha256").update(snapshot).digest("hex"),
        journalBytes: journal.length,
      }),
    );
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b"]);
    // The next save finishes the compaction, then appends.
    journalStore(path).save(cassetteOf("/c"));
    assert.deepEqual(journalLines(path).length, 1);
    assert.ok(!existsSync(`${path}.journal.compacted`));
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c"]);

    // A marker whose snapshot was never renamed into place is ignored.
    writeFileSync(
      `${path}.journal.compacted`,
      JSON.stringify({ snapshot: "0".repeat(64), journalBytes: 100000 }),
    );
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c"]);
  });
});

test("journalStore() save with replace writes exactly the cassette and removes the journal", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const store = journalStore(path, { createIfMissing: true });
    store.save(cassetteOf("/a", "/b"));
    store.save(cassetteOf("/x"), { replace: true });
    assert.ok(!existsSync(`${path}.journal`));
    assert.deepEqual(targetsOf(fileStore(path).load()), ["/x"]);
    store.save(cassetteOf("/x", "/y"));
    assert.deepEqual(targetsOf(store.load()), ["/x", "/y"]);
    assert.deepEqual(strayFiles(folder, "cassette.json", "cassette.json.journal"), []);
  });
});

test("journalStore() reads only what other writers appended since its last look", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const first = journalStore(path, { createIfMissing: true });
    const second = journalStore(path, { createIfMissing: true });
    first.save(cassetteOf("/a"));
    second.save(cassetteOf("/b"));
    first.save(cassetteOf("/a", "/c"));
    assert.deepEqual(targetsOf(first.load()), ["/a", "/b", "/c"]);
    // A crash of another writer mid-append leaves a torn line; the next save cuts it.
    appendFileSync(`${path}.journal`, '{"request":');
    assert.deepEqual(targetsOf(first.load()), ["/a", "/b", "/c"]);
    first.save(cassetteOf("/d"));
    assert.equal(journalLines(path).length, 4);
    assert.deepEqual(targetsOf(second.load()), ["/a", "/b", "/c", "/d"]);
    // Another writer's compaction is noticed too.
    second.compact();
    first.save(cassetteOf("/e"));
    assert.deepEqual(targetsOf(first.load()), ["/a", "/b", "/c", "/d", "/e"]);
    assert.equal(journalLines(path).length, 1);
  });
});
