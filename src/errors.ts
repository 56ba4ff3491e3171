import type { InteractionRequest } from "./types.ts";

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
   * occurrence when a later one than the first was asked for.
   *
   * @param request The request that missed.
   * @param fingerprint The request's fingerprint.
   * @param options Standard error options, plus the occurrence asked for and
   * how many were recorded.
   */
  constructor(
    request: InteractionRequest,
    fingerprint: string,
    options?: ErrorOptions & { readonly occurrence?: number; readonly recorded?: number },
  ) {
    const occurrence = options?.occurrence ?? 0;
    const recorded = options?.recorded ?? 0;
    super(
      `No matching interaction for ${request.protocol}:${request.action}:${request.target}${
        recorded > 0 ? ` (occurrence ${occurrence + 1} asked, ${recorded} recorded)` : ""
      }`,
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
