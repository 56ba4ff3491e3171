// The append journal store (ADR 0040): a compacted JSON snapshot at `path`
// plus `path.journal`, one interaction per line. Written once as procedures
// that a sync or an async driver runs (ADR 0017), reusing the file stores'
// lock (ADR 0015) and atomic rewrite (ADR 0014).
import { closeSync, fsyncSync, ftruncateSync, readSync, statSync, writeSync } from "node:fs";
import { stat as statAsync } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { joinBytes } from "../core/_bytes.ts";
import { checkOptions, describe } from "../core/_check.ts";
import { type DataOf, fromDocument, toDocument } from "../codec/_document.ts";
import { externalize } from "./_blob.ts";
import {
  discard,
  errorCode,
  type FileOp,
  mkdirp,
  readIfExists,
  rename,
  stat,
  syncFolder,
  writeBlobs,
  writeDurable,
} from "./_file_ops.ts";
import {
  acquireLock,
  createFileState,
  type FileStoreState,
  holdsLock,
  parseText,
  releaseLock,
  removeOrphans,
  renderCassette,
  sha256OfText,
  uniqueName,
} from "./_file_procedures.ts";
import { driveAsync, driveSync, performAsync, performSync } from "./_file_run.ts";
import { LINK_REFUSED, openAppend, openAppendSync, openRead, openReadSync } from "./_safe_fs.ts";
import { formatFromExtension } from "../codec/_format.ts";
import { identityOf } from "./_merge.ts";
import { type BlobReader, sealCassette } from "../core/_model.ts";
import { BlobError, CassetteLoadError, CassetteSaveError } from "../core/errors.ts";
import { stringifyCassette } from "../codec/stringify_cassette.ts";
import type { Cassette, Interaction } from "../core/types.ts";

/** Options for `journalStore()` and `journalStoreAsync()`. */
export interface JournalStoreOptions {
  /**
   * Whether a missing snapshot loads as an empty cassette instead of failing.
   * Loading never creates files; the first save does.
   *
   * @default {false}
   */
  readonly createIfMissing?: boolean | undefined;
  /**
   * How long a save waits for another writer's lock, in milliseconds.
   *
   * @default {20000}
   */
  readonly lockTimeout?: number | undefined;
  /**
   * How old a lock must be, in milliseconds, to be taken over when its holder
   * cannot be asked whether it is still running.
   *
   * @default {10000}
   */
  readonly staleLockAge?: number | undefined;
  /**
   * Chunk data and request bodies of at least this many bytes go to a blob file,
   * `<path>.blobs/<sha256>`, referred to from the journal line or snapshot
   * (ADR 0041), as for `fileStore()`.
   *
   * @default {undefined} (every chunk inline)
   */
  readonly blobThreshold?: number | undefined;
}

/** The journal's own steps, beside the file stores' ones. */
type JournalOp =
  /** `{ size, ino, mtimeMs }`, or `undefined` when the path does not exist. */
  | { readonly kind: "jstat"; readonly path: string }
  /** The bytes from `offset` to the end, or `undefined` when the file does not exist. */
  | { readonly kind: "readFrom"; readonly path: string; readonly offset: number }
  /** Cuts the file to `keep` bytes (when given), appends `bytes`, flushes to the device. */
  | {
    readonly kind: "append";
    readonly path: string;
    readonly keep: number | undefined;
    readonly bytes: Uint8Array;
  };

type Step = FileOp | JournalOp;
type JournalProcedure<T> = Generator<Step, T, unknown>;

interface JournalStatus {
  readonly size: number;
  readonly ino: number;
  readonly mtimeMs: number;
}

/** What is known of the stored interactions, to read only the journal's new lines. */
interface Known {
  readonly snapshotKey: string;
  readonly journalIno: number | undefined;
  /** Bytes of the journal read so far (all complete, valid lines). */
  readonly journalEnd: number;
  /** Bytes of the journal the read saw: `journalEnd` and any torn last line after it. */
  readonly journalSize: number;
  /** Whether those bytes end with "\n": if not, the next append starts with one. */
  readonly terminated: boolean;
  readonly lines: number;
  readonly interactions: Interaction[];
  counts: Map<string, number> | undefined;
}

/** What a journal store knows about its files. */
export interface JournalState {
  readonly file: FileStoreState;
  readonly journalPath: string;
  readonly markerPath: string;
  known: Known | undefined;
}

/** Checks a journal store's arguments and resolves its paths. */
export function createJournalState(
  path: string | URL,
  options: JournalStoreOptions | undefined,
  sync: boolean,
): JournalState {
  checkOptions(options, "open journal store");
  const raw = path instanceof URL ? fileURLToPath(path) : path;
  if (typeof raw === "string" && raw !== "" && formatFromExtension(resolve(raw)) === "yaml") {
    throw new RangeError(
      `Cannot open journal store: "${
        resolve(raw)
      }" is a YAML path; the journal store writes JSON only`,
    );
  }
  const given = (options as { format?: unknown } | undefined)?.format;
  if (given !== undefined && given !== "json") {
    throw new RangeError(
      `Cannot open journal store: the format must be "json", got ${describe(given)}`,
    );
  }
  const file = createFileState(path, {
    format: "json",
    createIfMissing: options?.createIfMissing,
    lockTimeout: options?.lockTimeout,
    staleLockAge: options?.staleLockAge,
    blobThreshold: options?.blobThreshold,
  }, sync);
  return {
    file,
    journalPath: `${file.path}.journal`,
    markerPath: `${file.path}.journal.compacted`,
    known: undefined,
  };
}

function* journalStat(path: string): JournalProcedure<JournalStatus | undefined> {
  return (yield { kind: "jstat", path }) as JournalStatus | undefined;
}

function* readFrom(path: string, offset: number): JournalProcedure<Uint8Array | undefined> {
  return (yield { kind: "readFrom", path, offset }) as Uint8Array | undefined;
}

function* append(
  path: string,
  keep: number | undefined,
  bytes: Uint8Array,
): JournalProcedure<void> {
  yield { kind: "append", path, keep, bytes };
}

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true });

/** One journal line: the interaction as the cassette file writes it, then "\n". */
function journalLine(interaction: Interaction, dataOf: DataOf): string {
  const document = toDocument({ interactions: [interaction] } as unknown as Cassette, dataOf) as {
    interactions: unknown[];
  };
  return `${JSON.stringify(document.interactions[0])}\n`;
}

function parseLine(bytes: Uint8Array, reader: BlobReader): Interaction {
  const text = strictDecoder.decode(bytes);
  const document: unknown = JSON.parse(text);
  return fromDocument({ interactions: [document] }, (path, expected, value) => {
    throw new SyntaxError(
      `${path.replace(/^interactions\[0\]\.?/, "")} must be ${expected}, got ${describe(value)}`,
    );
  }, reader).interactions[0]!;
}

interface ParsedJournal {
  readonly interactions: Interaction[];
  /** Bytes of complete, valid lines. */
  readonly end: number;
  readonly lines: number;
  /** Whether those bytes end with "\n" (or are none). */
  readonly terminated: boolean;
}

/**
 * Parses journal bytes that start on a line boundary. A last line that does
 * not parse is a torn append and is dropped; a last line that parses but
 * lacks its "\n" (a hand edit, or a crash just before the newline) is kept.
 * Any other bad line is an error naming its 1-based line number.
 */
function parseJournal(
  bytes: Uint8Array,
  state: JournalState,
  firstLine: number,
): ParsedJournal {
  const journalPath = state.journalPath;
  const interactions: Interaction[] = [];
  let start = 0;
  let line = firstLine;
  let end = 0;
  let terminated = true;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const stop = newline === -1 ? bytes.length : newline;
    line++;
    try {
      interactions.push(parseLine(bytes.subarray(start, stop), state.file.reader));
    } catch (error) {
      // Torn: the last line does not parse. A blob its line refers to that
      // cannot be read is no torn append: the line is whole, its blob is not.
      if (!(error instanceof BlobError) && (newline === -1 || newline + 1 === bytes.length)) break;
      throw new CassetteLoadError(
        journalPath,
        error,
        `line ${line} of the journal is not a valid interaction: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
    if (newline === -1) {
      end = bytes.length;
      terminated = false;
      break;
    }
    start = newline + 1;
    end = start;
  }
  return { interactions, end, lines: firstLine + interactions.length, terminated };
}

function keyOf(status: JournalStatus | undefined): string {
  return status === undefined ? "none" : `${status.ino}:${status.size}:${status.mtimeMs}`;
}

interface Marker {
  readonly snapshot: string;
  readonly journalBytes: number;
}

function parseMarker(text: string | undefined): Marker | undefined {
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    if (typeof value.snapshot === "string" && typeof value.journalBytes === "number") {
      return { snapshot: value.snapshot, journalBytes: value.journalBytes };
    }
  } catch {
    // A marker that does not parse was never renamed into place whole; ignore it.
  }
  return undefined;
}

function parseSnapshot(state: JournalState, text: string): readonly Interaction[] {
  try {
    return parseText(text, "json", state.file.reader).interactions;
  } catch (error) {
    throw new CassetteLoadError(state.file.path, error);
  }
}

/**
 * Reads snapshot + journal, reusing what is known when the snapshot is
 * unchanged and the journal only grew (then only the new bytes are read).
 */
function* readStored(state: JournalState): JournalProcedure<Known> {
  for (let attempt = 0;; attempt++) {
    // The order matters against a concurrent compaction (ADR 0040): the
    // snapshot's status first, then the marker, then the journal, then the
    // snapshot's status again.
    const snapshotStatus = yield* journalStat(state.file.path);
    const markerText = yield* readIfExists(state.markerPath);
    const journalStatus = yield* journalStat(state.journalPath);
    const snapshotKey = keyOf(snapshotStatus);
    const known = state.known;
    if (
      markerText === undefined && known !== undefined && known.snapshotKey === snapshotKey &&
      // The journal we read, grown; or a first journal where there was none.
      (journalStatus === undefined
        ? known.journalEnd === 0
        : (known.journalIno === journalStatus.ino ||
          (known.journalIno === undefined && known.journalEnd === 0)) &&
          journalStatus.size >= known.journalEnd)
    ) {
      if (journalStatus === undefined || journalStatus.size === known.journalEnd) {
        const size = journalStatus?.size ?? 0;
        if (known.journalSize === size) return known;
        return (state.known = { ...known, journalSize: size });
      }
      let tail = (yield* readFrom(state.journalPath, known.journalEnd)) ?? new Uint8Array(0);
      const journalSize = known.journalEnd + tail.length;
      let skipped = 0;
      if (!known.terminated) {
        if (tail[0] !== 0x0a) {
          // The last line we kept without its "\n" has grown: read it all again.
          state.known = undefined;
          continue;
        }
        // Another writer ended that line before appending its own.
        skipped = 1;
        tail = tail.subarray(1);
      }
      const parsed = parseJournal(tail, state, known.lines);
      if (parsed.interactions.length > 0 && known.counts !== undefined) {
        for (const interaction of parsed.interactions) count(known.counts, interaction);
      }
      const next: Known = {
        snapshotKey,
        journalIno: journalStatus.ino,
        journalEnd: known.journalEnd + skipped + parsed.end,
        journalSize,
        terminated: parsed.terminated,
        lines: parsed.lines,
        // Appending in place keeps a save O(new interactions).
        interactions: pushAll(known.interactions, parsed.interactions),
        counts: known.counts,
      };
      state.known = next;
      return next;
    }
    let snapshot: readonly Interaction[];
    let snapshotText: string | undefined;
    if (snapshotStatus === undefined) {
      if (!state.file.createIfMissing) {
        throw new CassetteLoadError(
          state.file.path,
          undefined,
          "the file does not exist (pass createIfMissing: true to start with an empty cassette)",
        );
      }
      snapshot = [];
    } else {
      snapshotText = (yield* readIfExists(state.file.path)) ?? "";
      snapshot = parseSnapshot(state, snapshotText);
    }
    let journal = (yield* readFrom(state.journalPath, 0)) ?? new Uint8Array(0);
    // A compaction or replace that crashed after renaming its snapshot: the
    // snapshot already holds the journal's first bytes (ADR 0040).
    const marker = parseMarker(markerText);
    let skipped = 0;
    if (
      marker !== undefined && snapshotText !== undefined &&
      sha256OfText(snapshotText) === marker.snapshot
    ) {
      skipped = Math.min(marker.journalBytes, journal.length);
      journal = journal.subarray(skipped);
    }
    const parsed = parseJournal(journal, state, 0);
    // Loads take no lock: if a compaction replaced the snapshot while we
    // read, the journal we read may belong to another snapshot. Read again.
    const after = yield* journalStat(state.file.path);
    if (keyOf(after) !== snapshotKey && attempt < 5) continue;
    const result: Known = {
      snapshotKey,
      journalIno: skipped === 0 ? journalStatus?.ino : undefined,
      journalEnd: parsed.end,
      journalSize: journal.length,
      terminated: parsed.terminated,
      lines: parsed.lines,
      interactions: snapshot.concat(parsed.interactions),
      counts: undefined,
    };
    state.known = markerText === undefined ? result : undefined;
    return result;
  }
}

function pushAll(target: Interaction[], items: readonly Interaction[]): Interaction[] {
  for (const item of items) target.push(item);
  return target;
}

function count(counts: Map<string, number>, interaction: Interaction): void {
  const identity = identityOf(interaction);
  counts.set(identity, (counts.get(identity) ?? 0) + 1);
}

/** Loads snapshot + journal as one cassette. */
export function* loadJournal(state: JournalState): JournalProcedure<Cassette> {
  const known = yield* readStored(state);
  return sealCassette(known.interactions.slice());
}

function* withLock(
  state: JournalState,
  body: (token: string) => JournalProcedure<boolean>,
): JournalProcedure<void> {
  const started = Date.now();
  const deadline = started + state.file.lockTimeout;
  yield* mkdirp(state.file.folder);
  for (;;) {
    const token = yield* acquireLock(state.file, started, deadline);
    let committed = false;
    try {
      committed = yield* body(token);
    } catch (error) {
      state.known = undefined;
      throw error;
    } finally {
      yield* releaseLock(state.file, token);
    }
    if (committed) return;
    state.known = undefined;
    if (Date.now() >= deadline) {
      throw new CassetteSaveError(
        state.file.path,
        undefined,
        `another writer took over the lock "${state.file.lockPath}" before each attempt could finish`,
      );
    }
  }
}

/** Finishes or forgets a compaction that crashed. Runs under the lock. */
function* recover(state: JournalState): JournalProcedure<void> {
  yield* removeOrphans(state.file);
  const marker = parseMarker(yield* readIfExists(state.markerPath));
  const markerExists = (yield* stat(state.markerPath)) !== undefined;
  if (!markerExists) return;
  const snapshotText = yield* readIfExists(state.file.path);
  if (
    marker !== undefined && snapshotText !== undefined &&
    sha256OfText(snapshotText) === marker.snapshot
  ) {
    // The snapshot holds the journal; only its removal was missing.
    yield* discard(state.journalPath);
    yield* syncFolder(state.file.folder);
  }
  yield* discard(state.markerPath);
  state.known = undefined;
}

/** Writes `text` to `path` atomically (temporary file, flush, rename); false if the lock was lost. */
function* writeAtomic(
  state: JournalState,
  path: string,
  text: string | Iterable<string>,
  token: string,
): JournalProcedure<boolean> {
  const previous = yield* stat(path);
  const temporary = uniqueName(state.file, "tmp");
  try {
    yield* writeDurable(temporary, text, previous?.mode);
    if (!(yield* holdsLock(state.file, token))) {
      yield* discard(temporary);
      return false;
    }
    if (!(yield* rename(temporary, path))) return false;
  } catch (error) {
    yield* discard(temporary);
    throw error;
  }
  yield* syncFolder(state.file.folder);
  return true;
}

/** Appends the interactions of `cassette` that are not stored yet. */
export function* appendJournal(state: JournalState, cassette: Cassette): JournalProcedure<void> {
  yield* withLock(state, function* (token) {
    yield* recover(state);
    if ((yield* journalStat(state.file.path)) === undefined) {
      // The snapshot is what every other tool reads: create it, empty.
      if (!(yield* writeAtomic(state, state.file.path, emptySnapshot(), token))) return false;
      state.known = undefined;
    }
    const known = yield* readStored(state);
    const added = newInteractions(known, cassette);
    if (added.length === 0) return true;
    const journalStatus = yield* journalStat(state.journalPath);
    if (!(yield* holdsLock(state.file, token))) return false;
    // Bytes the read did not see can only come from a writer that believed
    // it held the lock too (one whose lock was taken over by age): they must
    // never be cut away below as a torn line. Start over and read them.
    if ((journalStatus?.size ?? 0) !== known.journalSize) return false;
    // A torn last line (a crashed append) is cut away before appending.
    const keep = journalStatus !== undefined && journalStatus.size > known.journalEnd
      ? known.journalEnd
      : undefined;
    const { dataOf, blobs } = externalize(added, state.file.reader, state.file.blobThreshold);
    // Blobs first: a line must never refer to a blob that is not there yet.
    yield* writeBlobs(state.file.reader.folder, blobs);
    // Writing blobs waits on the disk; the lock is checked again before the
    // append, which may cut the file to `keep`, so that it never runs on a
    // journal another writer has taken the lock for meanwhile.
    if (blobs.length > 0 && !(yield* holdsLock(state.file, token))) return false;
    // A kept last line without its "\n" gets it before the new lines.
    const text = (known.terminated ? "" : "\n") +
      added.map((interaction) => journalLine(interaction, dataOf)).join("");
    const bytes = encoder.encode(text);
    try {
      yield* append(state.journalPath, keep, bytes);
    } catch (error) {
      if (errorCode(error) !== LINK_REFUSED) throw error;
      // The journal is a link (git stores them): appending would write into
      // its target. It becomes a regular file instead, atomically, holding
      // the lines read through the link and the new ones (ADR 0042).
      const current = (yield* readFrom(state.journalPath, 0)) ?? new Uint8Array(0);
      const kept = strictDecoder.decode(current.subarray(0, known.journalEnd));
      if (!(yield* writeAtomic(state, state.journalPath, kept + text, token))) return false;
    }
    if (journalStatus === undefined) yield* syncFolder(state.file.folder);
    const after = yield* journalStat(state.journalPath);
    const counts = known.counts;
    if (counts !== undefined) { for (const interaction of added) count(counts, interaction); }
    state.known = after === undefined ? undefined : {
      snapshotKey: known.snapshotKey,
      journalIno: after.ino,
      journalEnd: known.journalEnd + bytes.length,
      journalSize: known.journalEnd + bytes.length,
      terminated: true,
      lines: known.lines + added.length,
      interactions: pushAll(known.interactions, added),
      counts,
    };
    return true;
  });
}

function emptySnapshot(): string {
  return stringifyCassette(sealCassette([]), { format: "json" });
}

/** The interactions of `cassette` that `known` lacks, counted as a multiset (ADR 0016). */
function newInteractions(known: Known, cassette: Cassette): Interaction[] {
  const stored = known.interactions;
  const incoming = cassette.interactions;
  // The single-writer case: the cassette extends exactly what is stored.
  if (stored.length <= incoming.length) {
    let i = 0;
    while (i < stored.length && stored[i] === incoming[i]) i++;
    if (i === stored.length) return incoming.slice(i);
  }
  let counts = known.counts;
  if (counts === undefined) {
    counts = new Map();
    for (const interaction of stored) count(counts, interaction);
    known.counts = counts;
  }
  const unmatched = new Map(counts);
  const added: Interaction[] = [];
  for (const interaction of incoming) {
    const identity = identityOf(interaction);
    const left = unmatched.get(identity) ?? 0;
    if (left > 0) unmatched.set(identity, left - 1);
    else added.push(interaction);
  }
  return added;
}

/**
 * Writes a new snapshot holding `replacement` (or everything stored, when
 * undefined) and removes the journal, crash-safely (ADR 0040).
 */
export function* rewriteJournal(
  state: JournalState,
  replacement: Cassette | undefined,
): JournalProcedure<void> {
  yield* withLock(state, function* (token) {
    yield* recover(state);
    const interactions = replacement === undefined
      ? (yield* readStored(state)).interactions
      : replacement.interactions;
    const text = yield* renderCassette(state.file, sealCassette(interactions.slice()));
    const journalStatus = yield* journalStat(state.journalPath);
    if (journalStatus !== undefined) {
      // Says "a snapshot with this hash already holds the journal's first
      // bytes", so a crash after the rename below cannot replay them twice.
      const marker = JSON.stringify({
        snapshot: sha256OfText(text),
        journalBytes: journalStatus.size,
      });
      if (!(yield* writeAtomic(state, state.markerPath, marker, token))) return false;
    }
    if (!(yield* writeAtomic(state, state.file.path, text, token))) return false;
    if (journalStatus !== undefined) {
      yield* discard(state.journalPath);
      yield* syncFolder(state.file.folder);
      yield* discard(state.markerPath);
    }
    state.known = undefined;
    return true;
  });
}

// The drivers: the journal's own steps here, the file stores' steps through
// their own drivers, so the delicate lock code exists once.

function performJournalSync(op: JournalOp): unknown {
  switch (op.kind) {
    case "jstat":
      try {
        const status = statSync(op.path);
        return { size: status.size, ino: status.ino, mtimeMs: status.mtimeMs };
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    case "readFrom": {
      let descriptor: number;
      try {
        descriptor = openReadSync(op.path, true);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
      try {
        const chunks: Uint8Array[] = [];
        let position = op.offset;
        for (;;) {
          const buffer = new Uint8Array(65536);
          const read = readSync(descriptor, buffer, 0, buffer.length, position);
          if (read === 0) break;
          chunks.push(buffer.subarray(0, read));
          position += read;
        }
        return concat(chunks);
      } finally {
        closeSync(descriptor);
      }
    }
    case "append": {
      const descriptor = openAppendSync(op.path);
      try {
        if (op.keep !== undefined) ftruncateSync(descriptor, op.keep);
        let written = 0;
        while (written < op.bytes.length) {
          written += writeSync(descriptor, op.bytes, written, op.bytes.length - written);
        }
        fsyncSync(descriptor);
      } finally {
        closeSync(descriptor);
      }
      return undefined;
    }
  }
}

async function performJournalAsync(op: JournalOp): Promise<unknown> {
  switch (op.kind) {
    case "jstat":
      try {
        const status = await statAsync(op.path);
        return { size: status.size, ino: status.ino, mtimeMs: status.mtimeMs };
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
    case "readFrom": {
      let handle;
      try {
        handle = await openRead(op.path, true);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw error;
      }
      try {
        const chunks: Uint8Array[] = [];
        let position = op.offset;
        for (;;) {
          const buffer = new Uint8Array(65536);
          const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
          if (bytesRead === 0) break;
          chunks.push(buffer.subarray(0, bytesRead));
          position += bytesRead;
        }
        return concat(chunks);
      } finally {
        await handle.close();
      }
    }
    case "append": {
      const handle = await openAppend(op.path);
      try {
        if (op.keep !== undefined) await handle.truncate(op.keep);
        let written = 0;
        while (written < op.bytes.length) {
          const result = await handle.write(op.bytes, written, op.bytes.length - written);
          written += result.bytesWritten;
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      return undefined;
    }
  }
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  return chunks.length === 1 ? chunks[0]! : joinBytes(chunks);
}

function isJournalOp(step: Step): step is JournalOp {
  return step.kind === "jstat" || step.kind === "readFrom" || step.kind === "append";
}

/** Runs a journal procedure with synchronous file calls. */
export function runJournalSync<T>(procedure: JournalProcedure<T>): T {
  return driveSync(
    procedure,
    (step) => isJournalOp(step) ? performJournalSync(step) : performSync(step),
  );
}

/** Runs a journal procedure with promise-based file calls. */
export function runJournalAsync<T>(procedure: JournalProcedure<T>): Promise<T> {
  return driveAsync(
    procedure,
    (step) => isJournalOp(step) ? performJournalAsync(step) : performAsync(step),
  );
}
