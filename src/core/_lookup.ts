// The lookup shared by match(), replay() and replayAsync().
import { checkCassette, type FingerprintIndex, type PlayList, playListOf } from "./_model.ts";
import { InteractionNotFoundError } from "./errors.ts";
import { fingerprint } from "./fingerprint.ts";
import type { Cassette, Interaction, InteractionRequest, Normalizer } from "./types.ts";

/** Options shared by `match()`, `replay()` and `replayAsync()`. */
export interface MatchOptions {
  /**
   * Applied to the request before it is fingerprinted; the cassette is
   * expected to hold requests normalised the same way.
   *
   * @default {undefined} (the request is used as it is)
   */
  readonly normalize?: Normalizer | undefined;
  /**
   * Which of the interactions sharing the request's fingerprint to take,
   * counting from 0 in cassette order. Sequential playback of repeated
   * requests asks for 0, 1, 2, …
   *
   * @default {0}
   */
  readonly occurrence?: number | undefined;
}

/** The interaction for a request, or `undefined`, with what was looked up. */
export function lookup(
  cassette: Cassette,
  request: InteractionRequest,
  options: MatchOptions | undefined,
): {
  readonly request: InteractionRequest;
  readonly key: string;
  readonly found: Interaction | undefined;
} {
  const checked = checkCassette(cassette);
  // Its callers have checked the options (checkMatchOptions()).
  const occurrence = options?.occurrence ?? 0;
  const normalized = options?.normalize === undefined ? request : options.normalize(request);
  const key = fingerprint(normalized);
  const position = checked.index.get(key)?.[occurrence];
  return {
    request: normalized,
    key,
    found: position === undefined ? undefined : checked.interactions[position],
  };
}

/**
 * The play list replay iterates for a request (ADR 0001): through the index's
 * own list on the hot path (no options, a hit), else through `lookupOrThrow`.
 */
export function playListFor(
  cassette: Cassette,
  request: InteractionRequest,
  options: MatchOptions | undefined,
): PlayList {
  if (options === undefined) {
    const index = checkCassette(cassette).index as FingerprintIndex;
    const list = index.firstPlayList(fingerprint(request));
    if (list !== undefined) return list;
  }
  return playListOf(lookupOrThrow(cassette, request, options));
}

/** The interaction for a request, or `InteractionNotFoundError`. */
function lookupOrThrow(
  cassette: Cassette,
  request: InteractionRequest,
  options: MatchOptions | undefined,
): Interaction {
  const { request: normalized, key, found } = lookup(cassette, request, options);
  if (found === undefined) {
    throw new InteractionNotFoundError(normalized, key, {
      occurrence: options?.occurrence ?? 0,
      recorded: cassette.index.get(key)?.length ?? 0,
    });
  }
  return found;
}
