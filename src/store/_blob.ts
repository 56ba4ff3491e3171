// Chunk bytes kept in content-addressed files beside a cassette (ADR 0041):
// `<cassette file>.blobs/<sha256 of the bytes>`. Reading verifies size and
// hash before handing out a byte; writing goes through a temporary file and
// a rename, so a blob file is either absent or whole.
import * as crypto from "node:crypto";
import {
  closeSync,
  fsyncSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { join } from "node:path";
import process from "node:process";
import type { DataField, DataOf } from "../codec/_document.ts";
import { errorCode } from "./_file_ops.ts";
import {
  checkFolder,
  lstatIfExists,
  lstatIfExistsAsync,
  openRead,
  openReadSync,
  realFolder,
  realFolderSync,
} from "./_safe_fs.ts";
import {
  type BlobReader,
  blobReaderOf,
  bodyReaderOf,
  bodySize,
  chunkSize,
  heldBytes,
  heldBytesAsync,
  materializeAsync,
  sealBlobChunk,
  toChunk,
} from "../core/_model.ts";
import { borrowBytes } from "../core/_recycled.ts";
import { BlobError } from "../core/errors.ts";
import type { BlobRef, Interaction, InteractionRequest, ResponseChunk } from "../core/types.ts";

/** The blob folder of a cassette file. */
export function blobFolderOf(cassettePath: string): string {
  return `${cassettePath}.blobs`;
}

// One-shot hashing where the runtime has it (Node >= 20.12, Deno, Bun).
const oneShot = (crypto as {
  hash?: (algorithm: string, data: Uint8Array, encoding: "hex") => string;
}).hash;

/** SHA-256 of the bytes, lowercase hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return oneShot === undefined
    ? crypto.createHash("sha256").update(bytes).digest("hex")
    : oneShot("sha256", bytes, "hex");
}

function corrupt(path: string, ref: BlobRef, detail: string): BlobError {
  return new BlobError(path, ref.sha256, "corrupt", detail);
}

function failure(path: string, ref: BlobRef, error: unknown): BlobError {
  if (error instanceof BlobError) return error;
  if (errorCode(error) === "ENOENT") {
    return new BlobError(path, ref.sha256, "missing", "the file does not exist", { cause: error });
  }
  return new BlobError(
    path,
    ref.sha256,
    "unreadable",
    error instanceof Error ? error.message : String(error),
    { cause: error },
  );
}

function verify(
  path: string,
  ref: BlobRef,
  bytes: Uint8Array,
  filled: number,
  extra: number,
  hashed: boolean,
) {
  if (filled < ref.size || extra > 0) {
    throw corrupt(
      path,
      ref,
      `expected ${ref.size} bytes, found ${extra > 0 ? "more" : filled}`,
    );
  }
  if (!hashed) return;
  const actual = sha256Hex(bytes);
  if (actual !== ref.sha256) {
    throw corrupt(path, ref, `its bytes hash to ${actual}, not to its name`);
  }
}

/** A blob file's name: the SHA-256 of its bytes as 64 lowercase hex characters. */
export const BLOB_NAME: RegExp = /^[0-9a-f]{64}$/;
/** The name of a blob's temporary file while it is written (a crash may leave one). */
export const BLOB_TEMPORARY_NAME: RegExp = /^\.[0-9a-f]{64}\.\d+\.[0-9a-f]+\.tmp$/;

// A blob is read only from a regular file directly inside a real blob
// folder (ADR 0042): a link in a checkout must not make replay read, hash
// and describe files elsewhere.
function checkReadable(folder: string, path: string, ref: BlobRef): void {
  if (!BLOB_NAME.test(ref.sha256)) throw corrupt(path, ref, "its name is not a SHA-256");
  const status = lstatIfExists(folder);
  if (status !== undefined) checkFolder(folder, status, "read blobs");
}

async function checkReadableAsync(folder: string, path: string, ref: BlobRef): Promise<void> {
  if (!BLOB_NAME.test(ref.sha256)) throw corrupt(path, ref, "its name is not a SHA-256");
  const status = await lstatIfExistsAsync(folder);
  if (status !== undefined) checkFolder(folder, status, "read blobs");
}

/**
 * A reader of the blobs in `folder`. `hashed: false` checks sizes only: for
 * a private folder of files this process wrote and hashed itself (a spool
 * of request bodies), never for a cassette's blob folder.
 */
export function blobReader(folder: string, hashed = true): BlobReader {
  return Object.freeze({
    folder,
    readSync(ref: BlobRef, lend = false): Uint8Array<ArrayBuffer> {
      const path = join(folder, ref.sha256);
      try {
        checkReadable(folder, path, ref);
        const descriptor = openReadSync(path, false);
        try {
          const bytes = lend ? borrowBytes(ref.size) : new Uint8Array(ref.size);
          let filled = 0;
          while (filled < ref.size) {
            const count = readSync(descriptor, bytes, filled, ref.size - filled, null);
            if (count === 0) break;
            filled += count;
          }
          const extra = readSync(descriptor, new Uint8Array(1), 0, 1, null);
          verify(path, ref, bytes, filled, extra, hashed);
          return bytes;
        } finally {
          closeSync(descriptor);
        }
      } catch (error) {
        throw failure(path, ref, error);
      }
    },
    async read(ref: BlobRef, lend = false): Promise<Uint8Array<ArrayBuffer>> {
      const path = join(folder, ref.sha256);
      try {
        await checkReadableAsync(folder, path, ref);
        const handle = await openRead(path, false);
        try {
          const bytes = lend ? borrowBytes(ref.size) : new Uint8Array(ref.size);
          let filled = 0;
          while (filled < ref.size) {
            const { bytesRead } = await handle.read(bytes, filled, ref.size - filled, null);
            if (bytesRead === 0) break;
            filled += bytesRead;
          }
          const { bytesRead: extra } = await handle.read(new Uint8Array(1), 0, 1, null);
          verify(path, ref, bytes, filled, extra, hashed);
          return bytes;
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw failure(path, ref, error);
      }
    },
    eachSync(ref: BlobRef, visit: (piece: Uint8Array<ArrayBuffer>) => boolean | void): void {
      const path = join(folder, ref.sha256);
      try {
        checkReadable(folder, path, ref);
        const descriptor = openReadSync(path, false);
        try {
          const check = new PieceCheck(path, ref, hashed);
          for (;;) {
            const piece = new Uint8Array(check.nextSize());
            const count = readSync(descriptor, piece, 0, piece.length, null);
            if (count === 0) break;
            const read = piece.subarray(0, count);
            check.take(read);
            if (visit(read) === false) return;
          }
          check.end();
        } finally {
          closeSync(descriptor);
        }
      } catch (error) {
        throw failure(path, ref, error);
      }
    },
    async each(ref: BlobRef, visit: (piece: Uint8Array<ArrayBuffer>) => unknown): Promise<void> {
      const path = join(folder, ref.sha256);
      try {
        await checkReadableAsync(folder, path, ref);
        const handle = await openRead(path, false);
        try {
          const check = new PieceCheck(path, ref, hashed);
          for (;;) {
            const piece = new Uint8Array(check.nextSize());
            const { bytesRead } = await handle.read(piece, 0, piece.length, null);
            if (bytesRead === 0) break;
            const read = piece.subarray(0, bytesRead);
            check.take(read);
            await visit(read);
          }
          check.end();
        } finally {
          await handle.close();
        }
      } catch (error) {
        throw failure(path, ref, error);
      }
    },
  });
}

/** Size of the pieces `eachSync()` and `each()` hand out. */
const READ_PIECE = 1 << 20;

/**
 * The size and hash check of a blob read in pieces: each piece is hashed as
 * it is read, and a file longer than its reference fails before the extra
 * bytes are handed out.
 */
class PieceCheck {
  readonly #path: string;
  readonly #ref: BlobRef;
  readonly #hash: crypto.Hash | undefined;
  #filled = 0;

  constructor(path: string, ref: BlobRef, hashed: boolean) {
    this.#path = path;
    this.#ref = ref;
    this.#hash = hashed ? crypto.createHash("sha256") : undefined;
  }

  /** How much to read next: a piece, or one byte past the end to find a longer file. */
  nextSize(): number {
    return Math.max(1, Math.min(READ_PIECE, this.#ref.size - this.#filled));
  }

  /** Counts and hashes a piece just read; throws when the file is longer than its reference. */
  take(piece: Uint8Array): void {
    if (this.#filled + piece.length > this.#ref.size) {
      throw corrupt(this.#path, this.#ref, `expected ${this.#ref.size} bytes, found more`);
    }
    this.#filled += piece.length;
    this.#hash?.update(piece);
  }

  /** Checks the size and hash once the file has ended. */
  end(): void {
    if (this.#filled < this.#ref.size) {
      throw corrupt(
        this.#path,
        this.#ref,
        `expected ${this.#ref.size} bytes, found ${this.#filled}`,
      );
    }
    if (this.#hash === undefined) return;
    const actual = this.#hash.digest("hex");
    if (actual !== this.#ref.sha256) {
      throw corrupt(this.#path, this.#ref, `its bytes hash to ${actual}, not to its name`);
    }
  }
}

function temporaryName(folder: string, sha256: string): string {
  return join(folder, `.${sha256}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`);
}

const HASH_PIECE = 1 << 20;

/** Whether the regular file at `path` holds exactly the bytes named `sha256`. */
function holdsSync(path: string, sha256: string): boolean {
  const descriptor = openReadSync(path, false);
  try {
    const hash = crypto.createHash("sha256");
    const piece = new Uint8Array(HASH_PIECE);
    for (;;) {
      const count = readSync(descriptor, piece, 0, piece.length, null);
      if (count === 0) break;
      hash.update(piece.subarray(0, count));
    }
    return hash.digest("hex") === sha256;
  } finally {
    closeSync(descriptor);
  }
}

async function holds(path: string, sha256: string): Promise<boolean> {
  const handle = await openRead(path, false);
  try {
    const hash = crypto.createHash("sha256");
    const piece = new Uint8Array(HASH_PIECE);
    for (;;) {
      const { bytesRead } = await handle.read(piece, 0, piece.length, null);
      if (bytesRead === 0) break;
      hash.update(piece.subarray(0, bytesRead));
    }
    return hash.digest("hex") === sha256;
  } finally {
    await handle.close();
  }
}

/**
 * What a blob is written from: bytes, or the chunk or request that holds
 * them, read only when the blob is not there yet. A holder whose bytes are a
 * blob file of another folder (a spooled request body, another cassette's
 * blob) is copied from it in pieces and checked before the rename, never
 * read whole.
 */
export type BlobSource = Uint8Array | ResponseChunk | InteractionRequest;

/** The blob file behind a holder, with the reader of its folder, if its bytes are one. */
function fileOf(
  source: BlobSource,
): { readonly reader: BlobReader; readonly ref: BlobRef } | undefined {
  if (source instanceof Uint8Array) return undefined;
  const reader = "body" in source ? bodyReaderOf(source) : blobReaderOf(source);
  const ref = "body" in source ? source.bodyBlob : source.blob;
  return reader === undefined || ref === undefined ? undefined : { reader, ref };
}

function sizeOf(source: BlobSource): number {
  if (source instanceof Uint8Array) return source.length;
  return "body" in source ? bodySize(source) : chunkSize(source);
}

/**
 * Writes a blob unless a regular file with exactly these bytes is already
 * there. A file of the right size with other bytes (damaged in place) or a
 * link is replaced; the blob folder must be a real folder, never a link.
 */
export function writeBlobSync(folder: string, sha256: string, source: BlobSource): void {
  const path = join(folder, sha256);
  realFolderSync(folder, "write blobs");
  const existing = lstatIfExists(path);
  if (existing?.isFile() === true && existing.size === sizeOf(source) && holdsSync(path, sha256)) {
    return;
  }
  const temporary = temporaryName(folder, sha256);
  try {
    const descriptor = openSync(temporary, "wx");
    try {
      const put = (bytes: Uint8Array): void => {
        let written = 0;
        while (written < bytes.length) {
          written += writeSync(descriptor, bytes, written, bytes.length - written);
        }
      };
      const file = fileOf(source);
      if (file !== undefined) file.reader.eachSync(file.ref, put);
      else put(source instanceof Uint8Array ? source : heldBytes(source));
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
    // Renaming over a link replaces the link, never its target.
    renameSync(temporary, path);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // Already gone, or never created.
    }
    throw error;
  }
}

/** The asynchronous twin of `writeBlobSync()`. */
export async function writeBlob(folder: string, sha256: string, source: BlobSource): Promise<void> {
  const path = join(folder, sha256);
  await realFolder(folder, "write blobs");
  const existing = await lstatIfExistsAsync(path);
  if (
    existing?.isFile() === true && existing.size === sizeOf(source) &&
    (await holds(path, sha256))
  ) {
    return;
  }
  const temporary = temporaryName(folder, sha256);
  try {
    const handle = await open(temporary, "wx");
    try {
      const put = async (bytes: Uint8Array): Promise<void> => {
        let written = 0;
        while (written < bytes.length) {
          written += (await handle.write(bytes, written, bytes.length - written)).bytesWritten;
        }
      };
      const file = fileOf(source);
      if (file !== undefined) await file.reader.each(file.ref, put);
      else await put(source instanceof Uint8Array ? source : await heldBytesAsync(source));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** A blob to write before the cassette text that refers to it. */
export interface PendingBlob {
  readonly sha256: string;
  /** The chunk, or the request, holding the bytes; read only when the blob is written. */
  readonly holder: ResponseChunk | InteractionRequest;
}

/**
 * How a cassette's chunks and request bodies are written: the data field of
 * each, and the blobs it needs.
 */
export interface Externalized {
  readonly dataOf: DataOf;
  readonly blobs: readonly PendingBlob[];
}

const hashes = new WeakMap<ResponseChunk | InteractionRequest, string>();

// Hashing in-memory bytes once is enough: they cannot change.
function hashOf(holder: ResponseChunk | InteractionRequest, blob: BlobRef | undefined): string {
  if (blob !== undefined) return blob.sha256;
  let known = hashes.get(holder);
  if (known === undefined) {
    known = sha256Hex(heldBytes(holder));
    hashes.set(holder, known);
  }
  return known;
}

/**
 * Whether a store with this blob folder and threshold must write `chunk` to
 * a blob: big enough, not empty, and not in that folder already.
 */
function needsBlob(reader: BlobReader, threshold: number, chunk: ResponseChunk): boolean {
  const size = chunkSize(chunk);
  return size >= threshold && size > 0 && blobReaderOf(chunk)?.folder !== reader.folder;
}

/**
 * Decides, chunk by chunk and body by body, how a store with blob folder
 * `reader.folder` writes them: bytes already in that folder stay references
 * at no cost; other chunks and request bodies of at least `threshold` bytes
 * are listed to be written as blobs; everything else is written inline.
 */
export function externalize(
  interactions: readonly Interaction[],
  reader: BlobReader,
  threshold: number | undefined,
): Externalized {
  const fields = new Map<ResponseChunk | InteractionRequest, DataField>();
  const blobs: PendingBlob[] = [];
  const seen = new Set<string>();
  const place = (
    holder: ResponseChunk | InteractionRequest,
    own: BlobReader | undefined,
    blob: BlobRef | undefined,
  ): void => {
    if (own !== undefined && own.folder === reader.folder) {
      fields.set(holder, { blob: blob!.sha256, size: blob!.size });
      return;
    }
    // The size is asked for only under a threshold: for a chunk read from a
    // file, knowing it means making its bytes from the text.
    if (threshold === undefined) return;
    const size = "body" in holder ? bodySize(holder) : chunkSize(holder);
    if (size >= threshold && size > 0) {
      const sha256 = hashOf(holder, blob);
      if (!seen.has(sha256)) {
        seen.add(sha256);
        blobs.push({ sha256, holder });
      }
      fields.set(holder, { blob: sha256, size });
    }
  };
  for (const interaction of interactions) {
    const request = interaction.request;
    place(request, bodyReaderOf(request), request.bodyBlob);
    for (const chunk of interaction.responseChunks) place(chunk, blobReaderOf(chunk), chunk.blob);
  }
  return { dataOf: (holder) => fields.get(holder), blobs };
}

/** A store's `offload()`: big chunks written to their blob now, kept as blob chunks. */
function offloadSync(reader: BlobReader, threshold: number, given: ResponseChunk): ResponseChunk {
  const chunk = toChunk(given, 0, "chunk");
  if (!needsBlob(reader, threshold, chunk)) return chunk;
  const bytes = chunk.data;
  const sha256 = hashOf(chunk, chunk.blob);
  writeBlobSync(reader.folder, sha256, bytes);
  return sealBlobChunk({ sha256, size: bytes.length }, reader, chunk.sequence, chunk.metadata);
}

/** The asynchronous twin of `offloadSync()`. */
async function offloadAsync(
  reader: BlobReader,
  threshold: number,
  given: ResponseChunk,
): Promise<ResponseChunk> {
  const chunk = toChunk(given, 0, "chunk");
  if (!needsBlob(reader, threshold, chunk)) return chunk;
  const bytes = (await materializeAsync(chunk)).data;
  const sha256 = hashOf(chunk, chunk.blob);
  await writeBlob(reader.folder, sha256, bytes);
  return sealBlobChunk({ sha256, size: bytes.length }, reader, chunk.sequence, chunk.metadata);
}

/** The `offload()` member of a store with a blob threshold; nothing without one. */
export function offloadMember(
  reader: BlobReader,
  threshold: number | undefined,
): { offload?: (chunk: ResponseChunk) => ResponseChunk } {
  return threshold === undefined
    ? {}
    : { offload: (chunk: ResponseChunk): ResponseChunk => offloadSync(reader, threshold, chunk) };
}

/** The asynchronous twin of `offloadMember()`. */
export function offloadMemberAsync(
  reader: BlobReader,
  threshold: number | undefined,
): { offload?: (chunk: ResponseChunk) => Promise<ResponseChunk> } {
  return threshold === undefined ? {} : {
    offload: (chunk: ResponseChunk): Promise<ResponseChunk> =>
      offloadAsync(reader, threshold, chunk),
  };
}
