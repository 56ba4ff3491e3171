// Faults that need a real process: killed in the middle of a save, and a
// write that fails after the temporary file was created.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import {
  appendInteraction,
  type Cassette,
  createCassette,
  createInteraction,
  createRequest,
  fileStore,
} from "@x/replay";
import { childCommand, runChild, strayFiles, withFolder } from "./_helpers.ts";

function big(target: string, kib: number) {
  return createInteraction(
    createRequest({ protocol: "http", action: "GET", target }),
    ["x".repeat(kib * 1024)],
  );
}

/**
 * Starts the looping saver and SIGKILLs it as soon as its temporary file
 * appears, i.e. in the middle of a save. Resolves with whether a temporary
 * file was still there after the kill. `prefix` runs the saver through
 * another program (`unshare`).
 */
async function killDuringSave(
  folder: string,
  path: string,
  prefix: readonly string[] = [],
): Promise<boolean> {
  const { command, args, cwd } = childCommand("_saver");
  const [program, ...rest] = [...prefix, command, ...args, "loop", path, "256"];
  const child = spawn(program!, rest, { cwd, stdio: "ignore" });
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  while (running) {
    if (readdirSync(folder).some((name) => name.endsWith(".tmp"))) {
      child.kill("SIGKILL");
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  await exited;
  return readdirSync(folder).some((name) => name.endsWith(".tmp"));
}

test("fileStore() leaves the old or the new cassette when its process is killed during a save", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    let expected: Cassette = createCassette();
    for (let i = 0; i < 24; i++) expected = appendInteraction(expected, big(`/initial/${i}`, 256));
    fileStore(path, { createIfMissing: true }).save(expected);

    let orphaned = false;
    for (let attempt = 0; attempt < 5 && !orphaned; attempt++) {
      orphaned = await killDuringSave(folder, path);
      // Whatever the moment of the kill, the file is a complete cassette: the
      // initial interactions plus the first j the child managed to save.
      const loaded = fileStore(path).load();
      const targets = loaded.interactions.map((interaction) => interaction.request.target);
      const before = expected.interactions.map((interaction) => interaction.request.target);
      assert.deepEqual(targets.slice(0, before.length), before);
      assert.deepEqual(
        targets.slice(before.length),
        targets.slice(before.length).map((_, i) => `/loop/${i}`),
      );
      expected = loaded;
    }
    // The kill did land mid-save at least once: a temporary file and the
    // lock of a dead process were left behind.
    assert.ok(orphaned, "no kill landed while a temporary file existed");
    assert.ok(readdirSync(folder).includes("cassette.json.lock"));

    // The next writer recovers by itself: the dead holder's lock is broken at
    // once (the child trusts no lock age) and its temporary file is removed.
    const recovery = await runChild("_saver", ["recover", path]);
    assert.equal(recovery.code, 0, recovery.stderr);
    assert.equal(recovery.stdout, "recovered\n");
    const final = fileStore(path).load();
    assert.deepEqual(
      final.interactions.map((interaction) => interaction.request.target),
      [...expected.interactions.map((interaction) => interaction.request.target), "/recovered"],
    );
    assert.deepEqual(strayFiles(folder, "cassette.json"), []);
  });
});

test(
  "fileStore() and fileStoreAsync() remove their temporary file and keep the old cassette when a write fails",
  {
    skip: process.platform === "win32" ? "needs a POSIX shell for ulimit" : false,
  },
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "cassette.json");
      fileStore(path, { createIfMissing: true }).save(createCassette([big("/small", 1)]));
      const before = readFileSync(path);
      // A file size limit makes writing the 1 MiB temporary file fail with
      // EFBIG after it was created: the same path as a full disk. The signal
      // the limit raises is ignored so that the write returns the error.
      const result = await runChild("_saver", ["fail-write", path, "1024"], {
        shellPrefix: "trap '' XFSZ; ulimit -f 512",
      });
      assert.equal(result.code, 0, result.stderr);
      const reports = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual(reports, [
        { name: "CassetteSaveError", path, cause: "EFBIG" },
        { name: "CassetteSaveError", path, cause: "EFBIG" },
      ]);
      assert.deepEqual(readFileSync(path), before);
      assert.deepEqual(strayFiles(folder, "cassette.json"), []);
    });
  },
);

// A PID namespace where the saver is PID 1, as in a container: `unshare`
// without root, where the kernel and the system allow it.
const PID_ONE = ["unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc"];
const pidNamespaces = process.platform === "linux" &&
  spawnSync(PID_ONE[0]!, [...PID_ONE.slice(1), "--kill-child", "true"]).status === 0;

test("fileStore() recovers the lock of a writer killed mid-save as PID 1, from another PID 1", {
  skip: pidNamespaces ? false : "needs unshare with user and PID namespaces",
}, async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "cassette.json");
    fileStore(path, { createIfMissing: true }).save(createCassette([big("/initial", 256)]));
    // Killing unshare kills its child, PID 1 of the namespace.
    const prefix = [...PID_ONE, "--kill-child"];
    let killed = false;
    for (let attempt = 0; attempt < 5 && !killed; attempt++) {
      killed = await killDuringSave(folder, path, prefix) &&
        existsSync(`${path}.lock`);
    }
    assert.ok(killed, "no kill landed while the lock was held");
    const lock = JSON.parse(readFileSync(`${path}.lock`, "utf8"));
    assert.equal(lock.pid, 1, "the writer was PID 1");
    // The next run is PID 1 again, on the same host name, in a new namespace:
    // the lock's PID is its own. It cannot ask the dead namespace, so the
    // lock is taken over once older than staleLockAge (here 500 ms), where it
    // used to count as held by a live process forever.
    const recovery = await runChild("_saver", ["recover", path, "500"], {
      prefix,
    });
    assert.equal(recovery.code, 0, recovery.stderr);
    assert.equal(recovery.stdout, "recovered\n");
    const targets = fileStore(path).load().interactions.map((item) => item.request.target);
    assert.equal(targets.at(-1), "/recovered");
    assert.deepEqual(strayFiles(folder, "cassette.json"), []);
  });
});
