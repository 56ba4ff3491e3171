// Request bodies kept in blob files are read in pieces, never whole: by the
// fingerprint, the redactor, and a store copying them into its own folder.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  BlobError,
  CassetteSaveError,
  createCassette,
  createInteraction,
  createRedactor,
  createRequest,
  fileStore,
  fileStoreAsync,
  fingerprint,
} from "@x/replay";
import { randomBytes, sha256, withFolder } from "./_helpers.ts";

const MiB = 1024 * 1024;

test("fingerprint() of a request whose body is a blob file reads it in pieces and agrees with memory", async () => {
  await withFolder((folder) => {
    // Sizes around the hashing slice (16 KiB) and the read piece (1 MiB).
    const sizes = [16 * 1024, 16 * 1024 + 1, MiB - 1, MiB, MiB + 1, 2 * MiB + 3];
    const requests = sizes.map((size) =>
      createRequest({
        protocol: "http",
        action: "POST",
        target: `/b${size}`,
        body: randomBytes(size),
      })
    );
    const path = join(folder, "bodies.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1 }).save(
      createCassette(
        requests.map((request) => createInteraction(request, ["ok"])),
      ),
    );
    const loaded = fileStore(path).load();
    loaded.interactions.forEach((interaction, i) => {
      assert.ok(interaction.request.bodyBlob !== undefined);
      assert.equal(fingerprint(interaction.request), fingerprint(requests[i]!));
    });
  });
});

test("fingerprint() of a blob body is checked piece by piece when loaded, then remembered", () => {
  return withFolder((folder) => {
    const body = randomBytes(MiB + 100);
    const request = createRequest({ protocol: "http", action: "POST", target: "/", body });
    const path = join(folder, "bodies.json");
    const blob = join(`${path}.blobs`, sha256(body));
    fileStore(path, { createIfMissing: true, blobThreshold: 1 }).save(
      createCassette([createInteraction(request, ["ok"])]),
    );
    const refused = (reason: string, detail: RegExp) => (error: unknown) => {
      const cause = error instanceof BlobError ? error : (error as { cause?: unknown }).cause;
      assert.ok(cause instanceof BlobError, String(error));
      assert.equal(cause.reason, reason);
      assert.match(cause.message, detail);
      return true;
    };
    // A byte changed in the second piece.
    const damaged = new Uint8Array(body);
    damaged[MiB + 50] = damaged[MiB + 50]! ^ 1;
    writeFileSync(blob, damaged);
    assert.throws(() => fileStore(path).load(), refused("corrupt", /hash to/));
    // Longer than its name says: refused before the extra bytes are hashed.
    writeFileSync(blob, new Uint8Array([...body, 1]));
    assert.throws(() => fileStore(path).load(), refused("corrupt", /found more/));
    writeFileSync(blob, body);
    const loaded = fileStore(path).load().interactions[0]!.request;
    // The fingerprint verified at load is not worked out again from the
    // file; reading the body still checks it.
    rmSync(blob);
    assert.equal(fingerprint(loaded), fingerprint(request));
    assert.throws(() => loaded.body, refused("missing", /does not exist/));
  });
});

test("createRedactor() leaves a binary body kept in a blob file where it is", async () => {
  await withFolder((folder) => {
    const body = randomBytes(MiB);
    body[0] = 0xff; // never valid UTF-8
    const request = createRequest({
      protocol: "http",
      action: "POST",
      target: "/upload?api_key=abc",
      body,
    });
    const path = join(folder, "binary.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1 }).save(
      createCassette([createInteraction(request, ["ok"])]),
    );
    const loaded = fileStore(path).load().interactions[0]!.request;
    const redacted = createRedactor().request(loaded);
    assert.equal(redacted.target, "/upload?api_key=%5BREDACTED%5D");
    assert.deepEqual(redacted.bodyBlob, loaded.bodyBlob);
  });
});

test("a store copies a blob body from another folder in pieces, and refuses a damaged one", async () => {
  await withFolder(async (folder) => {
    const body = randomBytes(2 * MiB + 9);
    const request = createRequest({ protocol: "http", action: "PUT", target: "/", body });
    const from = join(folder, "from.json");
    fileStore(from, { createIfMissing: true, blobThreshold: 1 }).save(
      createCassette([createInteraction(request, ["ok"])]),
    );
    const loaded = fileStore(from).load();
    const to = join(folder, "to.json");
    await fileStoreAsync(to, { createIfMissing: true, blobThreshold: 1 }).save(loaded);
    assert.deepEqual(readFileSync(join(`${to}.blobs`, sha256(body))), Buffer.from(body));
    // A damaged source is refused before anything is named after it.
    writeFileSync(join(`${from}.blobs`, sha256(body)), randomBytes(body.length));
    const other = join(folder, "other.json");
    assert.throws(
      () => fileStore(other, { createIfMissing: true, blobThreshold: 1 }).save(loaded),
      (error: unknown) => {
        assert.ok(error instanceof CassetteSaveError);
        assert.ok(error.cause instanceof BlobError);
        assert.equal(error.cause.reason, "corrupt");
        return true;
      },
    );
    assert.deepEqual(existsSync(`${other}.blobs`) ? readdirSync(`${other}.blobs`) : [], []);
  });
});
