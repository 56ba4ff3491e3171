// A cassette folder usually comes from a git checkout, and git stores links:
// stores never write or delete through one, never read what is not a regular
// file, and read blobs only from regular files inside a real blob folder
// (ADR 0042). Every test here uses real symbolic links.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { main } from "@x/replay/cli";
import {
  BlobError,
  CassetteLoadError,
  CassetteSaveError,
  createCassette,
  createInteraction,
  fileStore,
  replay,
  replayAsync,
} from "@x/replay";
import { fileStoreKinds, get, texts, withFolder } from "./_helpers.ts";

const skip = process.platform === "win32" ? "symbolic links need privileges on Windows" : false;

const sha = (bytes: Uint8Array | string) => createHash("sha256").update(bytes).digest("hex");

/** A folder holding `checkout/` (the cassette folder) and `outside/` (what links point to). */
function withCheckout(body: (checkout: string, outside: string) => Promise<void>): Promise<void> {
  return withFolder(async (folder) => {
    const checkout = join(folder, "checkout");
    const outside = join(folder, "outside");
    mkdirSync(checkout);
    mkdirSync(outside);
    await body(checkout, outside);
  });
}

const journals = fileStoreKinds.filter(({ name }) => name.startsWith("journal"));

for (const { name, open } of journals) {
  test(`${name} replaces a linked journal with a regular file and leaves its target untouched`, {
    skip,
  }, async () => {
    await withCheckout(async (checkout, outside) => {
      const path = join(checkout, "c.json");
      // The link points at something precious that is not a journal.
      const precious = join(outside, "notes.txt");
      writeFileSync(precious, "do not truncate me\n");
      writeFileSync(path, '{"interactions": []}');
      symlinkSync(precious, `${path}.journal`);
      await open(path).save(createCassette([createInteraction(get("/a"), ["a"])]));
      assert.equal(readFileSync(precious, "utf8"), "do not truncate me\n");
      assert.ok(lstatSync(`${path}.journal`).isFile(), "the link became a regular file");
      const loaded = await open(path).load();
      assert.deepEqual(loaded.interactions.map((item) => item.request.target), ["/a"]);

      // A link to another cassette's journal: its lines are read through the
      // link and kept, the other journal stays as it was.
      const shared = join(outside, "shared.json");
      await open(shared, { createIfMissing: true }).save(
        createCassette([createInteraction(get("/shared"), ["s"])]),
      );
      const sharedJournal = readFileSync(`${shared}.journal`, "utf8");
      const second = join(checkout, "d.json");
      writeFileSync(second, '{"interactions": []}');
      symlinkSync(`${shared}.journal`, `${second}.journal`);
      const store = open(second);
      const before = await store.load();
      await store.save(
        createCassette([...before.interactions, createInteraction(get("/mine"), ["m"])]),
      );
      assert.equal(readFileSync(`${shared}.journal`, "utf8"), sharedJournal);
      assert.ok(lstatSync(`${second}.journal`).isFile());
      const after = await open(second).load();
      assert.deepEqual(after.interactions.map((item) => item.request.target), ["/shared", "/mine"]);
    });
  });

  test(`${name} creates nothing through a dangling journal link`, { skip }, async () => {
    await withCheckout(async (checkout, outside) => {
      const path = join(checkout, "c.json");
      const target = join(outside, "created-by-the-store");
      symlinkSync(target, `${path}.journal`);
      await open(path, { createIfMissing: true }).save(
        createCassette([createInteraction(get("/a"), ["a"])]),
      );
      assert.equal(existsSync(target), false);
      assert.deepEqual(readdirSync(outside), []);
      assert.equal((await open(path).load()).interactions.length, 1);
    });
  });
}

for (const { name, open } of fileStoreKinds) {
  test(`${name} refuses to write blobs into a linked blob folder, naming it`, {
    skip,
  }, async () => {
    await withCheckout(async (checkout, outside) => {
      const path = join(checkout, "c.json");
      symlinkSync(outside, `${path}.blobs`);
      const store = open(path, { createIfMissing: true, blobThreshold: 4 });
      await assert.rejects(
        Promise.resolve().then(() =>
          store.save(createCassette([createInteraction(get("/big"), ["0123456789"])]))
        ),
        (error: unknown) =>
          error instanceof CassetteSaveError &&
          error.message.includes(`"${path}.blobs" is a symbolic link`),
      );
      assert.deepEqual(readdirSync(outside), [], "nothing was written through the link");
    });
  });

  test(`${name} replaces a blob that is a link with a regular file`, { skip }, async () => {
    await withCheckout(async (checkout, outside) => {
      const path = join(checkout, "c.json");
      const bytes = "the same bytes, somewhere else";
      const target = join(outside, "copy");
      writeFileSync(target, bytes);
      mkdirSync(`${path}.blobs`);
      symlinkSync(target, join(`${path}.blobs`, sha(bytes)));
      const store = open(path, { createIfMissing: true, blobThreshold: 4 });
      await store.save(createCassette([createInteraction(get("/big"), [bytes])]));
      assert.ok(lstatSync(join(`${path}.blobs`, sha(bytes))).isFile());
      assert.equal(readFileSync(target, "utf8"), bytes);
      const cassette = await open(path).load();
      assert.deepEqual(texts([...replay(cassette, get("/big"))]), [bytes]);
    });
  });
}

test("replay() and replayAsync() refuse a blob that is a link, or a blob folder that is one", {
  skip,
}, async () => {
  await withCheckout(async (checkout, outside) => {
    const path = join(checkout, "c.json");
    const bytes = "0123456789abcdef";
    fileStore(path, { createIfMissing: true, blobThreshold: 4 }).save(
      createCassette([createInteraction(get("/big"), [bytes])]),
    );
    const blob = join(`${path}.blobs`, sha(bytes));
    // The right bytes, but behind a link: refused all the same, so a link
    // cannot make replay read (and describe) files elsewhere.
    writeFileSync(join(outside, "copy"), bytes);
    unlinkSync(blob);
    symlinkSync(join(outside, "copy"), blob);
    const refusesLink = (error: unknown) =>
      error instanceof BlobError && error.reason === "unreadable" &&
      /is a symbolic link/.test(error.message);
    const cassette = fileStore(path).load();
    assert.throws(() => [...replay(cassette, get("/big"))], refusesLink);
    await assert.rejects(async () => {
      for await (const _ of replayAsync(cassette, get("/big"))) { /* drain */ }
    }, refusesLink);

    // The whole folder as a link to a real folder holding the right blob.
    const elsewhere = join(outside, "blobs");
    mkdirSync(elsewhere);
    writeFileSync(join(elsewhere, sha(bytes)), bytes);
    rmSync(`${path}.blobs`, { recursive: true });
    symlinkSync(elsewhere, `${path}.blobs`);
    const again = fileStore(path).load();
    assert.throws(() => [...replay(again, get("/big"))], refusesLink);
    await assert.rejects(async () => {
      for await (const _ of replayAsync(again, get("/big"))) { /* drain */ }
    }, refusesLink);
  });
});

async function cli(args: readonly string[], cwd: string) {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    cwd,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

test("main() compact --blobs deletes nothing through a linked blob folder", { skip }, async () => {
  await withCheckout(async (checkout, outside) => {
    writeFileSync(join(checkout, "c.json"), '{"interactions": []}');
    // What a hostile checkout would have the collector delete.
    const victims = ["0".repeat(64), "photo.jpg", ".bashrc"];
    for (const name of victims) writeFileSync(join(outside, name), name);
    symlinkSync(outside, join(checkout, "c.json.blobs"));
    const result = await cli(["compact", "c.json", "--blobs"], checkout);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /cannot prune "c\.json\.blobs": it is a symbolic link; blob files are removed only from a real folder, so nothing was removed/,
    );
    assert.deepEqual(readdirSync(outside).sort(), [...victims].sort());
  });
});

test("main() compact --blobs removes only blob names, and links as links", { skip }, async () => {
  await withCheckout(async (checkout, outside) => {
    const path = join(checkout, "c.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 4 }).save(
      createCassette([createInteraction(get("/big"), ["kept bytes"])]),
    );
    const blobs = `${path}.blobs`;
    const target = join(outside, "precious");
    writeFileSync(target, "precious");
    // An unused blob name that is a link: the link goes, its target stays.
    symlinkSync(target, join(blobs, "1".repeat(64)));
    // Names the library never writes stay, whatever they are.
    writeFileSync(join(blobs, "README.md"), "not a blob");
    symlinkSync(target, join(blobs, "shortcut"));
    mkdirSync(join(blobs, "2".repeat(64)));
    const result = await cli(["compact", "c.json", "--blobs"], checkout);
    assert.deepEqual(result, {
      code: 0,
      stdout: "c.json: no journal, nothing to compact; removed 1 unused blob file; " +
        "left 3 entries that are not blob files\n",
      stderr: "",
    });
    assert.equal(readFileSync(target, "utf8"), "precious");
    assert.deepEqual(
      readdirSync(blobs).sort(),
      ["2".repeat(64), "README.md", sha("kept bytes"), "shortcut"].sort(),
    );
  });
});

for (const { name, open } of fileStoreKinds) {
  test(`${name} takes over a lock that is a link at once, and leaves its target`, {
    skip,
  }, async () => {
    await withCheckout(async (checkout, outside) => {
      const path = join(checkout, "c.json");
      const target = join(outside, "lock-target");
      writeFileSync(target, "not a lock");
      symlinkSync(target, `${path}.lock`);
      // Long stale ages: only the link's nature can explain a quick save.
      const options = { createIfMissing: true, staleLockAge: 3_600_000, lockTimeout: 2_000 };
      await open(path, options).save(createCassette([createInteraction(get("/a"), ["a"])]));
      assert.equal(readFileSync(target, "utf8"), "not a lock");
      assert.equal(existsSync(`${path}.lock`), false);
      // A dangling link, too.
      symlinkSync(join(outside, "nothing-here"), `${path}.lock`);
      await open(path, options).save(createCassette([createInteraction(get("/b"), ["b"])]));
      assert.equal(existsSync(join(outside, "nothing-here")), false);
      assert.equal((await open(path).load()).interactions.length, 2);
      // A link where a writer breaking a lock puts its guard: moved aside, never written through.
      const guardTarget = join(outside, "guard-target");
      writeFileSync(guardTarget, "not a guard");
      symlinkSync(target, `${path}.lock`);
      symlinkSync(guardTarget, `${path}.lock.break`);
      await open(path, options).save(createCassette([createInteraction(get("/c"), ["c"])]));
      assert.equal(readFileSync(guardTarget, "utf8"), "not a guard");
      assert.equal(existsSync(`${path}.lock`), false);
      assert.equal(existsSync(`${path}.lock.break`), false);
      assert.equal((await open(path).load()).interactions.length, 3);
    });
  });

  test(`${name} refuses to read a cassette or journal that is not a regular file`, {
    skip: skip || (existsSync("/dev/zero") ? false : "needs /dev/zero"),
  }, async () => {
    await withCheckout(async (checkout) => {
      // An endless file behind a link would otherwise fill the memory.
      const path = join(checkout, "c.json");
      symlinkSync("/dev/zero", path);
      await assert.rejects(
        Promise.resolve().then(() => open(path).load()),
        (error: unknown) =>
          error instanceof CassetteLoadError &&
          /is a device, not a regular file/.test(error.message),
      );
      if (name.startsWith("journal")) {
        const other = join(checkout, "d.json");
        writeFileSync(other, '{"interactions": []}');
        symlinkSync("/dev/zero", `${other}.journal`);
        await assert.rejects(
          Promise.resolve().then(() => open(other).load()),
          (error: unknown) =>
            error instanceof CassetteLoadError &&
            /is a device, not a regular file/.test(error.message),
        );
      }
    });
  });
}
