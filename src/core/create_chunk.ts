import { checkPairsInit, checkSequence, failValidation } from "./_check.ts";
import { copyBytes, sealChunk } from "./_model.ts";
import type { BytesInit, PairsInit, ResponseChunk } from "./types.ts";

/**
 * Creates a frozen response chunk. `data` is copied (a string is encoded as
 * UTF-8).
 *
 * @param data The chunk's bytes.
 * @param sequence Its zero-based position in the response.
 * @param metadata Pairs about the chunk, e.g. `[["status_code", "200"]]`.
 * @returns The frozen chunk.
 * @throws {InteractionValidationError} When `sequence` is not a non-negative
 * integer or `data`/`metadata` have the wrong type.
 *
 * @example Build a chunk
 * ```ts
 * import { createChunk } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const chunk = createChunk("hello", 0, [["status_code", "200"]]);
 * assert.deepEqual([...chunk.data], [104, 101, 108, 108, 111]);
 * assert.deepEqual(chunk.metadata, [["status_code", "200"]]);
 * ```
 */
export function createChunk(
  data: BytesInit,
  sequence: number,
  metadata?: PairsInit,
): ResponseChunk {
  return sealChunk(
    copyBytes(data, "data", failValidation),
    checkSequence(sequence, "sequence", failValidation),
    checkPairsInit(metadata, "metadata"),
  );
}
