import { test } from "node:test";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import assert from "node:assert/strict";
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  statSync,
  writeFileSync,
} from "node:fs";
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
import { main } from "@x/replay/cli";
import { childCommand, get, strayFiles, text, texts, withFolder } from "./_helpers.ts";
import { fileCallsWatchable, watchFileCalls } from "./_fs_watch.ts";

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

for (
  const [name, open] of [["journalStore()", journalStore], [
    "journalStoreAsync()",
    journalStoreAsync,
  ]] as const
) {
  test(`${name} never cuts away as torn a line another writer appended during its save`, {
    skip: fileCallsWatchable ? false : "watching the stores' file calls needs Node",
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const journal = `${path}.journal`;
      journalStore(path, { createIfMissing: true }).save(cassetteOf("/a"));
      // The line the other writer appends: what a journal store writes for "/b".
      const other = join(folder, "other.json");
      journalStore(other, { createIfMissing: true }).save(cassetteOf("/b"));
      const line = readFileSync(`${other}.journal`, "utf8");
      // It lands just after this save has read the journal: the other writer
      // believed it held the lock too (one taken over by age while it worked).
      let appended = false;
      await watchFileCalls({
        closedRead(closed) {
          if (appended || closed !== journal) return;
          appended = true;
          appendFileSync(journal, line);
        },
      }, async () => {
        await open(path).save(cassetteOf("/c"));
      });
      assert.equal(appended, true, "the other line was appended during the save");
      assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c"]);
      assert.equal(journalLines(path).length, 3);
    });
  });
}

test("journalStore() keeps a whole last line that only lacks its newline, and ends it before appending", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    journalStore(path, { createIfMissing: true }).save(cassetteOf("/a", "/b"));
    // A hand edit (or a crash just before the newline) leaves the last line whole.
    const whole = readFileSync(`${path}.journal`, "utf8");
    writeFileSync(`${path}.journal`, whole.slice(0, -1));
    const reader = journalStore(path);
    assert.deepEqual(targetsOf(reader.load()), ["/a", "/b"]);

    // Another writer ends the line before appending its own.
    journalStore(path).save(cassetteOf("/c"));
    assert.equal(readFileSync(`${path}.journal`, "utf8"), `${whole}${journalLines(path)[2]}\n`);
    assert.deepEqual(journalLines(path).map((line) => JSON.parse(line).request.target), [
      "/a",
      "/b",
      "/c",
    ]);
    // The first reader, which kept the unended line, reads only what was added.
    assert.deepEqual(targetsOf(reader.load()), ["/a", "/b", "/c"]);
    reader.save(createCassette([...reader.load().interactions, interaction("/d")]));
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c", "/d"]);

    // The store that kept it appends after it too.
    writeFileSync(`${path}.journal`, readFileSync(`${path}.journal`, "utf8").slice(0, -1));
    const writer = journalStore(path);
    writer.save(createCassette([...writer.load().interactions, interaction("/e")]));
    assert.deepEqual(targetsOf(journalStore(path).load()), ["/a", "/b", "/c", "/d", "/e"]);
    assert.ok(readFileSync(`${path}.journal`, "utf8").endsWith("\n"));
  });
});

test("main() validate counts a whole last journal line without its newline, as loading does", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    journalStore(path, { createIfMissing: true }).save(cassetteOf("/a", "/b"));
    writeFileSync(`${path}.journal`, readFileSync(`${path}.journal`, "utf8").slice(0, -1));
    let stdout = "";
    const code = await main(["validate", "cassette.json"], {
      cwd: folder,
      stdout: (text) => void (stdout += text),
      stderr: () => undefined,
    });
    assert.equal(code, 0);
    assert.equal(stdout, "cassette.json: OK, 2 interactions (2 in cassette.json.journal)\n");
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

// --- a writer killed mid-append ---------------------------------------------

/** Each interaction `_journal_writer` appends: two 256 KiB chunks, so that writes take a while. */
const CRASH_CHUNKS = 2;
const CRASH_CHUNK_BYTES = 256 * 1024;

/** The last byte of a file, or `undefined` when it is missing or empty. */
function lastByte(path: string): number | undefined {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return undefined;
  }
  if (size === 0) return undefined;
  const descriptor = openSync(path, "r");
  try {
    const byte = new Uint8Array(1);
    readSync(descriptor, byte, 0, 1, size - 1);
    return byte[0];
  } finally {
    closeSync(descriptor);
  }
}

function countLineEnds(bytes: Uint8Array): number {
  let count = 0;
  for (let at = bytes.indexOf(0x0a); at !== -1; at = bytes.indexOf(0x0a, at + 1)) count++;
  return count;
}

/**
 * Runs `_journal_writer` until it has saved twice, then SIGKILLs it as soon
 * as the journal does not end in "\n", i.e. while an append is being written
 * (or after a few seconds, wherever it is). Resolves with how many saves the
 * writer reported as done.
 */
async function killDuringAppend(path: string, round: number, style: string): Promise<number> {
  const { command, args, cwd } = childCommand("_journal_writer");
  const child = spawn(
    command,
    [...args, path, String(round), style, String(CRASH_CHUNKS), String(CRASH_CHUNK_BYTES / 1024)],
    { cwd, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (data: string) => (stdout += data));
  child.stderr.setEncoding("utf8").on("data", (data: string) => (stderr += data));
  const exited = new Promise<string | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (_code, signal) => resolve(signal));
  });
  let running = true;
  void exited.then(() => (running = false), () => (running = false));
  let deadline: number | undefined;
  while (running) {
    if (/^saved 1$/m.test(stdout)) {
      deadline ??= Date.now() + 5_000;
      if (lastByte(`${path}.journal`) !== 0x0a || Date.now() > deadline) {
        child.kill("SIGKILL");
        break;
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.equal(await exited, "SIGKILL", `the writer ended by itself: ${stderr}`);
  const reported = stdout.match(/^saved \d+$/gm) ?? [];
  assert.deepEqual(reported, reported.map((_, i) => `saved ${i}`));
  return reported.length;
}

test("journalStore() loads every whole line, and saves again, after its writer is killed mid-append", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    const journal = `${path}.journal`;
    const stored: string[] = [];
    let tornRound: number | undefined;
    // Until a round tore a line and a later writer appended after it.
    for (let round = 0; round < 6 && !(tornRound !== undefined && round > tornRound + 1); round++) {
      const reported = await killDuringAppend(path, round, round % 2 === 0 ? "sync" : "async");
      const bytes = readFileSync(journal);
      if (tornRound === undefined && bytes[bytes.length - 1] !== 0x0a) tornRound = round;

      const loaded = journalStore(path).load();
      const targets = targetsOf(loaded);
      // Exactly the whole lines: a torn tail is dropped, never misread; and the
      // writer of this round cut the previous round's torn tail before appending.
      assert.equal(loaded.interactions.length, countLineEnds(bytes));
      assert.deepEqual(targets.slice(0, stored.length), stored);
      const added = targets.slice(stored.length);
      assert.deepEqual(added, added.map((_, i) => `/round-${round}/${i}`));
      // Every save the writer reported is there, plus at most the one the kill
      // interrupted after its line was flushed but before it was reported.
      assert.ok(
        added.length === reported || added.length === reported + 1,
        `round ${round}: ${added.length} loaded, ${reported} reported saved`,
      );
      for (const interaction of loaded.interactions.slice(stored.length)) {
        const target = interaction.request.target;
        const chunks = texts([...interaction.responseChunks]);
        assert.equal(chunks.length, CRASH_CHUNKS, target);
        for (const [index, chunk] of chunks.entries()) {
          const label = `${target}#${index}:`;
          assert.equal(chunk, label + ".".repeat(CRASH_CHUNK_BYTES - label.length));
        }
      }
      stored.push(...added);
    }
    assert.ok(tornRound !== undefined, "no kill landed in the middle of an append");

    // A writer killed mid-append leaves its lock. Another writer on this host
    // sees at once that the holder is gone, but only if it may read the host
    // name (Deno needs --allow-sys for that), so here the lock's age decides.
    const store = journalStore(path, { staleLockAge: 1 });
    store.save(appendInteraction(store.load(), interaction("/after-the-crash")));
    const final = journalStore(path).load();
    assert.deepEqual(targetsOf(final), [...stored, "/after-the-crash"]);
    assert.equal(text(final.interactions.at(-1)!.responseChunks[0]!), "answer to /after-the-crash");
    const bytes = readFileSync(journal);
    assert.equal(bytes[bytes.length - 1], 0x0a);
    assert.equal(countLineEnds(bytes), final.interactions.length);
    assert.deepEqual(strayFiles(folder, "cassette.json", "cassette.json.journal"), []);
  });
});
