// Leaf checks shared by the constructors and the cassette parser. Paths are
// built only on the error branch so valid input pays nothing for them.
import { InteractionValidationError } from "./errors.ts";
import type { Pairs } from "./types.ts";

/**
 * Throws for a value of the wrong type; the parser and constructors pass
 * different ones. A collecting `Fail` (for `x-replay validate`, ADR 0031)
 * notes the problem and returns `invalid()` instead, so the checks go on.
 */
export type Fail = (path: string, expected: string, value: unknown) => never;

const INVALID: unique symbol = Symbol("invalid");

/**
 * The stand-in a collecting `Fail` returns for a bad value. Typed `never` so
 * that it fits wherever the checked value would; only collecting callers
 * ever see it, and they test for it with `isInvalid()`.
 */
export function invalid(): never {
  return INVALID as never;
}

/** Whether a checked value is the stand-in for a bad one (collecting mode only). */
export function isInvalid(value: unknown): boolean {
  return value === INVALID;
}

/** A problem found in collecting mode: thrown at once when there is no list to collect into. */
export function breach(error: Error, problems: Error[] | undefined): void {
  if (problems === undefined) throw error;
  problems.push(error);
}

/** Fails with an `InteractionValidationError`. */
export const failValidation: Fail = (path, expected, value) => {
  throw new InteractionValidationError(path, expected, describe(value));
};

/** A short, quoted description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Uint8Array) return `${value.constructor.name} of ${value.length} bytes`;
  switch (typeof value) {
    case "string":
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case "number":
    case "bigint":
    case "boolean":
      return `${typeof value} ${String(value)}`;
    case "undefined":
      return "undefined";
    case "object":
      return value.constructor?.name && value.constructor !== Object
        ? `an object (${value.constructor.name})`
        : "an object";
    default:
      return typeof value;
  }
}

/** Joins a parent path and a key: `join("a", "b")` is `a.b`, `join("", "b")` is `b`. */
export function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** A well-formed string (no lone surrogates, so it survives UTF-8 files). */
export function checkText(value: unknown, path: string, fail: Fail): string {
  if (typeof value !== "string") return fail(path, "a string", value);
  if (!value.isWellFormed()) {
    return fail(path, "well-formed Unicode text", "a string with a lone surrogate");
  }
  return value;
}

/** A frozen copy of an array of `[string, string]` arrays. */
export function checkPairArray(value: unknown, path: string, fail: Fail): Pairs {
  if (!Array.isArray(value)) return fail(path, "an array of [key, value] pairs", value);
  if (value.length === 0) return EMPTY_PAIRS;
  const pairs: (readonly [string, string])[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const pair: unknown = value[i];
    if (!Array.isArray(pair) || pair.length !== 2) {
      // A collecting fail returns: the pairs after this one are checked too.
      pairs[i] = fail(`${path}[${i}]`, "a [key, value] pair", pair);
      continue;
    }
    pairs[i] = Object.freeze([
      checkText(pair[0], `${path}[${i}][0]`, fail),
      checkText(pair[1], `${path}[${i}][1]`, fail),
    ]);
  }
  return Object.freeze(pairs);
}

/**
 * `checkPairArray()` for an array its caller hands over (a freshly parsed
 * document nobody else holds): the same checks and errors, then the array and
 * its pairs are frozen where they are, with no copy. With `path` undefined it
 * only answers: `undefined` when a check fails, so that a caller builds the
 * path (and calls again for the error) only then. With `shared`, a pair equal
 * to the last one claimed with its key is replaced by that one (frozen pairs
 * can be shared), so a file's many repeated headers and metadata cost one
 * pair each, and unique values cost nothing to remember; and a list equal to
 * the last one claimed in the same `slot` (the same place of another
 * interaction: its request's headers, its first chunk's metadata, …) is
 * replaced by that one whole. A list already frozen was claimed before (a
 * YAML alias) and is answered as it is.
 */
export function claimPairArray(
  value: unknown,
  path: string | undefined,
  fail: Fail,
  shared?: SharedPairs,
  slot = 0,
): Pairs | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0) return EMPTY_PAIRS;
    let valid = true;
    for (let i = 0; i < value.length && valid; i++) {
      const pair: unknown = value[i];
      valid = Array.isArray(pair) && pair.length === 2 && isText(pair[0]) && isText(pair[1]);
    }
    if (valid) {
      if (Object.isFrozen(value)) return value as Pairs;
      if (shared === undefined) {
        for (let i = 0; i < value.length; i++) Object.freeze(value[i]);
        return Object.freeze(value) as Pairs;
      }
      const last = shared.lists[slot];
      if (last !== undefined && samePairs(last, value as [string, string][])) return last;
      for (let i = 0; i < value.length; i++) {
        const pair = value[i] as [string, string];
        const known = shared.pairs.get(pair[0]);
        if (known !== undefined && known[1] === pair[1]) value[i] = known;
        else shared.pairs.set(pair[0], Object.freeze(pair));
      }
      return (shared.lists[slot] = Object.freeze(value) as Pairs);
    }
  }
  // Something is wrong: checkPairArray() names it (or, collecting, every problem).
  return path === undefined ? undefined : checkPairArray(value, path, fail);
}

/** What `claimPairArray()` shares within one document: pairs by key, lists by place. */
export interface SharedPairs {
  /** The last pair claimed with each key. */
  readonly pairs: Map<string, readonly [string, string]>;
  /** The last list claimed in each slot. */
  readonly lists: Pairs[];
}

/** A fresh `SharedPairs`, for one document. */
export function sharedPairs(): SharedPairs {
  return { pairs: new Map(), lists: [] };
}

/** Whether two pair lists hold equal pairs in the same order. */
function samePairs(a: Pairs, b: readonly (readonly [string, string])[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]![0] !== b[i]![0] || a[i]![1] !== b[i]![1]) return false;
  }
  return true;
}

/** Whether `checkText()` accepts a value, without building its path. */
export function isText(value: unknown): value is string {
  return typeof value === "string" && value.isWellFormed();
}

/** Pairs from any iterable of pairs or a plain record, frozen. */
export function checkPairsInit(value: unknown, path: string): Pairs {
  if (value === undefined) return EMPTY_PAIRS;
  if (Array.isArray(value)) return checkPairArray(value, path, failValidation);
  if (typeof value === "object" && value !== null) {
    if (Symbol.iterator in value) {
      return checkPairArray(
        Array.from(value as Iterable<unknown>, (pair) => Array.isArray(pair) ? pair : [pair]),
        path,
        failValidation,
      );
    }
    if (
      Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null
    ) {
      return checkPairArray(Object.entries(value), path, failValidation);
    }
  }
  return failValidation(path, "pairs (an iterable of [key, value] or a record)", value);
}

/** The empty, frozen pairs list. */
export const EMPTY_PAIRS: Pairs = Object.freeze([]);

/** A chunk sequence: a safe, non-negative integer. */
export function checkSequence(value: unknown, path: string, fail: Fail): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    return fail(path, "a non-negative integer", value);
  }
  return value;
}

/** Throws a `TypeError` unless `options` is `undefined` or a plain object (not null, an array or a function). */
export function checkOptions(options: unknown, action: string, name = "options"): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`Cannot ${action}: ${name} must be an object, got ${describe(options)}`);
  }
}

/** Checks the options `match()`, `replay()` and `replayAsync()` share, naming the bad one. */
export function checkMatchOptions(options: unknown, action: string): void {
  if (options === undefined) return;
  checkOptions(options, action);
  const { normalize, occurrence } = options as { normalize?: unknown; occurrence?: unknown };
  if (normalize !== undefined && typeof normalize !== "function") {
    throw new TypeError(
      `Cannot ${action}: options.normalize must be a function, got ${describe(normalize)}`,
    );
  }
  if (
    occurrence !== undefined &&
    !(typeof occurrence === "number" && Number.isSafeInteger(occurrence) && occurrence >= 0)
  ) {
    throw new RangeError(
      `Cannot ${action}: options.occurrence must be a non-negative integer, got ${
        describe(occurrence)
      }`,
    );
  }
}
