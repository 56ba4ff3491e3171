// Request bodies too big to hold, written to temporary files as they arrive
// (ADR 0053). A spooled body becomes a request whose body is a blob file of
// the spool: it is fingerprinted, redacted, matched, sent upstream and
// copied into a store's blob folder from the file, a piece at a time.
import * as crypto from "node:crypto";
import { rmSync } from "node:fs";
import { mkdtemp, open, rename, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { BlobReader } from "../core/_model.ts";
import type { BlobRef } from "../core/types.ts";
import { blobReader } from "../store/_blob.ts";

/** A body written to the spool: its blob reference and the reader of its folder. */
export interface SpooledBody {
  readonly ref: BlobRef;
  readonly reader: BlobReader;
  /** Removes the file now, for a body nothing will read again. */
  discard(): Promise<void>;
}

/** What `Spool.read()` gives: the bytes in memory, the spooled file, or `undefined` (over the limit). */
export type ReadBody = Uint8Array<ArrayBuffer> | SpooledBody | undefined;

/** Temporary files for big request bodies, all under one private folder. */
export interface Spool {
  /**
   * Reads a body: into memory while it stays under the threshold, else into
   * a file of its own (at once when `declared` reaches the threshold).
   * `undefined` when it is larger than `limit` bytes (the stream is then
   * cancelled, and nothing of it is kept).
   */
  read(
    body: ReadableStream<Uint8Array> | null,
    declared: number | undefined,
    limit: number,
  ): Promise<ReadBody>;
  /** Removes every file of this spool; bodies read from it cannot be read again. */
  close(): Promise<void>;
}

// Folders to remove when the process exits, however it gets there.
const openRoots = new Set<string>();
let exitHook = false;

function removeAtExit(root: string): void {
  openRoots.add(root);
  if (exitHook) return;
  exitHook = true;
  process.once("exit", () => {
    for (const folder of openRoots) {
      try {
        rmSync(folder, { recursive: true, force: true });
      } catch {
        // Nothing more can be done while exiting.
      }
    }
  });
}

// A spooled body's folder goes once no request refers to its reader: the
// reader is what every request made from the body (normalised, redacted,
// recorded) holds on to.
const collected = new FinalizationRegistry<string>((folder) => {
  try {
    rmSync(folder, { recursive: true, force: true });
  } catch {
    // Left for the exit hook or the spool's close().
  }
});

/**
 * Creates a spool under `folder` (a fresh private folder in it, made when
 * the first body is spooled). Bodies of at least `threshold` bytes are
 * spooled.
 */
export function createSpool(threshold: number, folder: string = tmpdir()): Spool {
  let root: Promise<string> | undefined;
  let closed = false;
  const rootOf = (): Promise<string> => {
    root ??= mkdtemp(join(folder, "x-replay-spool-")).then((made) => {
      removeAtExit(made);
      return made;
    });
    return root;
  };

  async function spool(
    first: Uint8Array,
    reader: ReadableStreamDefaultReader<Uint8Array>,
    limit: number,
  ): Promise<SpooledBody | undefined> {
    if (closed) throw new Error("The spool for request bodies is closed");
    // mkdtemp() makes the folder readable by its owner alone (0700).
    const home = await mkdtemp(join(await rootOf(), "body-"));
    const part = join(home, "part");
    const hash = crypto.createHash("sha256");
    let size = 0;
    let kept = false;
    try {
      const handle = await open(part, "wx", 0o600);
      try {
        const put = async (bytes: Uint8Array): Promise<void> => {
          hash.update(bytes);
          size += bytes.length;
          let written = 0;
          while (written < bytes.length) {
            written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
          }
        };
        await put(first);
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (size + value.length > limit) {
            await reader.cancel().catch(() => undefined);
            return undefined;
          }
          await put(value);
        }
      } finally {
        await handle.close();
      }
      const ref = Object.freeze({ sha256: hash.digest("hex"), size });
      await rename(part, join(home, ref.sha256));
      // The file was hashed as it was written, in a folder only this user
      // can enter: its many reads check its size, not its hash again.
      const files = blobReader(home, false);
      collected.register(files, home);
      kept = true;
      return Object.freeze({
        ref,
        reader: files,
        discard: () => rm(home, { recursive: true, force: true }),
      });
    } finally {
      if (!kept) await rm(home, { recursive: true, force: true });
    }
  }

  return Object.freeze({
    async read(
      body: ReadableStream<Uint8Array> | null,
      declared: number | undefined,
      limit: number,
    ): Promise<ReadBody> {
      if (body === null) return new Uint8Array(0);
      if (declared !== undefined && declared > limit) {
        await body.cancel().catch(() => undefined);
        return undefined;
      }
      const reader = body.getReader();
      try {
        // Bytes are gathered in memory until they reach the threshold (at
        // once when the declared length does), then go to a file.
        const pieces: Uint8Array[] = [];
        let filled = 0;
        let toFile = declared !== undefined && declared >= threshold;
        while (!toFile) {
          const { done, value } = await reader.read();
          if (done) return joined(pieces, filled);
          if (filled + value.length > limit) {
            await reader.cancel().catch(() => undefined);
            return undefined;
          }
          pieces.push(value);
          filled += value.length;
          toFile = filled >= threshold;
        }
        return await spool(joined(pieces, filled), reader, limit);
      } finally {
        reader.releaseLock();
      }
    },
    async close(): Promise<void> {
      closed = true;
      if (root === undefined) return;
      const made = await root.catch(() => undefined);
      if (made === undefined) return;
      openRoots.delete(made);
      await rm(made, { recursive: true, force: true });
    },
  });
}

/** The pieces as one buffer of their own. */
function joined(pieces: readonly Uint8Array[], filled: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(filled);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
}
