import { checkMatchOptions } from "./_check.ts";
import { type MatchOptions, playListFor } from "./_lookup.ts";
import { type Sleep, timedChunks, type Timing } from "./_timing.ts";
import type { Cassette, InteractionRequest, ResponseChunk } from "./types.ts";

export type { Sleep, Timing } from "./_timing.ts";

/** Options for `replayAsync()`. */
export interface ReplayAsyncOptions extends MatchOptions {
  /**
   * Whether to reproduce the recorded gaps between chunks.
   *
   * @default {"none"}
   */
  readonly timing?: Timing | undefined;
  /**
   * How to wait; a test can pass a fake clock here.
   *
   * @default {(ms) => new Promise((resolve) => setTimeout(resolve, ms))}
   */
  readonly sleep?: Sleep | undefined;
}

/**
 * The `for await` twin of `replay()`, for code written against asynchronous
 * sources. Same semantics: the miss throws at the call, each call gives a
 * fresh iterator, an exhausted iterator stays exhausted. Optionally
 * reproduces the recorded timing between chunks. Chunks kept in blob files
 * (ADR 0041) are read with promises, one at a time, when reached; a missing
 * or altered blob rejects that `next()` with `BlobError`.
 *
 * @param cassette The cassette to replay from.
 * @param request The request to answer.
 * @param options A normaliser and occurrence as for `match()`, and timing.
 * @returns An async iterator over the recorded chunks in order.
 * @throws {InteractionNotFoundError} When no interaction matches (synchronously).
 * @throws {InteractionValidationError} When `cassette` or `request` is malformed.
 * @throws {RangeError} When `occurrence` or the timing scale is invalid.
 * @throws {TypeError} When `options` is not an object, or `normalize` or `sleep` not a function.
 * @throws {BlobError} From `next()`, when a chunk's blob file is missing or altered.
 *
 * @example Replay with for await
 * ```ts
 * import { createCassette, createInteraction, createRequest, replayAsync } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "mqtt", action: "subscribe", target: "sensors/temp" });
 * const cassette = createCassette([createInteraction(request, ["24.5", "24.6"])]);
 * const sequences: number[] = [];
 * for await (const chunk of replayAsync(cassette, request)) sequences.push(chunk.sequence);
 * assert.deepEqual(sequences, [0, 1]);
 * ```
 *
 * @example Recorded timing, with a fake clock
 * ```ts
 * import { createCassette, createChunk, createInteraction, createRequest, replayAsync } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "sse", action: "GET", target: "/events" });
 * const cassette = createCassette([createInteraction(request, [
 *   createChunk("a", 0, [["offset_ms", "100"]]),
 *   createChunk("b", 1, [["offset_ms", "250"]]),
 * ])]);
 * const waits: number[] = [];
 * const sleep = (ms: number) => (waits.push(ms), Promise.resolve());
 * for await (const _ of replayAsync(cassette, request, { timing: { scale: 0.5 }, sleep }));
 * assert.deepEqual(waits, [50, 75]);
 * ```
 */
export function replayAsync(
  cassette: Cassette,
  request: InteractionRequest,
  options?: ReplayAsyncOptions,
): AsyncIterableIterator<ResponseChunk> {
  checkMatchOptions(options, "replay");
  const timed = timedChunks(options?.timing, options?.sleep, "replay");
  return timed(playListFor(cassette, request, options).chunks.values());
}
