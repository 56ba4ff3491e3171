import { checkMatchOptions } from "./_check.ts";
import { type MatchOptions, playListFor } from "./_lookup.ts";
import { playChunks } from "./_model.ts";
import type { Cassette, InteractionRequest, ResponseChunk } from "./types.ts";

/**
 * Replays the response recorded for a request, chunk by chunk, lazily.
 *
 * A miss throws at the call, not at the first `next()`. Each call returns a
 * fresh iterator; an exhausted iterator stays exhausted. The chunks handed
 * out are the cassette's own frozen chunks: their `data` must be treated as
 * read-only (copy it with `data.slice()` before changing it). Recorded timing
 * is ignored here; `replayAsync()` can honour it.
 *
 * A chunk whose bytes live in a blob file (ADR 0041) is read, synchronously,
 * when the iterator reaches it, and handed out as a chunk of its own with
 * `blob` unset; only one such chunk is held at a time. A missing or altered
 * blob throws `BlobError` from that `next()`, before any of its bytes is
 * handed out.
 *
 * @param cassette The cassette to replay from.
 * @param request The request to answer.
 * @param options A normaliser and the occurrence to replay, as for `match()`.
 * @returns An iterator over the recorded chunks in order.
 * @throws {InteractionNotFoundError} When no interaction matches.
 * @throws {InteractionValidationError} When `cassette` or `request` is malformed.
 * @throws {RangeError} When `occurrence` is not a non-negative integer.
 * @throws {TypeError} When `options` is not an object or `normalize` not a function.
 * @throws {BlobError} From `next()`, when a chunk's blob file is missing or altered.
 *
 * @example Replay a streamed answer
 * ```ts
 * import { createCassette, createInteraction, createRequest, replay } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "POST", target: "/v1/chat" });
 * const cassette = createCassette([createInteraction(request, ["Hel", "lo"])]);
 * const text = [...replay(cassette, request)].map((chunk) => new TextDecoder().decode(chunk.data));
 * assert.deepEqual(text, ["Hel", "lo"]);
 * ```
 */
export function replay(
  cassette: Cassette,
  request: InteractionRequest,
  options?: MatchOptions,
): IterableIterator<ResponseChunk> {
  checkMatchOptions(options, "replay");
  return playChunks(playListFor(cassette, request, options));
}
