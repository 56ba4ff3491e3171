import { replay } from "./replay.ts";
import type { Cassette, InteractionRequest, ResponseChunk } from "./types.ts";

/**
 * The `for await` twin of `replay()`, for code written against asynchronous
 * sources. Same semantics: the miss throws at the call, each call gives a
 * fresh iterator, an exhausted iterator stays exhausted.
 *
 * @param cassette The cassette to replay from.
 * @param request The request to answer.
 * @returns An async iterator over the recorded chunks in order.
 * @throws {InteractionNotFoundError} When no interaction matches (synchronously).
 * @throws {InteractionValidationError} When `cassette` or `request` is malformed.
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
 */
export function replayAsync(
  cassette: Cassette,
  request: InteractionRequest,
): AsyncIterableIterator<ResponseChunk> {
  return fromSync(replay(cassette, request));
}

async function* fromSync<T>(items: Iterator<T>): AsyncGenerator<T, void, undefined> {
  for (let step = items.next(); !step.done; step = items.next()) yield step.value;
}
