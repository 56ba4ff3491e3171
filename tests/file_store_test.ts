import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";
import {
  appendInteraction,
  type AsyncCassetteStore,
  type Cassette,
  CassetteFormatError,
  CassetteLoadError,
  CassetteLockError,
  CassetteSaveError,
  createCassette,
  createInteraction,
  createRequest,
  fileStore,
  fileStoreAsync,
  type FileStoreOptions,
  InteractionValidationError,
  parseCassette,
  stringifyCassette,
} from "@x/replay";
import { get, strayFiles, withFolder } from "./_helpers.ts";

interface Flavour {
  readonly name: string;
  readonly open: (path: string | URL, options?: FileStoreOptions) => AsyncCassetteStore & {
    readonly path: string;
    readonly format: string;
  };
}

// The async suite runs the sync store through promises so one test body
// covers both twins.
const flavours: readonly Flavour[] = [
  {
    name: "fileStore()",
    open: (path, options) => {
      const store = fileStore(path, options);
      return {
        path: store.path,
        format: store.format,
        load: () => Promise.resolve().then(() => store.load()),
        save: (cassette: Cassette) => Promise.resolve().then(() => store.save(cassette)),
      };
    },
  },
  { name: "fileStoreAsync()", open: (path, options) => fileStoreAsync(path, options) },
];

const one = createCassette([createInteraction(get("/one"), ["1"])]);
const two = appendInteraction(one, createInteraction(get("/two"), ["2"]));

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code;
}

function readHostName(): string | undefined {
  try {
    return hostname();
  } catch {
    return undefined;
  }
}

/**
 * Makes a folder read-only for this process, or says why it cannot: chmod
 * is enough for a normal user; root ignores it, so for root the folder is
 * made immutable with chattr where the file system allows.
 */
function makeReadOnly(folder: string): (() => void) | string {
  const probe = join(folder, ".probe");
  const writable = () => {
    try {
      writeFileSync(probe, "");
      unlinkSync(probe);
      return true;
    } catch {
      return false;
    }
  };
  chmodSync(folder, 0o555);
  if (!writable()) return () => chmodSync(folder, 0o755);
  chmodSync(folder, 0o755);
  const chattr = spawnSync("chattr", ["+i", folder]);
  if (chattr.status === 0 && !writable()) return () => void spawnSync("chattr", ["-i", folder]);
  if (chattr.status === 0) spawnSync("chattr", ["-i", folder]);
  return "running as root where chattr +i is not available, so no folder is read-only";
}

const readOnlyCheck = await withFolder((folder) => {
  const result = makeReadOnly(folder);
  if (typeof result === "function") {
    result();
    return false;
  }
  return result;
});

for (const flavour of flavours) {
  const { name } = flavour;

  test(`${name} tells the format from the extension unless told otherwise`, async () => {
    await withFolder(async (folder) => {
      for (const [file, format] of [["a.json", "json"], ["b.yaml", "yaml"], ["c.YML", "yaml"]]) {
        const store = flavour.open(join(folder, file!));
        assert.equal(store.format, format);
        await store.save(one);
        const written = readFileSync(store.path, "utf8");
        assert.equal(written, stringifyCassette(one, { format: format as "json" | "yaml" }));
      }
      const forced = flavour.open(join(folder, "cassette.txt"), { format: "yaml" });
      await forced.save(one);
      assert.deepEqual(parseCassette(readFileSync(forced.path, "utf8"), { format: "yaml" }), one);
      assert.throws(
        () => flavour.open(join(folder, "cassette.txt")),
        (error: unknown) =>
          error instanceof RangeError &&
          error.message.startsWith("Cannot open cassette store: cannot tell the format of") &&
          error.message.endsWith('expected ".json", ".yaml" or ".yml", or pass the format option'),
      );
    });
  });

  test(`${name} checks its arguments`, () => {
    assert.throws(() => flavour.open(""), TypeError);
    assert.throws(() => flavour.open("x.json", { format: "xml" as "json" }), RangeError);
    assert.throws(() => flavour.open("x.json", { lockTimeout: -1 }), RangeError);
    assert.throws(() => flavour.open("x.json", { staleLockAge: Number.NaN }), RangeError);
    assert.throws(
      () => flavour.open("x.json", { createIfMissing: "yes" as unknown as boolean }),
      TypeError,
    );
  });

  test(`${name} accepts a file: URL and keeps an absolute path`, async () => {
    await withFolder(async (folder) => {
      const store = flavour.open(pathToFileURL(join(folder, "url.json")));
      assert.equal(store.path, join(folder, "url.json"));
      await store.save(one);
      assert.deepEqual(await store.load(), one);
    });
  });

  test(`${name} throws CassetteLoadError for a missing file unless createIfMissing`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "missing.json");
      await assert.rejects(flavour.open(path).load(), (error: unknown) => {
        assert.ok(error instanceof CassetteLoadError);
        assert.equal(error.path, path);
        assert.equal(codeOf(error.cause), "ENOENT");
        assert.equal(
          error.message,
          `Cannot load cassette from "${path}": the file does not exist (pass createIfMissing: true to start with an empty cassette)`,
        );
        return true;
      });
      const empty = await flavour.open(path, { createIfMissing: true }).load();
      assert.equal(empty.interactions.length, 0);
      // Loading does not create the file; the first save does.
      assert.deepEqual(strayFiles(folder), []);
    });
  });

  test(`${name} throws CassetteLoadError with the parser's error as cause for a corrupted file`, async () => {
    await withFolder(async (folder) => {
      const json = join(folder, "bad.json");
      writeFileSync(json, '{"interactions": [}');
      await assert.rejects(flavour.open(json).load(), (error: unknown) => {
        assert.ok(error instanceof CassetteLoadError);
        assert.equal(error.path, json);
        assert.ok(error.cause instanceof CassetteFormatError);
        assert.equal(error.message, `Cannot load cassette from "${json}": ${error.cause.message}`);
        return true;
      });
      const yaml = join(folder, "bad.yaml");
      writeFileSync(yaml, "interactions:\n  - request: 42\n");
      await assert.rejects(
        flavour.open(yaml).load(),
        (error: unknown) =>
          error instanceof CassetteLoadError && error.cause instanceof CassetteFormatError &&
          error.cause.line === 2,
      );
      const tampered = join(folder, "tampered.json");
      writeFileSync(tampered, stringifyCassette(one).replace('"/one"', '"/changed"'));
      await assert.rejects(
        flavour.open(tampered, { createIfMissing: true }).load(),
        (error: unknown) =>
          error instanceof CassetteLoadError && error.cause instanceof InteractionValidationError,
      );
    });
  });

  test(`${name} throws CassetteLoadError for a path that is a folder`, async () => {
    await withFolder(async (folder) => {
      mkdirSync(join(folder, "dir.json"));
      await assert.rejects(
        flavour.open(join(folder, "dir.json"), { createIfMissing: true }).load(),
        (error: unknown) => error instanceof CassetteLoadError && codeOf(error.cause) === "EISDIR",
      );
    });
  });

  test(`${name} refuses to overwrite a file truncated mid-write, leaving it untouched`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      writeFileSync(path, stringifyCassette(two));
      truncateSync(path, Math.floor(statSync(path).size / 2));
      const before = readFileSync(path);
      const store = flavour.open(path, { createIfMissing: true });
      await assert.rejects(
        store.load(),
        (error: unknown) =>
          error instanceof CassetteLoadError && error.cause instanceof CassetteFormatError,
      );
      await assert.rejects(store.save(one), (error: unknown) => {
        assert.ok(error instanceof CassetteSaveError);
        assert.equal(error.path, path);
        assert.ok(error.cause instanceof CassetteFormatError);
        assert.match(error.message, /the file holds no valid cassette, so it was left as it is/);
        return true;
      });
      assert.deepEqual(readFileSync(path), before);
      assert.deepEqual(strayFiles(folder, "cassette.json"), []);
    });
  });

  test(`${name} creates missing parent folders on save`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "a", "b", "c", "cassette.yaml");
      const store = flavour.open(path, { createIfMissing: true });
      await store.save(one);
      assert.deepEqual(await flavour.open(path).load(), one);
    });
  });

  test(`${name} throws CassetteSaveError and CassetteLoadError when a parent path is a file`, async () => {
    await withFolder(async (folder) => {
      writeFileSync(join(folder, "file"), "not a folder");
      const path = join(folder, "file", "sub", "cassette.json");
      const store = flavour.open(path, { createIfMissing: true });
      await assert.rejects(store.save(one), (error: unknown) => {
        assert.ok(error instanceof CassetteSaveError);
        assert.equal(error.path, path);
        assert.equal(codeOf(error.cause), "ENOTDIR");
        return true;
      });
      await assert.rejects(
        store.load(),
        (error: unknown) => error instanceof CassetteLoadError && codeOf(error.cause) === "ENOTDIR",
      );
      assert.equal(readFileSync(join(folder, "file"), "utf8"), "not a folder");
    });
  });

  test(`${name} keeps the old cassette and leaves nothing behind in a read-only folder`, {
    skip: readOnlyCheck,
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const store = flavour.open(path);
      await store.save(one);
      const before = readFileSync(path);
      const restore = makeReadOnly(folder);
      assert.equal(typeof restore, "function");
      try {
        await assert.rejects(store.save(two), (error: unknown) => {
          assert.ok(error instanceof CassetteSaveError);
          assert.equal(error.path, path);
          assert.ok(["EACCES", "EPERM", "EROFS"].includes(codeOf(error.cause) as string));
          return true;
        });
        assert.deepEqual(readFileSync(path), before);
        assert.deepEqual(strayFiles(folder, "cassette.json"), []);
        assert.deepEqual(await flavour.open(path).load(), one);
      } finally {
        (restore as () => void)();
      }
    });
  });

  test(`${name} leaves no temporary or lock file and replaces the file atomically`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const store = flavour.open(path, { createIfMissing: true });
      await store.save(one);
      const firstInode = statSync(path).ino;
      await store.save(two);
      // A new inode: the file was replaced by a rename, not rewritten in place.
      assert.notEqual(statSync(path).ino, firstInode);
      assert.deepEqual(strayFiles(folder, "cassette.json"), []);
    });
  });

  test(`${name} does not rewrite the file when nothing is new`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const store = flavour.open(path, { createIfMissing: true });
      await store.save(two);
      const inode = statSync(path).ino;
      await store.save(two);
      await store.save(one);
      await flavour.open(path).save(await flavour.open(path).load());
      assert.equal(statSync(path).ino, inode);
    });
  });

  test(`${name} writes an empty cassette to a missing file`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "empty.json");
      await flavour.open(path, { createIfMissing: true }).save(createCassette());
      assert.equal(readFileSync(path, "utf8"), stringifyCassette(createCassette()));
    });
  });

  test(`${name} keeps the file's permissions`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const store = flavour.open(path, { createIfMissing: true });
      await store.save(one);
      chmodSync(path, 0o640);
      await store.save(two);
      assert.equal(statSync(path).mode & 0o777, 0o640);
    });
  });

  test(`${name} reads a byte order mark as nothing`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "bom.json");
      writeFileSync(path, `\uFEFF${stringifyCassette(one)}`);
      assert.deepEqual(await flavour.open(path).load(), one);
    });
  });

  test(`${name} reads interposition 0.6 files and writes back the same content`, async () => {
    await withFolder(async (folder) => {
      const original = readFileSync(
        new URL("./fixtures/interposition-0.6-cassette.json", import.meta.url),
        "utf8",
      );
      const path = join(folder, "cassette.json");
      writeFileSync(path, original);
      const cassette = await flavour.open(path).load();
      const copy = join(folder, "copy.json");
      await flavour.open(copy, { createIfMissing: true }).save(cassette);
      assert.deepEqual(JSON.parse(readFileSync(copy, "utf8")), JSON.parse(original));
    });
  });

  test(`${name} takes over an old lock whose holder cannot be asked`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      writeFileSync(
        `${path}.lock`,
        JSON.stringify({
          pid: 4242,
          host: "elsewhere.invalid",
          createdAt: Date.now() - 60_000,
          token: "t",
        }),
      );
      await flavour.open(path, { createIfMissing: true, staleLockAge: 30_000 }).save(one);
      assert.deepEqual(await flavour.open(path).load(), one);
      assert.deepEqual(strayFiles(folder, "cassette.json"), []);
    });
  });

  test(`${name} takes over an unreadable lock once it is old`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      writeFileSync(`${path}.lock`, "");
      const past = new Date(Date.now() - 60_000);
      utimesSync(`${path}.lock`, past, past);
      await flavour.open(path, { createIfMissing: true }).save(one);
      assert.deepEqual(strayFiles(folder, "cassette.json"), []);
    });
  });

  test(`${name} throws CassetteSaveError caused by CassetteLockError while a live lock is held`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const lock = JSON.stringify({
        pid: 4242,
        host: "elsewhere.invalid",
        createdAt: Date.now(),
        token: "t",
      });
      writeFileSync(`${path}.lock`, lock);
      const store = flavour.open(path, { createIfMissing: true, lockTimeout: 30 });
      await assert.rejects(store.save(one), (error: unknown) => {
        assert.ok(error instanceof CassetteSaveError);
        assert.ok(error.cause instanceof CassetteLockError);
        assert.equal(error.cause.lockPath, `${path}.lock`);
        assert.equal(error.cause.holder?.pid, 4242);
        assert.equal(error.cause.holder?.host, "elsewhere.invalid");
        assert.ok(error.cause.waited >= 30);
        assert.match(error.message, /is still held by process 4242 on "elsewhere\.invalid"/);
        return true;
      });
      // Someone else's lock is left alone, and nothing was written.
      assert.equal(readFileSync(`${path}.lock`, "utf8"), lock);
      assert.deepEqual(strayFiles(folder, "cassette.json.lock"), []);
      // A fresh unreadable lock may be one being written this instant: it is waited for too.
      writeFileSync(`${path}.lock`, "");
      await assert.rejects(
        store.save(one),
        (error: unknown) =>
          error instanceof CassetteSaveError && error.cause instanceof CassetteLockError &&
          error.cause.holder === undefined,
      );
    });
  });

  test(`${name} takes over at once a lock whose holder on this host has exited`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const exited = spawnSync(process.execPath, ["--version"]);
      assert.equal(exited.status, 0);
      const host = readHostName();
      writeFileSync(
        `${path}.lock`,
        JSON.stringify({
          pid: exited.pid,
          host: host ?? "unknown",
          createdAt: Date.now(),
          token: "t",
        }),
      );
      if (host !== undefined) {
        // Only the exit can explain success: the lock is far from stale by age.
        await flavour.open(path, { createIfMissing: true, staleLockAge: 3_600_000 }).save(one);
        assert.deepEqual(strayFiles(folder, "cassette.json"), []);
      } else {
        // Without the host name (Deno without --allow-sys) the holder cannot
        // be asked, and only age counts (ADR 0019).
        await assert.rejects(
          flavour.open(path, { createIfMissing: true, staleLockAge: 3_600_000, lockTimeout: 30 })
            .save(one),
          (error: unknown) =>
            error instanceof CassetteSaveError && error.cause instanceof CassetteLockError,
        );
      }
    });
  });

  test(`${name} removes temporary files left by a crashed writer, and only those`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      const past = new Date(Date.now() - 3_600_000);
      const orphan = ".cassette.json.deadbeef.4242.0123456789ab.tmp";
      const grave = ".cassette.json.deadbeef.4242.ba9876543210.stale";
      const recent = ".cassette.json.deadbeef.4243.0123456789ab.tmp";
      const unrelated = [".other.json.deadbeef.4242.0123456789ab.tmp", "notes.txt"];
      for (const name of [orphan, grave, recent, ...unrelated]) {
        writeFileSync(join(folder, name), "partial");
      }
      for (const name of [orphan, grave, ...unrelated]) utimesSync(join(folder, name), past, past);
      await flavour.open(path, { createIfMissing: true, staleLockAge: 60_000 }).save(one);
      assert.deepEqual(strayFiles(folder, "cassette.json"), [recent, ...unrelated].sort());
    });
  });
}

test("fileStoreAsync() waits for a held lock to be released", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    writeFileSync(
      `${path}.lock`,
      JSON.stringify({ pid: 4242, host: "elsewhere.invalid", createdAt: Date.now(), token: "t" }),
    );
    let released = false;
    setTimeout(() => {
      released = true;
      unlinkSync(`${path}.lock`);
    }, 50);
    await fileStoreAsync(path, { createIfMissing: true }).save(one);
    assert.equal(released, true);
    assert.deepEqual(fileStore(path).load(), one);
  });
});

test("fileStore() and fileStoreAsync() share one file format and lock", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.yaml");
    fileStore(path, { createIfMissing: true }).save(one);
    const store = fileStoreAsync(path);
    const loaded = await store.load();
    await store.save(
      appendInteraction(
        loaded,
        createInteraction(createRequest({ protocol: "p", action: "a", target: "t" }), ["x"]),
      ),
    );
    assert.equal(fileStore(path).load().interactions.length, 2);
  });
});
