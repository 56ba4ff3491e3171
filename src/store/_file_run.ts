// The two drivers of file procedures: one with node:fs's synchronous calls,
// one with node:fs/promises. They differ only in how each step is performed.
import {
  chmodSync,
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { chmod, link, mkdir, open, readdir, rename, stat, unlink } from "node:fs/promises";
import { writeBlob, writeBlobSync } from "./_blob.ts";
import { openRead, openReadSync } from "./_safe_fs.ts";
import { errorCode, type FileOp, type FileStatus, type Procedure } from "./_file_ops.ts";

// Pieces of a text are gathered into writes of about this many characters.
const WRITE_CHARS = 1024 * 1024;

/**
 * A text, or its pieces gathered into writes of about `WRITE_CHARS`
 * characters. They stay strings: the runtime's file write encodes a string
 * as UTF-8 itself, without a copy made in JavaScript.
 */
function* writes(text: string | Iterable<string>): Generator<string, void, undefined> {
  if (typeof text === "string") {
    yield text;
    return;
  }
  let pending = "";
  for (const piece of text) {
    if (pending === "" && piece.length >= WRITE_CHARS) {
      yield piece;
      continue;
    }
    pending += piece;
    if (pending.length >= WRITE_CHARS) {
      yield pending;
      pending = "";
    }
  }
  if (pending !== "") yield pending;
}

// Atomics.wait is the one portable way to sleep without a busy loop in
// synchronous code (Deno, Node and Bun all allow it on the main thread).
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function statusOf(value: { mtimeMs: number; mode: number }): FileStatus {
  return { mtimeMs: value.mtimeMs, mode: value.mode };
}

/** Performs one file step synchronously. */
export function performSync(op: FileOp): unknown {
  switch (op.kind) {
    case "read": {
      const descriptor = openReadSync(op.path, op.follow);
      try {
        return readFileSync(descriptor, "utf8");
      } finally {
        closeSync(descriptor);
      }
    }
    case "stat":
      try {
        return statusOf(statSync(op.path));
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    case "mkdirp":
      mkdirSync(op.path, { recursive: true });
      return undefined;
    case "create": {
      let descriptor: number;
      try {
        descriptor = openSync(op.path, "wx");
      } catch (error) {
        if (errorCode(error) === "EEXIST") return false;
        throw error;
      }
      try {
        writeFileSync(descriptor, op.text);
      } catch (error) {
        closeSync(descriptor);
        // A half-written lock file would block other writers until it is stale.
        discardSync(op.path);
        throw error;
      }
      closeSync(descriptor);
      return true;
    }
    case "writeDurable": {
      const descriptor = openSync(op.path, "wx");
      try {
        // Each call writes all its bytes at the file's position; it also
        // reports errors with Node's codes on every runtime (EFBIG, ENOSPC).
        for (const piece of writes(op.text)) writeFileSync(descriptor, piece);
        fsyncSync(descriptor);
      } finally {
        closeSync(descriptor);
      }
      if (op.mode !== undefined) keepMode(() => chmodSync(op.path, op.mode! & 0o7777));
      return undefined;
    }
    case "rename":
      try {
        renameSync(op.from, op.to);
        return true;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return false;
        throw error;
      }
    case "link":
      try {
        linkSync(op.from, op.to);
        return true;
      } catch {
        return false;
      }
    case "discard":
      discardSync(op.path);
      return undefined;
    case "list":
      return readdirSync(op.path);
    case "syncFolder":
      try {
        const descriptor = openSync(op.path, "r");
        try {
          fsyncSync(descriptor);
        } finally {
          closeSync(descriptor);
        }
      } catch {
        // Some systems (Windows) cannot open or flush a folder; the rename
        // is still atomic there, only its durability after power loss is weaker.
      }
      return undefined;
    case "sleep":
      Atomics.wait(sleeper, 0, 0, Math.max(0, op.milliseconds));
      return undefined;
    case "writeBlob":
      writeBlobSync(op.folder, op.sha256, op.holder);
      return undefined;
  }
}

/** Performs one file step with promises. */
export async function performAsync(op: FileOp): Promise<unknown> {
  switch (op.kind) {
    case "read": {
      const handle = await openRead(op.path, op.follow);
      try {
        return await handle.readFile("utf8");
      } finally {
        await handle.close();
      }
    }
    case "stat":
      try {
        return statusOf(await stat(op.path));
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    case "mkdirp":
      await mkdir(op.path, { recursive: true });
      return undefined;
    case "create": {
      let handle;
      try {
        handle = await open(op.path, "wx");
      } catch (error) {
        if (errorCode(error) === "EEXIST") return false;
        throw error;
      }
      try {
        await handle.writeFile(op.text);
      } catch (error) {
        await handle.close();
        // A half-written lock file would block other writers until it is stale.
        await unlink(op.path).catch(() => undefined);
        throw error;
      }
      await handle.close();
      return true;
    }
    case "writeDurable": {
      const handle = await open(op.path, "wx");
      try {
        for (const piece of writes(op.text)) await handle.writeFile(piece);
        await handle.sync();
      } finally {
        await handle.close();
      }
      if (op.mode !== undefined) {
        await chmod(op.path, op.mode & 0o7777).catch(() => undefined);
      }
      return undefined;
    }
    case "rename":
      try {
        await rename(op.from, op.to);
        return true;
      } catch (error) {
        if (errorCode(error) === "ENOENT") return false;
        throw error;
      }
    case "link":
      try {
        await link(op.from, op.to);
        return true;
      } catch {
        return false;
      }
    case "discard":
      await unlink(op.path).catch(() => undefined);
      return undefined;
    case "list":
      return await readdir(op.path);
    case "syncFolder":
      try {
        const handle = await open(op.path, "r");
        try {
          await handle.sync();
        } finally {
          await handle.close();
        }
      } catch {
        // See performSync.
      }
      return undefined;
    case "sleep":
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, op.milliseconds)));
      return undefined;
    case "writeBlob":
      await writeBlob(op.folder, op.sha256, op.holder);
      return undefined;
  }
}

function discardSync(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Cleaning up must never hide the error that made it necessary.
  }
}

// Keeping the previous file's permissions is a courtesy; failing to (on a
// system without POSIX modes) must not fail the save.
function keepMode(apply: () => void): void {
  try {
    apply();
  } catch {
    // See above.
  }
}

/**
 * Runs a procedure, performing each step it yields with `perform` and
 * handing back the result, or throwing the step's error into it.
 */
export function driveSync<S, T>(
  procedure: Generator<S, T, unknown>,
  perform: (step: S) => unknown,
): T {
  let step = procedure.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = perform(step.value);
    } catch (error) {
      step = procedure.throw(error);
      continue;
    }
    step = procedure.next(result);
  }
  return step.value;
}

/** The asynchronous twin of `driveSync()`: each step's result is awaited. */
export async function driveAsync<S, T>(
  procedure: Generator<S, T, unknown>,
  perform: (step: S) => Promise<unknown>,
): Promise<T> {
  let step = procedure.next();
  while (!step.done) {
    let result: unknown;
    try {
      result = await perform(step.value);
    } catch (error) {
      step = procedure.throw(error);
      continue;
    }
    step = procedure.next(result);
  }
  return step.value;
}

/** Runs a procedure with synchronous file calls. */
export function runSync<T>(procedure: Procedure<T>): T {
  return driveSync(procedure, performSync);
}

/** Runs a procedure with promise-based file calls. */
export function runAsync<T>(procedure: Procedure<T>): Promise<T> {
  return driveAsync(procedure, performAsync);
}
