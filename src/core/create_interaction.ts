import { checkOptions, checkPairsInit, failValidation } from "./_check.ts";
import { CODE_NAMING, sealInteraction, toChunk, toRequest } from "./_model.ts";
import type {
  BytesInit,
  Interaction,
  InteractionRequest,
  PairsInit,
  ResponseChunk,
} from "./types.ts";

/** Options for `createInteraction()`. */
export interface CreateInteractionOptions {
  /**
   * Pairs about the interaction, e.g. `[["recorded_at", "2026-01-05T00:00:00Z"]]`.
   *
   * @default {[]}
   */
  readonly metadata?: PairsInit | undefined;
  /**
   * A fingerprint to verify against the request's (as read from a file).
   * When omitted it is computed.
   */
  readonly fingerprint?: string | undefined;
}

/**
 * Creates a frozen interaction: a request, its fingerprint and the ordered
 * response chunks. Chunks may be `ResponseChunk`s or bare pieces
 * (`Uint8Array`, `ArrayBuffer` or string), which get the sequence of their
 * position; any iterable works, including a generator.
 *
 * @param request The request.
 * @param chunks The response, in order: at least one chunk, sequences `0..n-1`.
 * @param options Metadata and a fingerprint to verify.
 * @returns The frozen interaction.
 * @throws {InteractionValidationError} When there are no chunks, a sequence is
 * out of place, the given fingerprint is not the request's, or a value has the
 * wrong type. `path` names the value, e.g. `responseChunks[1].sequence`.
 * @throws {TypeError} When `options` is not an object.
 *
 * @example Build from bare pieces
 * ```ts
 * import { createInteraction, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const interaction = createInteraction(
 *   createRequest({ protocol: "mqtt", action: "subscribe", target: "sensors/temp" }),
 *   ["24.5", "24.6"],
 *   { metadata: [["recorded_at", "2026-01-05T00:00:00Z"]] },
 * );
 * assert.deepEqual(interaction.responseChunks.map((chunk) => chunk.sequence), [0, 1]);
 * assert.equal(interaction.fingerprint.length, 64);
 * ```
 */
export function createInteraction(
  request: InteractionRequest,
  chunks: Iterable<ResponseChunk | BytesInit>,
  options?: CreateInteractionOptions,
): Interaction {
  checkOptions(options, "create interaction");
  if (chunks === null || typeof chunks !== "object" || !(Symbol.iterator in chunks)) {
    return failValidation("responseChunks", "an iterable of chunks", chunks);
  }
  const sealed: ResponseChunk[] = [];
  let position = 0;
  for (const chunk of chunks) {
    sealed.push(toChunk(chunk, position, `responseChunks[${position}]`));
    position++;
  }
  const claimed = options?.fingerprint;
  if (claimed !== undefined && typeof claimed !== "string") {
    return failValidation("fingerprint", "a string", claimed);
  }
  return sealInteraction(
    toRequest(request, "request"),
    Object.freeze(sealed),
    checkPairsInit(options?.metadata, "metadata"),
    claimed,
    "",
    CODE_NAMING,
  );
}
