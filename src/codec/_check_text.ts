// The collecting mode of the cassette parser, for `x-replay validate` (ADR
// 0031): parseCassetteText()'s own checks, noting every problem instead of
// throwing at the first.
import { CassetteFormatError, InteractionValidationError } from "../core/errors.ts";
import type { BlobReader } from "../core/_model.ts";
import type { Cassette, CassetteFormat } from "../core/types.ts";
import type { Collected } from "./_document.ts";
import { parseCassetteText } from "./parse_cassette.ts";

/** A problem that `checkCassetteText()` found. */
export interface TextProblem {
  /** A `CassetteFormatError` or an `InteractionValidationError`, as `parseCassette()` throws it. */
  readonly error: Error;
  /** Where a YAML rule breach is in the text (shape errors carry it in their message). */
  readonly position?: { readonly line: number; readonly column: number } | undefined;
}

/** What `checkCassetteText()` found. */
export interface TextCheck {
  /** Every problem, in document order; empty when the text holds a valid cassette. */
  readonly problems: readonly TextProblem[];
  /** How many interactions the document lists (0 when it lists none or cannot be read). */
  readonly interactions: number;
  /** The cassette, when there is no problem. */
  readonly cassette: Cassette | undefined;
}

/**
 * Every problem of cassette text: every YAML syntax error, every bad value,
 * each rule breach of the valid parts. Never throws for bad content.
 */
export function checkCassetteText(
  text: string,
  format: CassetteFormat,
  blobs?: BlobReader,
): TextCheck {
  const collected: Collected = { problems: [], interactions: 0 };
  let cassette: Cassette | undefined;
  try {
    cassette = parseCassetteText(text, format, blobs, collected);
  } catch (error) {
    // A rule that throws instead of reporting through the collector is
    // still a problem of the text, not a crash.
    if (!(error instanceof CassetteFormatError || error instanceof InteractionValidationError)) {
      throw error;
    }
    collected.problems.push(error);
  }
  // Rule breaches carry no position; the YAML parser left a way to find one
  // in the document it read.
  const { locate } = collected;
  const problems = collected.problems.map((error): TextProblem =>
    error instanceof InteractionValidationError && locate !== undefined
      ? { error, position: locate(error.path) }
      : { error }
  );
  return {
    problems,
    interactions: collected.interactions,
    cassette: problems.length === 0 ? cassette : undefined,
  };
}
