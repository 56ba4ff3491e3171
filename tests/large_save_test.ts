// Saving cassettes with big bodies: the stores write the JSON text in pieces
// (a big body slice by slice), and the file must still hold exactly the text
// stringifyCassette() writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import {
  type Cassette,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fileStore,
  fileStoreAsync,
  type Interaction,
  journalStore,
  parseCassette,
  stringifyCassette,
} from "@x/replay";
import { contentOf, get, texts, withFolder } from "./_helpers.ts";

const KiB = 1024;
// The sizes around which the writer changes course: bodies of 256 KiB and
// more are sliced, in slices of 192 KiB.
const LARGE = 256 * KiB;
const SLICE = 192 * KiB;

/** `size` bytes of UTF-8 text repeating `unit`, cut to whole characters. */
function textOf(unit: string, size: number): Uint8Array {
  const bytes = new TextEncoder().encode(unit.repeat(Math.ceil(size / unit.length)));
  let end = size;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.slice(0, end);
}

/** `size` bytes that are not UTF-8 (seeded, so runs are alike). */
function binaryOf(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let state = seed;
  for (let i = 0; i < size; i++) {
    state = (state * 1103515245 + 12345) >>> 0;
    bytes[i] = state >>> 24;
  }
  bytes[0] = 0xff; // never valid UTF-8
  return bytes;
}

function post(target: string, body: Uint8Array): ReturnType<typeof createRequest> {
  return createRequest({
    protocol: "http",
    action: "POST",
    target,
    headers: [["content-type", "application/octet-stream"]],
    body,
  });
}

/** Bodies of each kind the writer treats differently, at the sizes where it changes course. */
function bigCassette(): Cassette {
  const interactions: Interaction[] = [createInteraction(get("/first"), ["small"])];
  const bodies: Uint8Array[] = [
    textOf('a"\\\n\t\u0001\u2028z', LARGE - 1),
    textOf('a"\\\n\t\u0001\u2028z', LARGE),
    // Two-, three- and four-byte characters straddling slice boundaries.
    textOf("é€😀a", LARGE + 1),
    textOf("😀", 2 * SLICE + 3),
    textOf("€é", 3 * SLICE),
    // Read back as text, a slice boundary (in characters) falls inside a surrogate pair.
    new TextEncoder().encode(`x${"😀".repeat(LARGE / 2 + 7)}`),
    new Uint8Array([0xef, 0xbb, 0xbf, ...textOf("after a byte order mark ", LARGE)]),
    binaryOf(LARGE, 1),
    binaryOf(LARGE + 1, 2),
    binaryOf(LARGE + 2, 3),
    binaryOf(2 * SLICE + 1, 4),
    // Valid text up to a character cut short at the very end.
    new Uint8Array([...textOf("abc", LARGE), 0xe2, 0x82]),
  ];
  bodies.forEach((body, i) => {
    interactions.push(
      createInteraction(post(`/upload/${i}`, body), [
        createChunk("{", 0, [["status_code", "201"], ["header:x-note", "ünïcode"]]),
        body,
        "}",
      ]),
    );
    interactions.push(createInteraction(get(`/between/${i}`), ["x"]));
  });
  // Enough small interactions for several batches of about 1 MiB each.
  for (let i = 0; i < 300; i++) {
    interactions.push(createInteraction(get(`/many/${i}`), [textOf(`${i}ü`, 4 * KiB)]));
  }
  return createCassette(interactions);
}

const stores = [
  {
    name: "fileStore()",
    save: (path: string, cassette: Cassette) => Promise.resolve(fileStore(path).save(cassette)),
  },
  {
    name: "fileStoreAsync()",
    save: (path: string, cassette: Cassette) => fileStoreAsync(path).save(cassette),
  },
];

for (const { name, save } of stores) {
  test(`${name} writes big bodies exactly as stringifyCassette() writes them`, async () => {
    const cassette = bigCassette();
    await withFolder(async (folder) => {
      const path = join(folder, "big.json");
      await save(path, cassette);
      const text = readFileSync(path, "utf8");
      assert.equal(text, stringifyCassette(cassette));
      assert.deepEqual(parseCassette(text), cassette);
    });
  });

  test(`${name} writes a cassette read from text, big text chunks included, exactly as stringifyCassette() does`, async () => {
    // Chunks parsed from a file keep their text until their bytes are read;
    // the writer writes that text, slice by slice when it is big.
    const loaded = parseCassette(stringifyCassette(bigCassette()));
    await withFolder(async (folder) => {
      const path = join(folder, "again.json");
      await save(path, loaded);
      assert.equal(readFileSync(path, "utf8"), stringifyCassette(bigCassette()));
    });
  });

  test(`${name} writes an empty cassette and small cassettes as stringifyCassette() does (property)`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "empty.json");
      await save(path, createCassette());
      assert.equal(readFileSync(path, "utf8"), stringifyCassette(createCassette()));
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            target: fc.string({ unit: "grapheme", maxLength: 20 }),
            body: fc.oneof(fc.uint8Array({ maxLength: 30 }), fc.string({ unit: "grapheme" })),
            chunks: fc.array(fc.oneof(fc.uint8Array({ maxLength: 30 }), fc.string()), {
              minLength: 1,
              maxLength: 3,
            }),
          }),
          { maxLength: 4 },
        ),
        async (items) => {
          const cassette = createCassette(
            items.map((item) =>
              createInteraction(
                createRequest({
                  protocol: "http",
                  action: "PUT",
                  target: `/${item.target}`,
                  body: item.body,
                }),
                item.chunks,
              )
            ),
          );
          await withFolder(async (folder) => {
            const path = join(folder, "c.json");
            await save(path, cassette);
            assert.equal(readFileSync(path, "utf8"), stringifyCassette(cassette));
          });
        },
      ),
      { numRuns: 40 },
    );
  });
}

test("fileStore() leaves a big cassette it wrote or loaded as it is, and sees a change made to it meanwhile", async () => {
  const body = textOf("0123456789", 5 * 1024 * KiB);
  const big = createCassette([createInteraction(post("/big", body), ["stored"])]);
  await withFolder((folder) => {
    const path = join(folder, "big.json");
    const store = fileStore(path);
    store.save(big);
    const written = statSync(path);
    // Nothing new: the file is left as it is (no new file renamed over it).
    store.save(big);
    assert.equal(statSync(path).ino, written.ino);
    // Another writer changes the recorded answer, keeping the file's length.
    const text = readFileSync(path, "utf8");
    assert.ok(text.length > 4 * 1024 * KiB);
    writeFileSync(path, text.replace('"stored"', '"STORED"'));
    store.save(createCassette([createInteraction(get("/next"), ["next"])]));
    const merged = parseCassette(readFileSync(path, "utf8"));
    assert.deepEqual(merged.interactions.map((i) => i.request.target), ["/big", "/next"]);
    assert.deepEqual(texts(merged.interactions[0]!.responseChunks), ["STORED"]);
    // The same for a store that loaded the big file rather than wrote it.
    const loader = fileStore(path);
    assert.equal(loader.load().interactions.length, 2);
    const loaded = statSync(path);
    loader.save(createCassette([createInteraction(get("/next"), ["next"])]));
    assert.equal(statSync(path).ino, loaded.ino);
    writeFileSync(path, readFileSync(path, "utf8").replace('"STORED"', '"stored"'));
    loader.save(createCassette([createInteraction(get("/last"), ["last"])]));
    const again = parseCassette(readFileSync(path, "utf8"));
    assert.deepEqual(again.interactions.map((i) => i.request.target), ["/big", "/next", "/last"]);
    assert.deepEqual(texts(again.interactions[0]!.responseChunks), ["stored"]);
  });
});

test("journalStore() compact() writes big bodies exactly as stringifyCassette() writes them", async () => {
  const cassette = bigCassette();
  await withFolder((folder) => {
    const path = join(folder, "big.json");
    const store = journalStore(path);
    store.save(cassette);
    store.compact();
    assert.equal(readFileSync(path, "utf8"), stringifyCassette(cassette));
    assert.deepEqual(journalStore(path).load(), cassette);
  });
});

test("fileStore() with blobThreshold writes a big inline request body beside blob chunks in JSON's own layout", async () => {
  const body = textOf("é€😀a", LARGE + 5);
  const cassette = createCassette([
    createInteraction(post("/both", body), [binaryOf(LARGE, 9), "tail"]),
  ]);
  await withFolder((folder) => {
    const path = join(folder, "blobs.json");
    fileStore(path, { blobThreshold: 1024 }).save(cassette);
    const text = readFileSync(path, "utf8");
    assert.equal(`${JSON.stringify(JSON.parse(text), null, 2)}\n`, text);
    assert.match(text, /"blob": "[0-9a-f]{64}"/);
    assert.deepEqual(
      contentOf(fileStore(path).load().interactions),
      contentOf(cassette.interactions),
    );
  });
});
