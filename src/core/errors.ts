import type { Interaction, InteractionRequest } from "./types.ts";

/**
 * The base of every error this library throws on purpose, so one `catch`
 * with `instanceof ReplayError` separates them from bugs.
 *
 * @example Usage
 * ```ts
 * import { createCassette, createRequest, replay, ReplayError } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/" });
 * assert.throws(() => replay(createCassette(), request), ReplayError);
 * ```
 */
export class ReplayError extends Error {
  /**
   * Creates a `ReplayError`.
   *
   * @param message What went wrong.
   * @param options Standard error options (`cause`).
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ReplayError";
  }
}

/**
 * No interaction in the cassette has the request's fingerprint.
 *
 * @example Usage
 * ```ts
 * import { createCassette, createRequest, InteractionNotFoundError, replay } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/missing" });
 * try {
 *   replay(createCassette(), request);
 *   assert.fail("expected a miss");
 * } catch (error) {
 *   assert.ok(error instanceof InteractionNotFoundError);
 *   assert.equal(error.request, request);
 *   assert.equal(error.message, "No matching interaction for http:GET:/missing");
 * }
 * ```
 */
export class InteractionNotFoundError extends ReplayError {
  /** The request that found no interaction, as matched (after normalisation). */
  readonly request: InteractionRequest;
  /** Its fingerprint. */
  readonly fingerprint: string;
  /** Which occurrence of the fingerprint was asked for (0 = the first). */
  readonly occurrence: number;
  /** How many interactions with that fingerprint the cassette holds. */
  readonly recorded: number;

  /**
   * Creates an `InteractionNotFoundError`. The message is the ancestor's,
   * `No matching interaction for protocol:action:target`, followed by the
   * occurrence when a later one than the first was asked for, and a hint
   * (such as how to record the request) when one is given.
   *
   * @param request The request that missed.
   * @param fingerprint The request's fingerprint.
   * @param options Standard error options, plus the occurrence asked for, how
   * many were recorded, and a hint for the reader.
   */
  constructor(
    request: InteractionRequest,
    fingerprint: string,
    options?: ErrorOptions & {
      readonly occurrence?: number;
      readonly recorded?: number;
      readonly hint?: string;
    },
  ) {
    const occurrence = options?.occurrence ?? 0;
    const recorded = options?.recorded ?? 0;
    super(
      `No matching interaction for ${request.protocol}:${request.action}:${request.target}${
        recorded > 0 ? ` (occurrence ${occurrence + 1} asked, ${recorded} recorded)` : ""
      }${options?.hint === undefined ? "" : `. ${options.hint}`}`,
      options,
    );
    this.name = "InteractionNotFoundError";
    this.request = request;
    this.fingerprint = fingerprint;
    this.occurrence = occurrence;
    this.recorded = recorded;
  }
}

/**
 * A request, chunk, interaction or cassette breaks a data rule: a wrong type,
 * a fingerprint that is not the request's, no chunks, or sequences that are
 * not `0..n-1`. `path` names the offending value.
 *
 * @example Usage
 * ```ts
 * import { createChunk, createInteraction, createRequest, InteractionValidationError } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "p", action: "a", target: "t" });
 * assert.throws(
 *   () => createInteraction(request, [createChunk("x", 1)]),
 *   (error: unknown) =>
 *     error instanceof InteractionValidationError &&
 *     error.path === "responseChunks[0].sequence" &&
 *     error.message === "responseChunks[0].sequence: expected 0, got 1",
 * );
 * ```
 */
export class InteractionValidationError extends ReplayError {
  /** Where the problem is, e.g. `interactions[3].response_chunks[1].sequence`. */
  readonly path: string;
  /** What was expected there. */
  readonly expected: string;
  /** What was found there. */
  readonly actual: string;

  /**
   * Creates an `InteractionValidationError` with the message `path: expected X, got Y`.
   *
   * @param path Where the problem is.
   * @param expected What was expected.
   * @param actual What was found.
   * @param options Standard error options.
   */
  constructor(path: string, expected: string, actual: string, options?: ErrorOptions) {
    super(`${path === "" ? "value" : path}: expected ${expected}, got ${actual}`, options);
    this.name = "InteractionValidationError";
    this.path = path;
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * Cassette text that cannot be read: not JSON or YAML, or a value of the wrong
 * shape or type. `path` names the value (empty for a syntax error); `line` and
 * `column` (1-based) are set where the parser knows them.
 *
 * @example Usage
 * ```ts
 * import { CassetteFormatError, parseCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => parseCassette('{"interactions": 5}'),
 *   (error: unknown) =>
 *     error instanceof CassetteFormatError &&
 *     error.path === "interactions" &&
 *     error.message === "interactions: expected an array, got number 5",
 * );
 * ```
 */
export class CassetteFormatError extends ReplayError {
  /** The cassette format that was being read. */
  readonly format: "json" | "yaml";
  /** Where the problem is, e.g. `interactions[0].request.headers[1]`; empty for syntax errors. */
  readonly path: string;
  /** 1-based line, when known. */
  readonly line: number | undefined;
  /** 1-based column, when known. */
  readonly column: number | undefined;

  /**
   * Creates a `CassetteFormatError`.
   *
   * @param message What went wrong, already prefixed with the path.
   * @param details The format, the path and, where known, the position.
   * @param options Standard error options (`cause` holds the parser's own error).
   */
  constructor(
    message: string,
    details: {
      readonly format: "json" | "yaml";
      readonly path: string;
      readonly line?: number | undefined;
      readonly column?: number | undefined;
    },
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "CassetteFormatError";
    this.format = details.format;
    this.path = details.path;
    this.line = details.line;
    this.column = details.column;
  }
}

/**
 * A broker in `record` or `auto` mode was created without a live responder.
 * Thrown at construction, so a misconfigured test fails before any request.
 *
 * @example Usage
 * ```ts
 * import { createBroker, createCassette, LiveResponderRequiredError } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => createBroker({ cassette: createCassette(), mode: "auto" }),
 *   (error: unknown) =>
 *     error instanceof LiveResponderRequiredError &&
 *     error.mode === "auto" &&
 *     error.message === 'Cannot create broker: mode "auto" needs a liveResponder, got none',
 * );
 * ```
 */
export class LiveResponderRequiredError extends ReplayError {
  /** The mode that needs a live responder. */
  readonly mode: "record" | "auto";

  /**
   * Creates a `LiveResponderRequiredError`.
   *
   * @param mode The mode that was asked for.
   * @param options Standard error options.
   */
  constructor(mode: "record" | "auto", options?: ErrorOptions) {
    super(`Cannot create broker: mode "${mode}" needs a liveResponder, got none`, options);
    this.name = "LiveResponderRequiredError";
    this.mode = mode;
  }
}

function reasonOf(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}

/**
 * A store could not load its cassette: the file is missing (and
 * `createIfMissing` is off), unreadable, or holds no valid cassette. `cause`
 * is the original error (`ENOENT`, a `CassetteFormatError`, …).
 *
 * @example Usage
 * ```ts
 * import { CassetteLoadError, fileStore } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "missing.json");
 * assert.throws(
 *   () => fileStore(path).load(),
 *   (error: unknown) =>
 *     error instanceof CassetteLoadError &&
 *     error.path === path &&
 *     (error.cause as { code?: string }).code === "ENOENT",
 * );
 * ```
 */
export class CassetteLoadError extends ReplayError {
  /** The cassette file, or `undefined` for a store without one. */
  readonly path: string | undefined;

  /**
   * Creates a `CassetteLoadError` reading `Cannot load cassette from "path": detail`.
   *
   * @param path The cassette file, or `undefined` for a store without one.
   * @param cause The original error.
   * @param detail What went wrong; defaults to the cause's message.
   */
  constructor(path: string | undefined, cause: unknown, detail?: string) {
    super(
      `Cannot load cassette${path === undefined ? "" : ` from "${path}"`}: ${
        detail ?? reasonOf(cause)
      }`,
      { cause },
    );
    this.name = "CassetteLoadError";
    this.path = path;
  }
}

/**
 * A store could not save a cassette: the folder is read-only, the disk is
 * full, a parent path is a file, the file on disk holds no valid cassette, or
 * the lock could not be taken. The previous file is left intact. `cause` is
 * the original error.
 *
 * @example Usage
 * ```ts
 * import { CassetteSaveError, createCassette, fileStore } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const folder = mkdtempSync(join(tmpdir(), "replay-"));
 * writeFileSync(join(folder, "not-a-folder"), "");
 * const path = join(folder, "not-a-folder", "cassette.json");
 * assert.throws(
 *   () => fileStore(path).save(createCassette()),
 *   (error: unknown) => error instanceof CassetteSaveError && error.path === path,
 * );
 * ```
 */
export class CassetteSaveError extends ReplayError {
  /** The cassette file, or `undefined` for a store without one. */
  readonly path: string | undefined;

  /**
   * Creates a `CassetteSaveError` reading `Cannot save cassette to "path": detail`.
   *
   * @param path The cassette file, or `undefined` for a store without one.
   * @param cause The original error.
   * @param detail What went wrong; defaults to the cause's message.
   */
  constructor(path: string | undefined, cause: unknown, detail?: string) {
    super(
      `Cannot save cassette${path === undefined ? "" : ` to "${path}"`}: ${
        detail ?? reasonOf(cause)
      }`,
      { cause },
    );
    this.name = "CassetteSaveError";
    this.path = path;
  }
}

/** Who held a cassette lock, as written in its lock file. */
export interface CassetteLockHolder {
  /** The holder's process id. */
  readonly pid: number;
  /** The holder's host name, when it was allowed to read it. */
  readonly host: string | undefined;
  /** When the lock was taken, in milliseconds since the epoch. */
  readonly createdAt: number;
}

/**
 * Another writer held a cassette's lock file for longer than the store's
 * `lockTimeout`. A file store's `save()` throws it as the `cause` of a
 * `CassetteSaveError`.
 *
 * @example Usage
 * ```ts
 * import { CassetteLockError } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const error = new CassetteLockError("/tmp/c.json.lock", 20000, {
 *   pid: 4242,
 *   host: "ci-7",
 *   createdAt: Date.UTC(2026, 0, 5),
 * });
 * assert.equal(error.holder?.pid, 4242);
 * assert.equal(
 *   error.message,
 *   'Cannot lock cassette: "/tmp/c.json.lock" is still held by process 4242 on "ci-7" ' +
 *     "since 2026-01-05T00:00:00.000Z after waiting 20000 ms; " +
 *     "delete the lock file if that process is gone",
 * );
 * ```
 */
export class CassetteLockError extends ReplayError {
  /** The lock file. */
  readonly lockPath: string;
  /** How long the writer waited, in milliseconds. */
  readonly waited: number;
  /** The holder found in the lock file, or `undefined` when it was unreadable. */
  readonly holder: CassetteLockHolder | undefined;

  /**
   * Creates a `CassetteLockError`.
   *
   * @param lockPath The lock file.
   * @param waited How long the writer waited, in milliseconds.
   * @param holder The holder found in the lock file, if readable.
   * @param hint What to do about it, ending the message; by default, to
   * delete the lock file if its holder is gone.
   */
  constructor(
    lockPath: string,
    waited: number,
    holder: CassetteLockHolder | undefined,
    hint?: string,
  ) {
    const who = holder === undefined
      ? "by an unknown writer"
      : `by process ${holder.pid}${holder.host === undefined ? "" : ` on "${holder.host}"`} since ${
        new Date(holder.createdAt).toISOString()
      }`;
    super(
      `Cannot lock cassette: "${lockPath}" is still held ${who} after waiting ${waited} ms; ` +
        (hint ?? "delete the lock file if that process is gone"),
    );
    this.name = "CassetteLockError";
    this.lockPath = lockPath;
    this.waited = waited;
    this.holder = holder;
  }
}

/**
 * A recording is older than the broker's `maxAge` and `onStale` is `"fail"`.
 *
 * @example Usage
 * ```ts
 * import { createBroker, createCassette, createInteraction, createRequest, StaleRecordingError } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/rates" });
 * const old = createInteraction(request, ["1.08"], { metadata: [["recorded_at", "2020-01-01T00:00:00Z"]] });
 * const broker = createBroker({ cassette: createCassette([old]), maxAge: 86_400_000, onStale: "fail" });
 * assert.throws(() => broker.replay(request), StaleRecordingError);
 * ```
 */
export class StaleRecordingError extends ReplayError {
  /** The recording that is too old. */
  readonly interaction: Interaction;
  /** Its age in milliseconds. */
  readonly age: number;
  /** The broker's `maxAge` in milliseconds. */
  readonly maxAge: number;

  /**
   * Creates a `StaleRecordingError`.
   *
   * @param interaction The recording that is too old.
   * @param age Its age in milliseconds.
   * @param maxAge The limit in milliseconds.
   * @param options Standard error options.
   */
  constructor(interaction: Interaction, age: number, maxAge: number, options?: ErrorOptions) {
    const { protocol, action, target } = interaction.request;
    super(
      `Cannot replay ${protocol}:${action}:${target}: its recording is ${
        Math.round(age)
      } ms old, more than maxAge ${maxAge} ms; record it again`,
      options,
    );
    this.name = "StaleRecordingError";
    this.interaction = interaction;
    this.age = age;
    this.maxAge = maxAge;
  }
}

/**
 * A chunk's blob file (ADR 0041) is missing, or its bytes no longer hash to
 * its name. Raised before any of its bytes is handed out.
 *
 * @example Usage
 * ```ts
 * import { BlobError, createCassette, createInteraction, createRequest, fileStore, replay } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "big.json");
 * const store = fileStore(path, { createIfMissing: true, blobThreshold: 4 });
 * const request = createRequest({ protocol: "http", action: "GET", target: "/file" });
 * store.save(createCassette([createInteraction(request, ["hello"])]));
 * const cassette = store.load();
 * const blob = cassette.interactions[0]!.responseChunks[0]!.blob!;
 * writeFileSync(join(`${path}.blobs`, blob.sha256), "jello");
 * assert.throws(
 *   () => [...replay(cassette, request)],
 *   (error: unknown) => error instanceof BlobError && error.reason === "corrupt",
 * );
 * ```
 */
export class BlobError extends ReplayError {
  /** The blob file. */
  readonly path: string;
  /** The SHA-256 the bytes must have (the file's name). */
  readonly sha256: string;
  /**
   * `"missing"` (no such file), `"corrupt"` (wrong size or wrong hash) or
   * `"unreadable"` (any other system error; see `cause`).
   */
  readonly reason: "missing" | "corrupt" | "unreadable";

  /**
   * Creates a `BlobError` reading `Cannot read blob "path": detail`.
   *
   * @param path The blob file.
   * @param sha256 The SHA-256 the bytes must have.
   * @param reason Whether the file is missing, corrupt or unreadable.
   * @param detail What was found.
   * @param options Standard error options (`cause`).
   */
  constructor(
    path: string,
    sha256: string,
    reason: "missing" | "corrupt" | "unreadable",
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`Cannot read blob "${path}": ${detail}`, options);
    this.name = "BlobError";
    this.path = path;
    this.sha256 = sha256;
    this.reason = reason;
  }
}
