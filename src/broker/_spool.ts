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
import { joinBytes } from "../core/_bytes.ts";
import { type PushStream, pushStream } from "../core/_push_stream.ts";
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
  /**
   * Starts reading a body to pass it on as it arrives (ADR 0053): in memory
   * while it stays under the threshold; once it reaches the threshold, it
   * goes to a file and, piece by piece, to `stream` as well. Resolves with
   * the bytes when the body ended first, `undefined` when it passed `limit`
   * first, else with the stream and the promise of the spooled file.
   * `stream` is read at the pace of the slower of the file and its reader;
   * cancelling it leaves the file being written, so the request can still
   * be recorded whole. A body that passes `limit` or fails errors `stream`
   * and rejects `done` (with `BodyTooLargeError` for the limit).
   */
  passOn(
    body: ReadableStream<Uint8Array> | null,
    declared: number | undefined,
    limit: number,
  ): Promise<Uint8Array<ArrayBuffer> | PassedOn | undefined>;
  /** Removes every file of this spool; bodies read from it cannot be read again. */
  close(): Promise<void>;
}

/** A body passed on as it arrives: the stream for the live call, and its spooled file once whole. */
export interface PassedOn {
  readonly stream: ReadableStream<Uint8Array>;
  readonly done: Promise<SpooledBody>;
}

/** A body passed on as it arrived went past the limit. */
export class BodyTooLargeError extends RangeError {
  /** The limit, in bytes. */
  readonly limit: number;

  constructor(limit: number) {
    super(`The request body is larger than this server's limit of ${limit} bytes`);
    this.name = "BodyTooLargeError";
    this.limit = limit;
  }
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
    pass?: PushStream,
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
          await pass?.give(bytes);
        };
        await put(first);
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (size + value.length > limit) {
            await reader.cancel().catch(() => undefined);
            pass?.fail(new BodyTooLargeError(limit));
            return undefined;
          }
          await put(value);
        }
      } finally {
        await handle.close();
      }
      pass?.end();
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

  /**
   * Reads a body into memory until it reaches the threshold (at once when
   * its declared length does): the whole body when it ends first,
   * `undefined` when it passes `limit` first (the stream is then cancelled),
   * else the bytes read so far and the locked reader of the rest, for a file.
   */
  async function begin(
    body: ReadableStream<Uint8Array> | null,
    declared: number | undefined,
    limit: number,
  ): Promise<Uint8Array<ArrayBuffer> | Begun | undefined> {
    if (body === null) return new Uint8Array(0);
    if (declared !== undefined && declared > limit) {
      await body.cancel().catch(() => undefined);
      return undefined;
    }
    const reader = body.getReader();
    try {
      const first = await gather(reader, declared, limit);
      if (first !== undefined && !(first instanceof Uint8Array)) {
        return { reader, prefix: first.prefix };
      }
      reader.releaseLock();
      return first;
    } catch (error) {
      reader.releaseLock();
      throw error;
    }
  }

  async function gather(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    declared: number | undefined,
    limit: number,
  ): Promise<Uint8Array<ArrayBuffer> | { readonly prefix: Uint8Array } | undefined> {
    const pieces: Uint8Array[] = [];
    let filled = 0;
    let toFile = declared !== undefined && declared >= threshold;
    while (!toFile) {
      const { done, value } = await reader.read();
      if (done) return joinBytes(pieces);
      if (filled + value.length > limit) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      pieces.push(value);
      filled += value.length;
      toFile = filled >= threshold;
    }
    return { prefix: joinBytes(pieces) };
  }

  return Object.freeze({
    async read(
      body: ReadableStream<Uint8Array> | null,
      declared: number | undefined,
      limit: number,
    ): Promise<ReadBody> {
      const begun = await begin(body, declared, limit);
      if (begun === undefined || begun instanceof Uint8Array) return begun;
      try {
        return await spool(begun.prefix, begun.reader, limit);
      } finally {
        begun.reader.releaseLock();
      }
    },
    async passOn(
      body: ReadableStream<Uint8Array> | null,
      declared: number | undefined,
      limit: number,
    ): Promise<Uint8Array<ArrayBuffer> | PassedOn | undefined> {
      const begun = await begin(body, declared, limit);
      if (begun === undefined || begun instanceof Uint8Array) return begun;
      const pass = pushStream();
      const done = spool(begun.prefix, begun.reader, limit, pass).then((spooled) => {
        if (spooled === undefined) throw new BodyTooLargeError(limit);
        return spooled;
      }, (error: unknown) => {
        pass.fail(error);
        throw error;
      }).finally(() => begun.reader.releaseLock());
      // Whoever takes it may fail before awaiting it; a failure here is
      // theirs to see, never an unhandled rejection.
      done.catch(() => undefined);
      return { stream: pass.stream, done };
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

/** A body that reached the threshold: what was read of it, and the reader of the rest. */
interface Begun {
  readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly prefix: Uint8Array;
}
