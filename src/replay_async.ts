import { lookupOrThrow, type MatchOptions } from "./_lookup.ts";
import { offsetOf } from "./_timing.ts";
import type { Cassette, InteractionRequest, ResponseChunk } from "./types.ts";

/**
 * How fast to hand out replayed chunks: `"none"` as fast as possible,
 * `"recorded"` with the gaps recorded between chunks (their `offset_ms`
 * metadata), or `{ scale }` with those gaps multiplied by `scale` (`0.5` is
 * twice as fast). Chunks without an offset are handed out at once.
 *
 * @example Usage
 * ```ts
 * import type { Timing } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const halfSpeed: Timing = { scale: 2 };
 * assert.equal(typeof halfSpeed, "object");
 * ```
 */
export type Timing = "none" | "recorded" | { readonly scale: number };

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
  readonly sleep?: ((milliseconds: number) => Promise<void>) | undefined;
}

/**
 * The `for await` twin of `replay()`, for code written against asynchronous
 * sources. Same semantics: the miss throws at the call, each call gives a
 * fresh iterator, an exhausted iterator stays exhausted. Optionally
 * reproduces the recorded timing between chunks.
 *
 * @param cassette The cassette to replay from.
 * @param request The request to answer.
 * @param options A normaliser and occurrence as for `match()`, and timing.
 * @returns An async iterator over the recorded chunks in order.
 * @throws {InteractionNotFoundError} When no interaction matches (synchronously).
 * @throws {InteractionValidationError} When `cassette` or `request` is malformed.
 * @throws {RangeError} When `occurrence` or the timing scale is invalid.
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
  const scale = scaleOf(options?.timing);
  const chunks = lookupOrThrow(cassette, request, options).responseChunks;
  if (scale === undefined) return untimed(chunks);
  return timed(chunks, scale, options?.sleep ?? defaultSleep);
}

function scaleOf(timing: Timing | undefined): number | undefined {
  if (timing === undefined || timing === "none") return undefined;
  if (timing === "recorded") return 1;
  if (
    typeof timing === "object" && timing !== null && Number.isFinite(timing.scale) &&
    timing.scale >= 0
  ) {
    return timing.scale;
  }
  throw new RangeError(
    `Cannot replay: timing must be "none", "recorded" or { scale } with a finite scale >= 0, got ${
      JSON.stringify(timing)
    }`,
  );
}

function defaultSleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

async function* untimed(
  chunks: readonly ResponseChunk[],
): AsyncGenerator<ResponseChunk, void, undefined> {
  for (let i = 0; i < chunks.length; i++) yield chunks[i]!;
}

async function* timed(
  chunks: readonly ResponseChunk[],
  scale: number,
  sleep: (milliseconds: number) => Promise<void>,
): AsyncGenerator<ResponseChunk, void, undefined> {
  let previous = 0;
  for (const chunk of chunks) {
    const offset = offsetOf(chunk);
    if (offset !== undefined) {
      const wait = Math.max(0, offset - previous) * scale;
      previous = offset;
      if (wait > 0) await sleep(wait);
    }
    yield chunk;
  }
}
