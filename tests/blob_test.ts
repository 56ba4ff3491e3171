// Chunk bytes in content-addressed blob files beside the cassette (ADR 0041).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { test } from "node:test";
import fc from "fast-check";
import {
  BlobError,
  type Cassette,
  CassetteFormatError,
  CassetteLoadError,
  CassetteSaveError,
  createAsyncBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRedactor,
  createRequest,
  fileStore,
  fileStoreAsync,
  journalStore,
  journalStoreAsync,
  openBroker,
  parseCassette,
  type Redactor,
  replay,
  replayAsync,
  type ResponseChunk,
  stringifyCassette,
} from "@x/replay";
import { collectGarbage, contentOf, fileStoreKinds, get, text, withFolder } from "./_helpers.ts";

const sha = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** Random bytes (almost surely not UTF-8 text) in a plain `Uint8Array`. */
function noise(size: number): Uint8Array {
  return new Uint8Array(randomBytes(size));
}

async function collect(chunks: AsyncIterable<ResponseChunk>): Promise<ResponseChunk[]> {
  const all: ResponseChunk[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

const big = noise(4096);
const request = get("/download");

function bigCassette(): Cassette {
  return createCassette([
    createInteraction(request, [big, "small", big], { metadata: [["note", "x"]] }),
    createInteraction(get("/other"), [createChunk(big, 0, [["status_code", "200"]])]),
  ]);
}

test("fileStore() blobThreshold writes big chunks once, named by their SHA-256", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(bigCassette());
    // The same 4 KiB appear three times; they are stored once.
    assert.deepEqual(readdirSync(`${path}.blobs`), [sha(big)]);
    assert.deepEqual(new Uint8Array(readFileSync(join(`${path}.blobs`, sha(big)))), big);
    const document = JSON.parse(readFileSync(path, "utf8"));
    const chunks = document.interactions[0].response_chunks;
    assert.deepEqual(chunks[0].data, { blob: sha(big), size: 4096 });
    assert.equal(chunks[1].data, "small", "chunks under the threshold stay inline");
    assert.ok(!readFileSync(path, "utf8").includes("base64"));
  });
});

test("fileStore() load reads only the cassette file; replay reads each blob when reached", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const store = fileStore(path, { createIfMissing: true, blobThreshold: 1024 });
    store.save(bigCassette());
    rmSync(`${path}.blobs`, { recursive: true });
    // Loading does not touch the blobs, so their absence is not seen yet.
    const cassette = fileStore(path).load();
    const chunk = cassette.interactions[0]!.responseChunks[0]!;
    assert.deepEqual(chunk.blob, { sha256: sha(big), size: 4096 });
    const iterator = replay(cassette, request);
    assert.throws(
      () => iterator.next(),
      (error: unknown) =>
        error instanceof BlobError && error.reason === "missing" &&
        error.path === join(`${path}.blobs`, sha(big)) && error.sha256 === sha(big) &&
        error.message.includes(error.path),
    );
  });
});

test("replay() hands out blob chunks read once, verified, with blob unset", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(bigCassette());
    const cassette = fileStore(path).load();
    const chunks = [...replay(cassette, request)];
    assert.deepEqual(chunks.map((chunk) => chunk.data), [
      big,
      new TextEncoder().encode("small"),
      big,
    ]);
    assert.deepEqual(chunks.map((chunk) => chunk.blob), [undefined, undefined, undefined]);
    assert.ok(chunks.every((chunk) => Object.isFrozen(chunk)));
    // A cassette without blobs still hands out its own frozen chunks.
    const inline = bigCassette();
    assert.equal([...replay(inline, request)][0], inline.interactions[0]!.responseChunks[0]);
  });
});

test("replayAsync() reads blob chunks with promises and honours recorded timing", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    const second = noise(2048);
    const timed = createCassette([createInteraction(request, [
      createChunk(big, 0, [["offset_ms", "10"]]),
      createChunk(second, 1, [["offset_ms", "30"]]),
    ])]);
    await fileStoreAsync(path, { createIfMissing: true, blobThreshold: 1024 }).save(timed);
    const cassette = await fileStoreAsync(path).load();
    const waits: number[] = [];
    const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
    const chunks = await collect(replayAsync(cassette, request, { timing: "recorded", sleep }));
    assert.deepEqual(waits, [10, 20]);
    assert.deepEqual(contentOf(cassette.interactions), contentOf(timed.interactions));
    assert.deepEqual(chunks.map((chunk) => chunk.data), [big, second]);
  });
});

for (const damage of ["altered", "truncated", "extended", "missing"] as const) {
  test(`replay() and replayAsync() refuse a ${damage} blob before handing out its bytes`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const cassette0 = createCassette([createInteraction(request, ["head", big])]);
      fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(cassette0);
      const blob = join(`${path}.blobs`, sha(big));
      if (damage === "missing") rmSync(blob);
      else {
        const bytes = big.slice();
        if (damage === "altered") bytes[100] = bytes[100]! ^ 1;
        writeFileSync(
          blob,
          damage === "truncated"
            ? bytes.subarray(0, 4000)
            : damage === "extended"
            ? new Uint8Array([...bytes, 0])
            : bytes,
        );
      }
      const cassette = fileStore(path).load();
      const reason = damage === "missing" ? "missing" : "corrupt";
      const isBlobError = (error: unknown) =>
        error instanceof BlobError && error.reason === reason && error.path === blob;
      const sync = replay(cassette, request);
      assert.equal(text(sync.next().value as ResponseChunk), "head");
      assert.throws(() => sync.next(), isBlobError);
      const async = replayAsync(cassette, request);
      assert.equal(text((await async.next()).value as ResponseChunk), "head");
      await assert.rejects(async.next(), isBlobError);
      // Reading the chunk's data directly checks the blob as well.
      assert.throws(() => cassette.interactions[0]!.responseChunks[1]!.data, isBlobError);
    });
  });
}

for (const { name, open } of fileStoreKinds) {
  test(`${name} rewrites a blob of the right size but wrong bytes when those bytes are saved again`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const options = { createIfMissing: true, blobThreshold: 1024 };
      await open(path, options).save(createCassette([createInteraction(request, [big])]));
      const blob = join(`${path}.blobs`, sha(big));
      // Damaged in place: same size, other bytes.
      const damaged = big.slice();
      damaged[7] = damaged[7]! ^ 0xff;
      writeFileSync(blob, damaged);
      const before = await open(path).load();
      assert.throws(() => [...replay(before, request)], BlobError);
      // Recording the same bytes again (another request, same body) heals it.
      const store = open(path, options);
      const loaded = await store.load();
      await store.save(
        createCassette([...loaded.interactions, createInteraction(get("/again"), [big])]),
      );
      assert.deepEqual(new Uint8Array(readFileSync(blob)), big);
      const healed = await open(path).load();
      assert.deepEqual([...replay(healed, request)][0]!.data, big);
      assert.deepEqual([...replay(healed, get("/again"))][0]!.data, big);
    });
  });
}

test("parseCassette() names a blob reference it cannot read without a store", () => {
  const text = JSON.stringify({
    interactions: [{
      request: { protocol: "http", action: "GET", target: "/download", headers: [], body: "" },
      fingerprint: { value: createInteraction(request, ["x"]).fingerprint },
      response_chunks: [{ data: { blob: sha(big), size: 4096 }, sequence: 0, metadata: [] }],
      metadata: [],
    }],
  });
  assert.throws(
    () => parseCassette(text),
    (error: unknown) =>
      error instanceof CassetteFormatError &&
      error.path === "interactions[0].response_chunks[0].data" &&
      error.message.includes("fileStore()"),
  );
});

for (
  const [label, data, path] of [
    ["a short hash", { blob: "abc", size: 3 }, "data.blob"],
    ["a size that is not a whole number", { blob: sha(big), size: 1.5 }, "data.size"],
    ["a zero size", { blob: sha(big), size: 0 }, "data.size"],
    ["an extra key", { blob: sha(big), size: 4096, base64: "" }, "data"],
  ] as const
) {
  test(`fileStore() load names a blob reference with ${label}`, async () => {
    await withFolder((folder) => {
      const file = join(folder, "cassette.json");
      writeFileSync(
        file,
        JSON.stringify({
          interactions: [{
            request: { protocol: "http", action: "GET", target: "/download" },
            fingerprint: { value: createInteraction(request, ["x"]).fingerprint },
            response_chunks: [{ data, sequence: 0 }],
          }],
        }),
      );
      assert.throws(
        () => fileStore(file).load(),
        (error: unknown) =>
          error instanceof CassetteLoadError && error.cause instanceof CassetteFormatError &&
          error.cause.path === `interactions[0].response_chunks[0].${path}`,
      );
    });
  });
}

test("stringifyCassette() inlines blob chunks into one self-contained file", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const original = bigCassette();
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(original);
    const loaded = fileStore(path).load();
    assert.equal(stringifyCassette(loaded), stringifyCassette(original));
    assert.equal(
      stringifyCassette(loaded, { format: "yaml" }),
      stringifyCassette(original, { format: "yaml" }),
    );
  });
});

test("fileStore() without blobThreshold loads a file with blobs and writes them inline", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(bigCassette());
    const loaded = fileStore(path).load();
    const copy = join(folder, "copy.json");
    fileStore(copy, { createIfMissing: true }).save(loaded);
    assert.equal(readFileSync(copy, "utf8"), stringifyCassette(bigCassette()));
    assert.ok(!existsSync(`${copy}.blobs`));
  });
});

// Blob round trips (inline ⇄ external) are identity, for any cassette and threshold.
const chunkData = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.uint8Array({ minLength: 0, maxLength: 300 }),
);
const cassettes = fc.array(
  fc.record({
    target: fc.string({ maxLength: 10 }),
    body: chunkData,
    chunks: fc.array(chunkData, { minLength: 1, maxLength: 4 }),
  }),
  { maxLength: 5 },
).map((items) =>
  createCassette(
    items.map(({ target, body, chunks }) =>
      createInteraction(createRequest({ protocol: "p", action: "a", target, body }), chunks)
    ),
  )
);

test("fileStore() blob layout round-trips to the identical inline file (property)", async () => {
  await withFolder((folder) => {
    let run = 0;
    fc.assert(
      fc.property(
        cassettes,
        fc.integer({ min: 1, max: 200 }),
        fc.constantFrom("json", "yaml"),
        (cassette, threshold, format) => {
          const path = join(folder, `${run++}.${format}`);
          const external = fileStore(path, { createIfMissing: true, blobThreshold: threshold });
          external.save(cassette);
          const loaded = fileStore(path).load();
          // external → inline: byte for byte what the inline store writes.
          assert.equal(
            stringifyCassette(loaded, { format }),
            stringifyCassette(cassette, { format }),
          );
          // inline → external again: the same cassette file and the same blobs.
          const before = readFileSync(path, "utf8");
          const again = join(folder, `${run++}.${format}`);
          fileStore(again, { createIfMissing: true, blobThreshold: threshold }).save(
            parseCassette(stringifyCassette(loaded, { format }), { format }),
          );
          assert.equal(readFileSync(again, "utf8"), before);
          const names = (file: string) =>
            existsSync(`${file}.blobs`) ? readdirSync(`${file}.blobs`).sort() : [];
          assert.deepEqual(names(again), names(path));
        },
      ),
      { numRuns: 60 },
    );
  });
});

// Request bodies at or above the threshold go to blob files too.
const upload = noise(5000);
const uploadRequest = createRequest({
  protocol: "http",
  action: "PUT",
  target: "/upload",
  headers: [["content-type", "application/octet-stream"]],
  body: upload,
});
const uploadCassette = (): Cassette =>
  createCassette([createInteraction(uploadRequest, [createChunk("stored", 0)])]);

for (const { name, open } of fileStoreKinds) {
  test(`${name} blobThreshold keeps a big request body in a blob file, and load checks its fingerprint`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "upload.json");
      await open(path, { createIfMissing: true, blobThreshold: 1024 }).save(uploadCassette());
      // A journal store's line holds the reference until compact() folds it in.
      await (open(path) as { compact?: () => unknown }).compact?.();
      const written = readFileSync(path, "utf8");
      assert.match(
        written,
        new RegExp(`"body": \\{\\s+"blob": "${sha(upload)}",\\s+"size": 5000\\s+\\}`),
      );
      assert.ok(!written.includes("base64"));
      assert.deepEqual(readdirSync(`${path}.blobs`), [sha(upload)]);
      const loaded = (await open(path).load()).interactions[0]!;
      assert.deepEqual(loaded.request.bodyBlob, { sha256: sha(upload), size: 5000 });
      assert.deepEqual(loaded.request.body, upload);
      assert.equal(loaded.fingerprint, uploadCassette().interactions[0]!.fingerprint);
      // A fresh request with the same bytes is found without the blob being read.
      const cassette = await open(path).load();
      rmSync(join(`${path}.blobs`, sha(upload)));
      assert.deepEqual([...replay(cassette, uploadRequest)].map(text), ["stored"]);
    });
  });

  for (const damage of ["altered", "missing"] as const) {
    test(`${name} load refuses a request body whose blob is ${damage}`, async () => {
      await withFolder(async (folder) => {
        const path = join(folder, "upload.json");
        await open(path, { createIfMissing: true, blobThreshold: 1024 }).save(uploadCassette());
        const blob = join(`${path}.blobs`, sha(upload));
        if (damage === "missing") rmSync(blob);
        else writeFileSync(blob, noise(5000));
        await assert.rejects(
          Promise.resolve().then(() => open(path).load()),
          (error: unknown) => {
            assert.ok(error instanceof CassetteLoadError, String(error));
            const cause = error.cause;
            assert.ok(cause instanceof BlobError, String(cause));
            assert.equal(cause.sha256, sha(upload));
            assert.equal(cause.reason, damage === "missing" ? "missing" : "corrupt");
            return true;
          },
        );
      });
    });
  }
}

test("fileStore() writes a blob request body inline without blobThreshold, and keeps it where it was", async () => {
  await withFolder((folder) => {
    const path = join(folder, "upload.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(uploadCassette());
    const loaded = fileStore(path).load();
    // Saved again into the same file: still a reference, no inline copy.
    fileStore(path).save(createCassette([
      ...loaded.interactions,
      createInteraction(get("/next"), ["next"]),
    ]));
    assert.ok(readFileSync(path, "utf8").includes(`"blob": "${sha(upload)}"`));
    // Saved into another file with no threshold: inline, byte for byte.
    const other = join(folder, "inline.json");
    fileStore(other, { createIfMissing: true }).save(loaded);
    assert.equal(readFileSync(other, "utf8"), stringifyCassette(uploadCassette()));
  });
});

test("journalStore() keeps blob references in journal lines and through compaction", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    const store = journalStore(path, { createIfMissing: true, blobThreshold: 1024 });
    store.save(bigCassette());
    const line = readFileSync(`${path}.journal`, "utf8").split("\n")[0]!;
    assert.ok(line.includes(`{"blob":"${sha(big)}","size":4096}`));
    assert.ok(!line.includes("base64"));
    store.compact();
    assert.ok(readFileSync(path, "utf8").includes(`"blob": "${sha(big)}"`));
    const loaded = journalStore(path).load();
    assert.deepEqual(contentOf(loaded.interactions), contentOf(bigCassette().interactions));
    assert.deepEqual(readdirSync(`${path}.blobs`), [sha(big)]);
  });
});

test("createAsyncBroker() streaming into a blob store has at most two big chunks not yet in blob files", async () => {
  for (const open of [fileStoreAsync, journalStoreAsync, fileStore, journalStore]) {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const store = open(path, { createIfMissing: true, blobThreshold: 1024 });
      const parts = Array.from({ length: 8 }, () => noise(3000));
      // When chunk i is asked for, the blobs of chunks 0 .. i-2 are on disk:
      // the writes run while later chunks arrive, but no more than two.
      const missing: number[] = [];
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        recording: "streaming",
        store,
        liveResponder: async function* () {
          for (let i = 0; i < parts.length; i++) {
            for (let done = 0; done <= i - 2; done++) {
              if (!existsSync(join(`${path}.blobs`, sha(parts[done]!)))) missing.push(done);
            }
            yield parts[i]!;
          }
        },
      });
      const delivered = await collect(broker.replay(request));
      assert.deepEqual(delivered.map((chunk) => chunk.data), parts);
      assert.deepEqual(missing, [], `${open.name}: blobs written while later chunks pass`);
      const kept = broker.cassette.interactions[0]!.responseChunks;
      assert.deepEqual(kept.map((chunk) => chunk.blob?.sha256), parts.map((part) => sha(part)));
      const reloaded = await open(path).load();
      assert.deepEqual(
        [...replay(reloaded, request)].map((chunk) => chunk.data),
        parts,
      );
    });
  }
});

/**
 * A file store whose offload() is `wrapped` (given the real one), counting
 * the writes started and settled.
 */
function countingStore(
  path: string,
  wrapped: (
    chunk: ResponseChunk,
    offload: (chunk: ResponseChunk) => Promise<ResponseChunk>,
  ) => Promise<ResponseChunk>,
) {
  const inner = fileStoreAsync(path, { createIfMissing: true, blobThreshold: 1024 });
  const counts = { started: 0, settled: 0 };
  const store = {
    path,
    load: () => inner.load(),
    save: (cassette: Cassette, options?: { replace?: boolean }) => inner.save(cassette, options),
    async offload(chunk: ResponseChunk): Promise<ResponseChunk> {
      counts.started++;
      try {
        return await wrapped(chunk, (given) => inner.offload!(given));
      } finally {
        counts.settled++;
      }
    },
  };
  return { inner, store, counts };
}

test("createAsyncBroker() streaming: a failed blob write fails the recording after the others settle", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    const parts = Array.from({ length: 6 }, () => noise(3000));
    const { inner, store, counts } = countingStore(path, async (chunk, offload) => {
      // Chunk 0 fails while chunk 1 is still being written.
      await new Promise((resolve) => setTimeout(resolve, chunk.sequence === 0 ? 10 : 50));
      if (chunk.sequence === 0) throw new Error("disk full");
      return await offload(chunk);
    });
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "record",
      recording: "streaming",
      store,
      liveResponder: async function* () {
        yield* parts;
      },
    });
    await assert.rejects(
      collect(broker.replay(request)),
      (error: unknown) =>
        error instanceof CassetteSaveError && error.path === path &&
        (error.cause as Error).message === "disk full",
    );
    assert.ok(counts.started < parts.length, "no chunk is taken after the failure is known");
    assert.equal(counts.settled, counts.started, "no blob write outlives the failed recording");
    assert.equal(broker.cassette.interactions.length, 0);
    assert.equal((await inner.load()).interactions.length, 0);
  });
});

test("createAsyncBroker() streaming: a consumer that stops early waits for the blob writes, records nothing", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    const { inner, store, counts } = countingStore(path, async (chunk, offload) => {
      // Later writes take longer, so some are running when the consumer stops.
      await new Promise((resolve) => setTimeout(resolve, 5 + 10 * chunk.sequence));
      return await offload(chunk);
    });
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "record",
      recording: "streaming",
      store,
      liveResponder: async function* () {
        for (;;) yield noise(3000);
      },
    });
    let seen = 0;
    for await (const _ of broker.replay(request)) {
      if (++seen === 4) break;
    }
    assert.ok(counts.started >= 3);
    assert.equal(counts.settled, counts.started, "return() settles once every started write has");
    assert.equal(broker.cassette.interactions.length, 0);
    assert.equal((await inner.load()).interactions.length, 0);
  });
});

test("createAsyncBroker() redacts a streamed chunk before its bytes reach a blob file", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    const secret = "sk-live-0123456789abcdef";
    const body = `{"token":"${secret}","pad":"${"x".repeat(2000)}"}`;
    const broker = createAsyncBroker({
      cassette: createCassette(),
      mode: "record",
      recording: "streaming",
      store: fileStoreAsync(path, { createIfMissing: true, blobThreshold: 1024 }),
      redact: createRedactor({ jsonFields: ["token"] }),
      liveResponder: () => [body],
    });
    const delivered = await collect(broker.replay(request));
    assert.equal(text(delivered[0]!), body, "the caller gets the live bytes");
    for (const name of readdirSync(`${path}.blobs`)) {
      const stored = readFileSync(join(`${path}.blobs`, name), "utf8");
      assert.ok(!stored.includes(secret));
      assert.ok(stored.includes("[REDACTED]"));
    }
    assert.equal(readdirSync(`${path}.blobs`).length, 1);
  });
});

test("createAsyncBroker() does not read streamed blob chunks back to redact them when it commits", async () => {
  const parts = [noise(3000), noise(3000), '{"token":"t-42"}'];
  for (const open of [fileStoreAsync, journalStoreAsync]) {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const redactor = createRedactor({ jsonFields: ["token"] });
      let bytesSeen = 0;
      const watched: Redactor = {
        request: redactor.request,
        chunk: redactor.chunk!,
        interaction(interaction) {
          for (const chunk of interaction.responseChunks) bytesSeen += chunk.data.length;
          return redactor.interaction(interaction);
        },
      };
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        recording: "streaming",
        store: open(path, { createIfMissing: true, blobThreshold: 1024 }),
        redact: watched,
        liveResponder: async function* () {
          yield* parts;
        },
      });
      const delivered = await collect(broker.replay(request));
      assert.deepEqual(delivered.map(text).slice(2), [parts[2]], "the caller gets the live bytes");
      // Every chunk was redacted as it passed (the big ones then went to blob
      // files), so committing reads none of them back.
      assert.equal(bytesSeen, 0, open.name);
      const kept = broker.cassette.interactions[0]!.responseChunks;
      assert.deepEqual(kept.slice(0, 2).map((chunk) => chunk.blob?.sha256), [
        sha(parts[0] as Uint8Array),
        sha(parts[1] as Uint8Array),
      ]);
      assert.equal(text(kept[2]!), '{"token":"[REDACTED]"}');
      assert.ok(kept.every((chunk) => chunk.metadata.some(([key]) => key === "offset_ms")));
      const reloaded = await open(path).load();
      assert.deepEqual(contentOf(reloaded.interactions), contentOf(broker.cassette.interactions));
    });
  }
});

test("fileStore() offload() leaves small chunks alone and is absent without blobThreshold", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    assert.equal(fileStore(path).offload, undefined);
    const store = fileStore(path, { blobThreshold: 1024 });
    const small = createChunk("tiny", 0);
    assert.equal(store.offload!(small), small);
    const moved = store.offload!(createChunk(big, 1, [["k", "v"]]));
    assert.deepEqual(moved.blob, { sha256: sha(big), size: 4096 });
    assert.equal(moved.sequence, 1);
    assert.deepEqual(moved.metadata, [["k", "v"]]);
    assert.deepEqual(moved.data, big);
  });
});

test("fileStore() rejects a blobThreshold that is not a whole number of bytes", () => {
  for (const blobThreshold of [0, -1, 1.5, Number.NaN, "1024" as unknown as number]) {
    assert.throws(() => fileStore("x.json", { blobThreshold }), RangeError);
    assert.throws(() => journalStore("x.json", { blobThreshold }), RangeError);
  }
});

test("openBroker() replays a blob cassette with the same chunks as the inline one", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.yaml");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(bigCassette());
    const broker = openBroker(fileStore(path));
    const chunks = [...broker.replay(request)];
    assert.deepEqual(chunks.map((chunk) => chunk.data.length), [4096, 5, 4096]);
    assert.ok(chunks.every((chunk) => chunk.blob === undefined));
  });
});

// Bounded memory: replaying a body much larger than the growth allowed. The
// collector runs before each measurement, so what is measured is what replay
// still references. Two measures: the chunk buffers still alive (WeakRef, on
// every runtime), and the runtime's count of off-heap bytes where it reports
// them (Node and Deno do; the check calibrates itself, because Bun's count
// does not follow typed-array buffers).
const CHUNK = 1 << 20;
const CHUNKS = 48;
const ALLOWED_GROWTH = 12 * CHUNK;

async function blobCassette(folder: string): Promise<Cassette> {
  const path = join(folder, "large.json");
  // Recorded by streaming, so building it does not hold the body either.
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    recording: "streaming",
    store: fileStoreAsync(path, { createIfMissing: true, blobThreshold: 1024 }),
    liveResponder: async function* () {
      for (let i = 0; i < CHUNKS; i++) yield noise(CHUNK);
    },
  });
  for await (const _ of broker.replay(request));
  return await fileStoreAsync(path).load();
}

async function offHeap(): Promise<number> {
  collectGarbage();
  // Buffers are freed by a background sweeper: give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 5));
  collectGarbage();
  return process.memoryUsage().external;
}

async function offHeapIsCounted(): Promise<boolean> {
  const base = await offHeap();
  const probe = new Uint8Array(8 * CHUNK).fill(1);
  const counted = (await offHeap()) - base > 6 * CHUNK;
  return counted && probe.length > 0;
}

interface Measured {
  total: number;
  /** Most handed-out chunk buffers alive at once, after collection. */
  alive: number;
  /** Largest off-heap growth seen, or undefined where it is not counted. */
  growth: number | undefined;
}

async function measure(chunks: Iterable<ResponseChunk> | AsyncIterable<ResponseChunk>) {
  const counted = await offHeapIsCounted();
  const base = await offHeap();
  const refs: WeakRef<Uint8Array>[] = [];
  const result: Measured = { total: 0, alive: 0, growth: counted ? 0 : undefined };
  const step = async (chunk: ResponseChunk) => {
    result.total += chunk.data.length;
    refs.push(new WeakRef(chunk.data));
    // Collecting is slow: look after every few chunks, and at the last one.
    if (refs.length % 8 !== 1 && refs.length !== CHUNKS) return;
    const now = await offHeap();
    if (result.growth !== undefined) result.growth = Math.max(result.growth, now - base);
    result.alive = Math.max(result.alive, refs.filter((ref) => ref.deref() !== undefined).length);
  };
  if (Symbol.asyncIterator in chunks) { for await (const chunk of chunks) await step(chunk); }
  else for (const chunk of chunks) await step(chunk);
  return result;
}

test("replay() and replayAsync() of a 48 MiB blob body keep one chunk at a time", async () => {
  await withFolder(async (folder) => {
    const cassette = await blobCassette(folder);
    for (const mode of ["sync", "async"] as const) {
      const result = await measure(
        mode === "sync" ? replay(cassette, request) : replayAsync(cassette, request),
      );
      assert.equal(result.total, CHUNKS * CHUNK);
      // The chunk being consumed, and at most the one the iterator is reading.
      assert.ok(result.alive <= 2, `${mode}: ${result.alive} chunk buffers alive at once`);
      if (result.growth !== undefined) {
        assert.ok(
          result.growth < ALLOWED_GROWTH,
          `${mode}: memory grew by ${(result.growth / CHUNK).toFixed(1)} MiB for ${CHUNKS} MiB`,
        );
      }
    }
  });
});

test("the bounded-memory measure sees a replay that reads everything first", async () => {
  // Reading the whole body before handing out the first chunk (what a
  // non-streaming replay does) must fail both checks above.
  await withFolder(async (folder) => {
    const cassette = await blobCassette(folder);
    const eager = function* () {
      yield* [...replay(cassette, request)];
    };
    const result = await measure(eager());
    assert.equal(result.alive, CHUNKS);
    if (result.growth !== undefined) assert.ok(result.growth > ALLOWED_GROWTH);
  });
});

test("fileStore() without blobThreshold keeps a loaded cassette's blobs when recording into it", async () => {
  await withFolder((folder) => {
    const path = join(folder, "cassette.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(bigCassette());
    const broker = openBroker(fileStore(path), { mode: "auto", liveResponder: () => ["new"] });
    [...broker.replay(get("/new"))];
    const text = readFileSync(path, "utf8");
    assert.ok(text.includes(`"blob": "${sha(big)}"`));
    assert.ok(!text.includes("base64"), "the blob bytes were not pulled into the file");
    assert.equal(fileStore(path).load().interactions.length, 3);
  });
});
