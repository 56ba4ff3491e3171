// What the two brokers share: options checks, turning live output into a
// recorded interaction, the zero-chunk representation (ADR 0013), and how
// store failures are reported.
import { describe, EMPTY_PAIRS } from "../core/_check.ts";
import {
  checkCassette,
  CODE_NAMING,
  isEmptyChunk,
  replayChunks,
  sealChunk,
  sealInteraction,
  toChunk,
} from "../core/_model.ts";
import {
  CassetteLoadError,
  CassetteSaveError,
  InteractionValidationError,
} from "../core/errors.ts";
import type {
  Cassette,
  Interaction,
  InteractionRequest,
  Pairs,
  ResponseChunk,
} from "../core/types.ts";

/** The metadata key marking the placeholder chunk of a zero-chunk response. */
export const EMPTY_RESPONSE_KEY = "x-replay-empty-response";

const EMPTY_RESPONSE_METADATA: Pairs = Object.freeze([
  Object.freeze([EMPTY_RESPONSE_KEY, "true"] as const),
]);

/** The one chunk stored for a live response that had none. */
export function emptyResponseChunk(): ResponseChunk {
  return sealChunk(new Uint8Array(0), 0, EMPTY_RESPONSE_METADATA);
}

/** Whether an interaction stands for a response with zero chunks. */
export function isEmptyResponse(interaction: Interaction): boolean {
  const chunks = interaction.responseChunks;
  if (chunks.length !== 1) return false;
  // Indexed: destructuring would walk the frozen list through its iterator.
  const only = chunks[0];
  return isEmptyChunk(only!) &&
    only!.metadata.some(([key, value]) => key === EMPTY_RESPONSE_KEY && value === "true");
}

const NO_CHUNKS: readonly ResponseChunk[] = Object.freeze([]);

/**
 * The chunks an asynchronous broker hands out for an interaction: none for a
 * zero-chunk response. Blob chunks are left for its timing step to read.
 */
export function playback(interaction: Interaction): IterableIterator<ResponseChunk> {
  return (isEmptyResponse(interaction) ? NO_CHUNKS : interaction.responseChunks).values();
}

/** `playback()` for the synchronous broker: blob chunks read when reached. */
export function playbackSync(interaction: Interaction): IterableIterator<ResponseChunk> {
  return isEmptyResponse(interaction) ? NO_CHUNKS.values() : replayChunks(interaction);
}

/**
 * One piece of live output as the chunk at `position`. Bare bytes get that
 * sequence; a `ResponseChunk` must already carry it, because a responder that
 * numbers its chunks wrongly has a bug worth seeing.
 */
export function liveChunk(item: unknown, position: number): ResponseChunk {
  const path = `responseChunks[${position}]`;
  const chunk = toChunk(item, position, path);
  if (chunk.sequence !== position) {
    throw new InteractionValidationError(
      `${path}.sequence`,
      String(position),
      String(chunk.sequence),
    );
  }
  return chunk;
}

/** The interaction recorded for a complete live response. */
export function recordedInteraction(
  request: InteractionRequest,
  chunks: readonly ResponseChunk[],
): Interaction {
  return sealInteraction(
    request,
    Object.freeze(chunks.length === 0 ? [emptyResponseChunk()] : chunks.slice()),
    EMPTY_PAIRS,
    undefined,
    "",
    CODE_NAMING,
  );
}

/** Rejects values that are iterable but are not a sequence of chunks. */
export function checkLiveResponse(value: unknown, allowAsync: boolean): void {
  const expected = allowAsync ? "an iterable or async iterable of chunks" : "an iterable of chunks";
  if (
    typeof value === "string" || value instanceof Uint8Array || value instanceof ArrayBuffer ||
    typeof value !== "object" || value === null ||
    !(Symbol.iterator in value || (allowAsync && Symbol.asyncIterator in value))
  ) {
    const hint = typeof value === "string" || value instanceof Uint8Array ||
        value instanceof ArrayBuffer
      ? " (wrap a single chunk in an array)"
      : typeof (value as { then?: unknown } | null)?.then === "function" && !allowAsync
      ? " (a promise needs createAsyncBroker())"
      : "";
    throw new TypeError(
      `Cannot record: the live responder must return ${expected}, got ${describe(value)}${hint}`,
    );
  }
}

/** The broker modes. */
export type Mode = "replay" | "record" | "auto";

/** Checks `mode` and `liveResponder` together (ADR 0010). */
export function checkModeOptions(
  mode: unknown,
  liveResponder: unknown,
  action: string,
): Mode {
  const checked = mode === undefined ? "replay" : mode;
  if (checked !== "replay" && checked !== "record" && checked !== "auto") {
    throw new RangeError(
      `Cannot ${action}: mode must be "replay", "record" or "auto", got ${describe(mode)}`,
    );
  }
  if (liveResponder !== undefined && typeof liveResponder !== "function") {
    throw new TypeError(
      `Cannot ${action}: liveResponder must be a function, got ${describe(liveResponder)}`,
    );
  }
  return checked;
}

/** Checks that a store has `load()` and `save()`. */
export function checkStore(store: unknown, action: string): void {
  if (
    typeof store !== "object" || store === null ||
    typeof (store as { load?: unknown }).load !== "function" ||
    typeof (store as { save?: unknown }).save !== "function"
  ) {
    throw new TypeError(
      `Cannot ${action}: store must have load() and save() methods, got ${describe(store)}`,
    );
  }
}

/** The store's file, if it says so. */
export function storePath(store: unknown): string | undefined {
  const path = (store as { path?: unknown }).path;
  return typeof path === "string" ? path : undefined;
}

/** Any failure of `store.save()` as a `CassetteSaveError`. */
export function asSaveError(store: unknown, error: unknown): CassetteSaveError {
  return error instanceof CassetteSaveError
    ? error
    : new CassetteSaveError(storePath(store), error);
}

/** What a store's `load()` gave, checked to be a cassette (else `CassetteLoadError`). */
export function loadedCassette(store: unknown, loaded: unknown): Cassette {
  try {
    return checkCassette(loaded);
  } catch (error) {
    throw new CassetteLoadError(
      storePath(store),
      error,
      "the store's load() returned something that is not a cassette",
    );
  }
}

/** Any failure of `store.load()` as a `CassetteLoadError`. */
export function asLoadError(store: unknown, error: unknown): CassetteLoadError {
  return error instanceof CassetteLoadError
    ? error
    : new CassetteLoadError(storePath(store), error);
}

/** Whether a value is a promise or another thenable. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}
