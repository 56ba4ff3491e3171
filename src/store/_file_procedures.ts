// Loading and saving a cassette file, written once as procedures that a sync
// or an async driver runs (ADR 0017). Saving is atomic (ADR 0014), locked
// against other processes with stale-lock recovery (ADR 0015), and merges
// with what is on disk (ADR 0016).
import { randomBytes, randomUUID } from "node:crypto";
import { basename, dirname, join, resolve } from "node:path";
import { formatFromExtension } from "../codec/_format.ts";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { checkOptions, describe } from "../core/_check.ts";
import {
  createExclusive,
  discard,
  errorCode,
  link,
  list,
  mkdirp,
  type Procedure,
  readIfExists,
  readText,
  rename,
  sleep,
  stat,
  syncFolder,
  writeBlobs,
  writeDurable,
} from "./_file_ops.ts";
import { blobFolderOf, blobReader, externalize } from "./_blob.ts";
import { checkFormat } from "../codec/_format.ts";
import {
  HELD_LOCKS,
  HOST_TAG,
  hostTag,
  judgeHolder,
  processAlive,
  type ProcessIdentity,
  selfIdentity,
} from "./_host.ts";
import { LINK_REFUSED } from "./_safe_fs.ts";
import { mergeCassettes } from "./_merge.ts";
import { type BlobReader, sealCassette } from "../core/_model.ts";
import {
  CassetteLoadError,
  CassetteLockError,
  type CassetteLockHolder,
  CassetteSaveError,
} from "../core/errors.ts";
import { parseCassetteText } from "../codec/parse_cassette.ts";
import { documentPieces, textSlices } from "../codec/_json_pieces.ts";
import { createHash } from "node:crypto";
import type { Cassette, CassetteFormat } from "../core/types.ts";

/** Options for `fileStore()` and `fileStoreAsync()`. */
export interface FileStoreOptions {
  /**
   * The file's format.
   *
   * @default {"json" for `.json`, "yaml" for `.yaml` and `.yml`}
   */
  readonly format?: CassetteFormat | undefined;
  /**
   * Whether a missing file loads as an empty cassette instead of failing.
   * Loading never creates the file; the first save does.
   *
   * @default {false}
   */
  readonly createIfMissing?: boolean | undefined;
  /**
   * How long a save waits for another writer's lock, in milliseconds, before
   * failing with a `CassetteSaveError` caused by a `CassetteLockError`.
   *
   * @default {20000}
   */
  readonly lockTimeout?: number | undefined;
  /**
   * How old a lock must be, in milliseconds, to be taken over when its holder
   * cannot be asked whether it is still running: it is on another host, in
   * another PID namespace (another container), in another worker thread, or
   * Deno runs without `--allow-sys=hostname`, `--allow-run` and read access
   * to `/proc`. A holder on this host that has exited, or whose PID now
   * belongs to a process started later, is recognised at once, whatever its
   * age; a running holder is never taken over (ADR 0015).
   *
   * @default {10000}
   */
  readonly staleLockAge?: number | undefined;
  /**
   * Chunk data and request bodies of at least this many bytes are saved in a
   * blob file beside the cassette, `<file>.blobs/<sha256 of the bytes>`, and
   * the cassette file holds `{"blob": "<sha256>", "size": n}` in their place
   * (ADR 0041). Loading then reads the cassette file, and each request body's
   * blob once, to check its fingerprint; replay reads each chunk's blob when
   * it reaches it, checks its hash, and holds one chunk at a time. Equal
   * bytes are stored once. Files that refer to blobs load whatever this
   * option says, and bytes already in this file's blob folder stay there
   * when saved again; the option decides only for bytes held in memory.
   *
   * @default {undefined} (every chunk inline, as interposition writes them)
   */
  readonly blobThreshold?: number | undefined;
}

/** Default `lockTimeout`, in milliseconds. */
export const DEFAULT_LOCK_TIMEOUT = 20_000;
/** Default `staleLockAge`, in milliseconds. */
export const DEFAULT_STALE_LOCK_AGE = 10_000;
// A lock file with no readable content is either being written this instant
// or was left half-written by a crash; after this long it is the latter.
const UNREADABLE_LOCK_GRACE = 2_000;
const MAX_BACKOFF = 100;

/** What a file store knows about its file. */
export interface FileStoreState {
  readonly path: string;
  readonly folder: string;
  readonly lockPath: string;
  readonly format: CassetteFormat;
  readonly createIfMissing: boolean;
  readonly lockTimeout: number;
  readonly staleLockAge: number;
  readonly orphanPattern: RegExp;
  readonly baseName: string;
  /** Reads the blobs the file refers to (ADR 0041). */
  readonly reader: BlobReader;
  /** Chunk data and request bodies of at least this many bytes go to a blob; `undefined` keeps them inline. */
  readonly blobThreshold: number | undefined;
  /** Whether saves wait for the lock synchronously (`fileStore()`, `journalStore()`). */
  readonly sync: boolean;
  /**
   * What is remembered of the text last read or written, and its cassette,
   * to skip parsing an unchanged file again (`SeenText`).
   */
  last: { readonly seen: SeenText; readonly cassette: Cassette } | undefined;
  /**
   * The holders (`<host tag>.<pid>`) whose stale locks the last acquisition
   * broke: their temporary files are removed whatever their age, even when
   * the PID is this process's own (a restarted container).
   */
  predecessors: ReadonlySet<string>;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function checkDuration(value: unknown, name: string, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < minimum) {
    throw new RangeError(
      `Cannot open cassette store: ${name} must be a finite number of milliseconds >= ${minimum}, got ${
        describe(value)
      }`,
    );
  }
  return value;
}

/** Checks a file store's arguments and resolves its paths. */
export function createFileState(
  path: string | URL,
  options: FileStoreOptions | undefined,
  sync: boolean,
): FileStoreState {
  let file: string;
  if (path instanceof URL) {
    file = fileURLToPath(path);
  } else if (typeof path === "string" && path !== "") {
    file = path;
  } else {
    throw new TypeError(
      `Cannot open cassette store: path must be a non-empty string or a file: URL, got ${
        describe(path)
      }`,
    );
  }
  checkOptions(options, "open cassette store");
  const absolute = resolve(file);
  const format = options?.format === undefined
    ? formatFromExtension(absolute)
    : checkFormat(options.format, "open");
  if (format === undefined) {
    throw new RangeError(
      `Cannot open cassette store: cannot tell the format of "${absolute}" from its extension; ` +
        `expected ".json", ".yaml" or ".yml", or pass the format option`,
    );
  }
  const createIfMissing = options?.createIfMissing ?? false;
  if (typeof createIfMissing !== "boolean") {
    throw new TypeError(
      `Cannot open cassette store: createIfMissing must be a boolean, got ${
        describe(createIfMissing)
      }`,
    );
  }
  const baseName = basename(absolute);
  const reader = blobReader(blobFolderOf(absolute));
  const threshold = options?.blobThreshold;
  if (
    threshold !== undefined &&
    !(typeof threshold === "number" && Number.isSafeInteger(threshold) && threshold >= 1)
  ) {
    throw new RangeError(
      `Cannot open cassette store: blobThreshold must be a whole number of bytes >= 1, got ${
        describe(threshold)
      }`,
    );
  }
  return {
    path: absolute,
    folder: dirname(absolute),
    lockPath: `${absolute}.lock`,
    format,
    createIfMissing,
    lockTimeout: checkDuration(options?.lockTimeout, "lockTimeout", DEFAULT_LOCK_TIMEOUT, 0),
    staleLockAge: checkDuration(
      options?.staleLockAge,
      "staleLockAge",
      DEFAULT_STALE_LOCK_AGE,
      0,
    ),
    orphanPattern: new RegExp(
      `^\\.${escapeRegExp(baseName)}\\.([0-9a-f]{8}|nohost)\\.(\\d+)\\.[0-9a-f]+\\.(?:tmp|stale)$`,
    ),
    baseName,
    // The reader exists even without a threshold: a file written by a store
    // with one still refers to its blobs, and must load.
    reader,
    blobThreshold: threshold,
    sync,
    last: undefined,
    predecessors: new Set(),
  };
}

/** Parses the file's text; blob references read through the store's folder. */
export function parseText(text: string, format: CassetteFormat, reader: BlobReader): Cassette {
  // Editors on Windows may add a byte order mark; it is not part of the data.
  return parseCassetteText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, format, reader);
}

/**
 * The file text for `cassette`, after writing the blobs it needs, as pieces
 * to write one after another (`documentPieces()`). Blobs come first: a file
 * must never refer to a blob that is not there yet.
 */
export function* renderCassette(
  state: FileStoreState,
  cassette: Cassette,
): Procedure<Iterable<string>> {
  const { dataOf, blobs } = externalize(cassette.interactions, state.reader, state.blobThreshold);
  yield* writeBlobs(state.reader.folder, blobs);
  return documentPieces(cassette, state.format, dataOf);
}

/**
 * What a store remembers of a text it read or wrote, to tell later whether
 * the file still holds it: the text itself, or, for a text it wrote of more
 * than `KEEP_TEXT` characters, only its length and SHA-256 (hashed as it was
 * written), so that the text it made is not kept alive beside its cassette.
 * A text it read is kept whole: the next save then finds the file unchanged
 * with one comparison, and its cassette is the one it loaded, so merging
 * takes the single-writer path. Remembering nothing made the first save into
 * a 10,000-interaction file parse and merge it all again (432 ms against
 * 102 ms), and hashing the text on load made loading a third slower.
 */
export type SeenText =
  | { readonly text: string }
  | { readonly length: number; readonly sha256: string };

const KEEP_TEXT = 4 * 1024 * 1024;

// A big text is hashed this many characters at a time, so that hashing never
// makes a UTF-8 copy of the whole.
const HASH_CHARS = 1024 * 1024;

/** Feeds a text's UTF-8 to `hash` in slices, never a UTF-8 copy of the whole. */
function hashText(hash: ReturnType<typeof createHash>, text: string): void {
  for (const slice of textSlices(text, HASH_CHARS)) hash.update(slice);
}

/**
 * SHA-256 of a text's UTF-8, or of its pieces joined; a big string is fed in
 * slices that never split a surrogate pair.
 */
export function sha256OfText(text: string | Iterable<string>): string {
  const hash = createHash("sha256");
  for (const piece of typeof text === "string" ? [text] : text) hashText(hash, piece);
  return hash.digest("hex");
}

/** Whether `text` is the text `seen` remembers. */
export function isSeenText(seen: SeenText, text: string): boolean {
  if ("text" in seen) return seen.text === text;
  return seen.length === text.length && sha256OfText(text) === seen.sha256;
}

/** The pieces of a text as they are written, and what is remembered of them once all have gone. */
export function remembered(pieces: Iterable<string>): {
  readonly pieces: Iterable<string>;
  readonly seen: () => SeenText;
} {
  let kept: string[] = [];
  let length = 0;
  let hash: ReturnType<typeof createHash> | undefined;
  return {
    pieces: (function* () {
      for (const piece of pieces) {
        length += piece.length;
        if (hash !== undefined) hashText(hash, piece);
        else {
          kept.push(piece);
          if (length > KEEP_TEXT) {
            hash = createHash("sha256");
            for (const earlier of kept) hashText(hash, earlier);
            kept = [];
          }
        }
        yield piece;
      }
    })(),
    seen: () =>
      hash === undefined ? { text: kept.join("") } : { length, sha256: hash.digest("hex") },
  };
}

/** Reads and parses the cassette file. */
export function* loadProcedure(state: FileStoreState): Procedure<Cassette> {
  let text: string;
  try {
    text = yield* readText(state.path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") {
      if (state.createIfMissing) return sealCassette([]);
      throw new CassetteLoadError(
        state.path,
        error,
        "the file does not exist (pass createIfMissing: true to start with an empty cassette)",
      );
    }
    throw new CassetteLoadError(state.path, error);
  }
  let cassette: Cassette;
  try {
    cassette = parseText(text, state.format, state.reader);
  } catch (error) {
    throw new CassetteLoadError(state.path, error);
  }
  state.last = { seen: { text }, cassette };
  return cassette;
}

/** Saves under the lock, merging with the file; retries if the lock was lost. */
export function* saveProcedure(
  state: FileStoreState,
  cassette: Cassette,
  replace = false,
): Procedure<void> {
  const started = Date.now();
  const deadline = started + state.lockTimeout;
  yield* mkdirp(state.folder);
  for (;;) {
    const token = yield* acquireLock(state, started, deadline);
    let committed = false;
    try {
      committed = yield* commit(state, cassette, token, replace);
    } finally {
      yield* releaseLock(state, token);
    }
    if (committed) return;
    if (Date.now() >= deadline) {
      throw new CassetteSaveError(
        state.path,
        undefined,
        `another writer took over the lock "${state.lockPath}" before each attempt could finish`,
      );
    }
  }
}

export function uniqueName(state: FileStoreState, suffix: "tmp" | "stale"): string {
  return join(
    state.folder,
    `.${state.baseName}.${HOST_TAG}.${process.pid}.${randomBytes(6).toString("hex")}.${suffix}`,
  );
}

function* commit(
  state: FileStoreState,
  cassette: Cassette,
  token: string,
  replace: boolean,
): Procedure<boolean> {
  yield* removeOrphans(state);
  const text = yield* readIfExists(state.path);
  let stored: Cassette;
  if (text === undefined) {
    stored = sealCassette([]);
  } else if (state.last !== undefined && isSeenText(state.last.seen, text)) {
    stored = state.last.cassette;
  } else {
    try {
      stored = parseText(text, state.format, state.reader);
    } catch (error) {
      // Overwriting would destroy whatever is there (a hand edit with a typo,
      // another tool's file); refusing keeps it for a human to look at.
      throw new CassetteSaveError(
        state.path,
        error,
        `the file holds no valid cassette, so it was left as it is: ${
          error instanceof Error ? error.message : String(error)
        }`,
      );
    }
  }
  const merged = replace ? cassette : mergeCassettes(stored, cassette);
  if (text !== undefined && merged === stored) {
    // Nothing to write. What was remembered still holds; a file parsed
    // afresh is remembered as loading remembers it.
    if (state.last?.cassette !== stored) state.last = { seen: { text }, cassette: stored };
    return true;
  }
  const output = remembered(yield* renderCassette(state, merged));
  const previous = text === undefined ? undefined : yield* stat(state.path);
  const temporary = uniqueName(state, "tmp");
  try {
    yield* writeDurable(temporary, output.pieces, previous?.mode);
    if (!(yield* holdsLock(state, token))) {
      yield* discard(temporary);
      return false;
    }
    // False only if another writer removed our file as an orphan after taking
    // the lock from us; the next attempt starts over.
    if (!(yield* rename(temporary, state.path))) return false;
  } catch (error) {
    yield* discard(temporary);
    throw error;
  }
  yield* syncFolder(state.folder);
  state.last = { seen: output.seen(), cassette: merged };
  return true;
}

interface LockContent extends CassetteLockHolder, ProcessIdentity {
  readonly token: string;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function parseLock(text: string): LockContent | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== "object" || value === null) return undefined;
    const { pid, host, createdAt, token, thread, boot, pidns, start } = value as Record<
      string,
      unknown
    >;
    if (
      typeof pid !== "number" || typeof createdAt !== "number" || typeof token !== "string" ||
      (host !== null && typeof host !== "string")
    ) {
      return undefined;
    }
    return {
      pid,
      host: host ?? undefined,
      createdAt,
      token,
      // Locks written before these were recorded have none of them.
      thread: typeof thread === "number" ? thread : undefined,
      boot: optionalString(boot),
      pidns: optionalString(pidns),
      start: optionalString(start),
    };
  } catch {
    return undefined;
  }
}

/** A lock path that holds a link or something else no writer creates. */
const FOREIGN = Symbol("foreign lock");

/** The lock file's text; `FOREIGN` for a link, `undefined` when there is none. */
function* readLock(path: string): Procedure<string | typeof FOREIGN | undefined> {
  try {
    return yield* readIfExists(path, false);
  } catch (error) {
    // Writers create lock files with O_EXCL, which never follows a link: a
    // link there came from elsewhere (a checkout) and guards nothing.
    if (errorCode(error) === LINK_REFUSED) return FOREIGN;
    throw error;
  }
}

// A holder whose PID is running but whose identity cannot be checked (no
// process start times on this system) may be a reuse of a dead holder's PID:
// past this age, its lock is taken over.
const UNVERIFIED_LOCK_AGE = 60_000;

export function* acquireLock(
  state: FileStoreState,
  started: number,
  deadline: number,
): Procedure<string> {
  const token = randomUUID();
  const me = selfIdentity();
  const predecessors = new Set<string>();
  let backoff = 2;
  for (;;) {
    if (yield* createMarked(state.lockPath, me, token)) {
      state.predecessors = predecessors;
      return token;
    }
    const seen = yield* readLock(state.lockPath);
    if (seen === undefined) {
      // Released between our two steps: try again at once, within the deadline.
      if (Date.now() < deadline) continue;
      throw new CassetteLockError(state.lockPath, Date.now() - started, undefined);
    }
    // Another save of this thread holds the lock, or is creating it.
    const ours = heldInThisThread(state.lockPath);
    const holder = seen === FOREIGN ? undefined : parseLock(seen);
    if (!ours && (seen === FOREIGN || (yield* isStale(state, state.lockPath, holder, me)))) {
      if (holder !== undefined) predecessors.add(`${hostTag(holder.host)}.${holder.pid}`);
      // Unless another writer is breaking it this instant: then wait as for a live lock.
      if (yield* breakLock(state, seen, me)) continue;
    }
    const now = Date.now();
    // A synchronous wait blocks the thread, so that save (an asynchronous
    // one) could never release the lock.
    const hopeless = ours && state.sync;
    if (now >= deadline || hopeless) {
      throw new CassetteLockError(
        state.lockPath,
        now - started,
        holder === undefined
          ? undefined
          : { pid: holder.pid, host: holder.host, createdAt: holder.createdAt },
        hopeless
          ? "it is held by an asynchronous save in this thread, which cannot finish while a " +
            "synchronous save waits: do not mix fileStore() and fileStoreAsync() saves of one file"
          : undefined,
      );
    }
    // Jitter keeps waiting writers from retrying in lockstep.
    yield* sleep(Math.min(deadline - now, backoff * (0.5 + Math.random())));
    backoff = Math.min(backoff * 2, MAX_BACKOFF);
  }
}

function heldInThisThread(lockPath: string): boolean {
  for (const path of HELD_LOCKS.values()) if (path === lockPath) return true;
  return false;
}

/**
 * Creates `path` exclusively, holding `me` and `token` (the lock file's
 * format); false when it exists. The token is counted as held from before
 * the file exists: another save of this thread that reads the new file
 * (perhaps still empty) must never take it for a leftover.
 */
function* createMarked(path: string, me: ProcessIdentity, token: string): Procedure<boolean> {
  const content = JSON.stringify({
    pid: me.pid,
    host: me.host ?? null,
    createdAt: Date.now(),
    token,
    thread: me.thread,
    boot: me.boot,
    pidns: me.pidns,
    start: me.start,
  });
  HELD_LOCKS.set(token, path);
  let created = false;
  try {
    created = yield* createExclusive(path, content);
  } finally {
    if (!created) HELD_LOCKS.delete(token);
  }
  return created;
}

/** Whether the lock-format file at `path`, held by `holder` as read, was left behind. */
function* isStale(
  state: FileStoreState,
  path: string,
  holder: LockContent | undefined,
  me: ProcessIdentity,
): Procedure<boolean> {
  if (holder === undefined) {
    const status = yield* stat(path);
    if (status === undefined) return false;
    return Date.now() - status.mtimeMs > Math.min(UNREADABLE_LOCK_GRACE, state.staleLockAge);
  }
  const age = Date.now() - holder.createdAt;
  switch (judgeHolder(holder, me)) {
    case "gone":
      return true;
    case "running":
      return false;
    case "this thread":
      // This thread knows every lock it holds; any other lock with its
      // identity was left behind (a release that failed).
      return !HELD_LOCKS.has(holder.token);
    case "unverified":
      return age > Math.max(state.staleLockAge, UNVERIFIED_LOCK_AGE);
    case "unknown":
      return age > state.staleLockAge;
  }
}

/** The guard that one writer at a time holds while it breaks a stale lock. */
function guardOf(state: FileStoreState): string {
  return `${state.lockPath}.break`;
}

/**
 * Removes the stale lock `seen` (ADR 0015). Breaking is a compare-and-remove,
 * which no file system offers as one step: between a writer's read of a
 * stale lock and its move, the holder may have released it (and exited) and
 * another writer taken a fresh lock, which the move would then take away
 * while that writer works. Under the guard `<lock>.break`, created
 * exclusively, the lock is read again and moved only if it still holds what
 * was judged; nothing can change it in between, as no writer creates a lock
 * over an existing file and no other writer breaks one meanwhile.
 *
 * True when the caller should try for the lock at once; false when another
 * writer holds the guard, so the caller waits as for a live lock.
 */
function* breakLock(
  state: FileStoreState,
  seen: string | typeof FOREIGN,
  me: ProcessIdentity,
): Procedure<boolean> {
  const guard = guardOf(state);
  const token = randomUUID();
  if (!(yield* createMarked(guard, me, token))) return yield* clearGuard(state, me);
  try {
    if ((yield* readLock(state.lockPath)) === seen) yield* moveAside(state, state.lockPath, seen);
  } finally {
    yield* releaseMarked(guard, token);
  }
  return true;
}

/**
 * Removes a guard left by a writer that died while breaking a lock, judged
 * as a lock is; true when there is no guard any more.
 */
function* clearGuard(state: FileStoreState, me: ProcessIdentity): Procedure<boolean> {
  const guard = guardOf(state);
  const seen = yield* readLock(guard);
  if (seen === undefined) return true;
  const holder = seen === FOREIGN ? undefined : parseLock(seen);
  if (seen !== FOREIGN && !(yield* isStale(state, guard, holder, me))) return false;
  yield* moveAside(state, guard, seen);
  return true;
}

/**
 * Moves the lock-format file at `path`, last read as `seen`, out of the way.
 * Renaming is atomic, so of several writers moving the same file only one
 * does; if what it moved is not what it read (for a lock, only possible
 * when a live holder was judged by age alone), it is put back unless the
 * name was taken again meanwhile.
 */
function* moveAside(
  state: FileStoreState,
  path: string,
  seen: string | typeof FOREIGN,
): Procedure<void> {
  const grave = uniqueName(state, "stale");
  if (!(yield* rename(path, grave))) return;
  const moved = yield* readLock(grave);
  if (moved !== undefined && moved !== seen) yield* link(grave, path);
  yield* discard(grave);
}

export function* holdsLock(state: FileStoreState, token: string): Procedure<boolean> {
  return yield* holdsMarked(state.lockPath, token);
}

/** Whether the lock-format file at `path` holds `token`. */
function* holdsMarked(path: string, token: string): Procedure<boolean> {
  const seen = yield* readLock(path);
  return typeof seen === "string" && parseLock(seen)?.token === token;
}

export function* releaseLock(state: FileStoreState, token: string): Procedure<void> {
  yield* releaseMarked(state.lockPath, token);
}

function* releaseMarked(path: string, token: string): Procedure<void> {
  try {
    if (yield* holdsMarked(path, token)) yield* discard(path);
  } catch {
    // Releasing runs in a finally block: it must not hide the save's own
    // error. A file left behind is recovered as stale: this thread no
    // longer counts it as held.
  } finally {
    HELD_LOCKS.delete(token);
  }
}

// Temporary files are only written under the lock, so any other writer's
// file still here was left by a crash, unless its process is still alive
// (its lock was taken over while it worked). Removing a live writer's file
// costs it only a retry: it renames only while it holds the lock.
export function* removeOrphans(state: FileStoreState): Procedure<void> {
  const names = yield* list(state.folder);
  const guard = basename(guardOf(state));
  for (const name of names) {
    if (name === guard) {
      try {
        // A guard left by a writer that died while breaking a lock.
        yield* clearGuard(state, selfIdentity());
      } catch {
        // Something no writer makes (a folder from a checkout): breaking a
        // stale lock will report it if it is ever in the way.
      }
      continue;
    }
    const found = state.orphanPattern.exec(name);
    if (found === null) continue;
    const tag = found[1]!;
    const pid = Number(found[2]);
    const path = join(state.folder, name);
    // Left by the holder of a lock just taken over as stale: it is gone.
    if (state.predecessors.has(`${tag}.${pid}`)) {
      yield* discard(path);
      continue;
    }
    let age = state.staleLockAge;
    // Our own PID may be a predecessor's (a restarted container): age tells.
    if (tag === HOST_TAG && tag !== "nohost" && pid !== process.pid) {
      const alive = processAlive(pid);
      if (alive === false) {
        yield* discard(path);
        continue;
      }
      if (alive === true) age = Math.max(state.staleLockAge, UNVERIFIED_LOCK_AGE);
    }
    const status = yield* stat(path);
    if (status !== undefined && Date.now() - status.mtimeMs > age) {
      yield* discard(path);
    }
  }
}
