// Lock holders are told apart by more than their PID (ADR 0015): the boot id,
// the PID namespace, the process start time and the thread, so that a lock
// left by a crashed writer whose PID is reused (a container's PID 1, or the
// current process) never blocks every later save.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import process from "node:process";
import {
  CassetteLockError,
  CassetteSaveError,
  createCassette,
  createInteraction,
  fileStore,
  fileStoreAsync,
} from "@x/replay";
import { fileStoreKinds, get, strayFiles, withFolder } from "./_helpers.ts";
import { fileCallsWatchable, watchFileCalls } from "./_fs_watch.ts";

// Deno reads /proc only with --allow-all; the stores then go without these
// facts (ADR 0019). These tests run on Node and Bun, and on Deno under
// --allow-all (the last command of the test:deno task).
function procReadable(): boolean {
  try {
    return process.platform === "linux" && readFileSync("/proc/self/stat", "latin1") !== "";
  } catch {
    return false;
  }
}
const linux = procReadable();
const skip = linux ? false : "process identities come from /proc on Linux (Deno: --allow-all)";

function startOf(pid: number | "self"): string {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]!;
}

function hostName(): string | null {
  try {
    return hostname();
  } catch {
    return null;
  }
}

/** What this process writes in a lock file, with `changes` applied. */
function identity(changes: Record<string, unknown> = {}): Record<string, unknown> {
  if (!linux) return {};
  return {
    pid: process.pid,
    host: hostName(),
    createdAt: Date.now(),
    token: "forged",
    thread: 0,
    boot: readFileSync("/proc/sys/kernel/random/boot_id", "latin1").trim(),
    pidns: String(statSync("/proc/self/ns/pid").ino),
    start: startOf("self"),
    ...changes,
  };
}

const one = createCassette([createInteraction(get("/one"), ["1"])]);

/** Options under which only the holder's identity, never age, can free a lock. */
const patient = { createIfMissing: true, staleLockAge: 3_600_000, lockTimeout: 1_000 };
/** Options under which a held lock fails the save at once. */
const hasty = { createIfMissing: true, staleLockAge: 3_600_000, lockTimeout: 30 };

const isLockFailure = (error: unknown) =>
  error instanceof CassetteSaveError && error.cause instanceof CassetteLockError;

/** A writer of this PID that crashed before us: what it left is stale. */
function dead(changes: Record<string, unknown> = {}): string {
  return JSON.stringify(identity({ start: String(Number(startOf("self")) - 1), ...changes }));
}

for (const { name, open } of fileStoreKinds) {
  test(`${name} takes over at once a lock with its own PID but another start time`, {
    skip,
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      // A writer that had this PID before (same host, same boot) and crashed.
      writeFileSync(`${path}.lock`, dead());
      await open(path, patient).save(one);
      assert.equal(existsSync(`${path}.lock`), false);
      assert.equal((await open(path).load()).interactions.length, 1);
    });
  });

  test(`${name} removes at once the fresh temporary file of the holder whose lock it took over`, {
    skip,
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      // The crashed writer had this PID (a restarted container) and was
      // killed while writing: its temporary file is younger than any age.
      writeFileSync(`${path}.lock`, dead());
      const host = hostName();
      const tag = host === null
        ? "nohost"
        : createHash("sha256").update(host).digest("hex").slice(0, 8);
      const leftover = join(folder, `.c.json.${tag}.${process.pid}.0123456789ab.tmp`);
      writeFileSync(leftover, "half a cassette");
      await open(path, patient).save(one);
      assert.equal(existsSync(leftover), false, "the predecessor's temporary file is gone");
      assert.deepEqual(strayFiles(folder, "c.json", "c.json.journal"), []);
    });
  });

  test(`${name} takes over at once a lock of its own thread that no store holds`, {
    skip,
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      // Everything says "this thread", but no save of this thread holds it:
      // a release that failed, or a file copied from elsewhere.
      writeFileSync(`${path}.lock`, JSON.stringify(identity()));
      await open(path, patient).save(one);
      assert.equal(existsSync(`${path}.lock`), false);
    });
  });

  test(`${name} waits for a lock of another thread of its own process`, { skip }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      const lock = JSON.stringify(identity({ thread: 7 }));
      writeFileSync(`${path}.lock`, lock);
      await assert.rejects(
        Promise.resolve().then(() => open(path, hasty).save(one)),
        isLockFailure,
      );
      assert.equal(readFileSync(`${path}.lock`, "utf8"), lock);
    });
  });

  test(`${name} does not judge a lock from another PID namespace by its PID`, {
    skip,
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      // The PID does not exist here, but it may in the writer's namespace
      // (another container with the same host name): only age can tell.
      const exited = spawnSync(process.execPath, ["--version"]);
      const lock = JSON.stringify(identity({ pid: exited.pid, pidns: "1", start: "1" }));
      writeFileSync(`${path}.lock`, lock);
      await assert.rejects(
        Promise.resolve().then(() => open(path, hasty).save(one)),
        isLockFailure,
      );
      assert.equal(readFileSync(`${path}.lock`, "utf8"), lock);
      await open(path, { ...hasty, staleLockAge: 0 }).save(one);
    });
  });

  test(`${name} never takes over a running holder's lock, and takes over a reused PID's`, {
    skip,
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      const holder = spawn("sleep", ["30"], { stdio: "ignore" });
      try {
        await new Promise((resolve) => setTimeout(resolve, 100));
        const pid = holder.pid!;
        // Old, but its holder is running with the start time it wrote.
        const old = Date.now() - 3_600_000;
        const running = JSON.stringify(identity({ pid, start: startOf(pid), createdAt: old }));
        writeFileSync(`${path}.lock`, running);
        await assert.rejects(
          Promise.resolve().then(() => open(path, { ...hasty, staleLockAge: 0 }).save(one)),
          isLockFailure,
        );
        assert.equal(readFileSync(`${path}.lock`, "utf8"), running);
        // The same PID with another start time: a new process took a dead holder's PID.
        const reused = String(Number(startOf(pid)) + 1);
        writeFileSync(`${path}.lock`, JSON.stringify(identity({ pid, start: reused })));
        await open(path, patient).save(one);
        assert.equal(existsSync(`${path}.lock`), false);
      } finally {
        holder.kill("SIGKILL");
      }
    });
  });

  test(`${name} waits while another writer is breaking a stale lock`, { skip }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      const lock = dead();
      writeFileSync(`${path}.lock`, lock);
      // Another thread of this process is breaking it this instant.
      const guard = JSON.stringify(identity({ thread: 7, token: "breaking" }));
      writeFileSync(`${path}.lock.break`, guard);
      await assert.rejects(
        Promise.resolve().then(() => open(path, hasty).save(one)),
        isLockFailure,
      );
      assert.equal(readFileSync(`${path}.lock`, "utf8"), lock);
      assert.equal(readFileSync(`${path}.lock.break`, "utf8"), guard);
    });
  });

  test(`${name} clears the guard of a writer that died while breaking a lock`, {
    skip,
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      writeFileSync(`${path}.lock`, dead());
      writeFileSync(`${path}.lock.break`, dead({ token: "breaking" }));
      await open(path, patient).save(one);
      assert.deepEqual(strayFiles(folder, "c.json", "c.json.journal"), []);
      // With no lock to break, the next save clears a guard left behind too.
      writeFileSync(`${path}.lock.break`, dead({ token: "breaking" }));
      await open(path, patient).save(createCassette([createInteraction(get("/two"), ["2"])]));
      assert.deepEqual(strayFiles(folder, "c.json", "c.json.journal"), []);
      assert.equal((await open(path).load()).interactions.length, 2);
    });
  });

  test(`${name} never moves a lock that replaced the stale one it judged`, {
    skip: skip || (fileCallsWatchable ? false : "watching the stores' file calls needs Node"),
  }, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      const lockPath = `${path}.lock`;
      writeFileSync(lockPath, dead());
      // Between the writer's read of the stale lock and its break, the
      // holder releases it and another writer takes it: moving it now would
      // leave two writers each holding the lock.
      const live = JSON.stringify(identity({ thread: 7, token: "taken meanwhile" }));
      let guarded = false;
      let lockMoved = false;
      await watchFileCalls({
        opening(opened, flags) {
          if (guarded || opened !== `${lockPath}.break` || flags !== "wx") return;
          guarded = true;
          unlinkSync(lockPath);
          writeFileSync(lockPath, live);
        },
        renaming(from) {
          if (guarded && from === lockPath) lockMoved = true;
        },
      }, async () => {
        await assert.rejects(
          Promise.resolve().then(() => open(path, hasty).save(one)),
          isLockFailure,
        );
      });
      assert.equal(guarded, true, "the writer took the guard to break the lock");
      assert.equal(lockMoved, false, "the live lock was never moved aside");
      assert.equal(readFileSync(lockPath, "utf8"), live);
      assert.deepEqual(strayFiles(folder, "c.json.lock"), []);
    });
  });
}

test("fileStore() fails at once, saying why, on a lock an asynchronous save of its thread holds", {
  skip,
}, async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "c.json");
    // Big enough that the asynchronous save holds the lock across many turns.
    const body = "x".repeat(8 << 20);
    let seen = false;
    for (let attempt = 0; attempt < 20 && !seen; attempt++) {
      const saving = fileStoreAsync(path, { createIfMissing: true }).save(
        createCassette([createInteraction(get(`/big/${attempt}`), [body])]),
      );
      while (!seen) {
        if (existsSync(`${path}.lock`)) {
          seen = true;
          const started = Date.now();
          assert.throws(
            () => fileStore(path, { lockTimeout: 20_000 }).save(one),
            (error: unknown) =>
              isLockFailure(error) &&
              /held by an asynchronous save in this thread/.test((error as Error).message),
          );
          assert.ok(Date.now() - started < 5_000, "it did not wait for the lock timeout");
          break;
        }
        const done = await Promise.race([
          saving.then(() => true),
          new Promise((resolve) => setImmediate(() => resolve(false))),
        ]);
        if (done) break;
      }
      await saving;
    }
    assert.ok(seen, "the asynchronous save was never seen holding the lock");
  });
});
