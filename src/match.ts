import { checkCassette } from "./_model.ts";
import { fingerprint } from "./fingerprint.ts";
import type { Cassette, Interaction, InteractionRequest } from "./types.ts";

/**
 * Finds the interaction recorded for a request: the first one whose
 * fingerprint equals the request's. Pure and O(1) in the cassette's size.
 *
 * @param cassette The cassette to search.
 * @param request The request to look up.
 * @returns The first matching interaction, or `undefined`.
 * @throws {InteractionValidationError} When `cassette` or `request` is malformed.
 *
 * @example First match wins
 * ```ts
 * import { createCassette, createInteraction, createRequest, match } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "test-proto", action: "fetch", target: "resource-123" });
 * const first = createInteraction(request, ["first"]);
 * const cassette = createCassette([first, createInteraction(request, ["second"])]);
 * assert.equal(match(cassette, request), first);
 * assert.equal(match(cassette, createRequest({ protocol: "x", action: "y", target: "z" })), undefined);
 * ```
 */
export function match(cassette: Cassette, request: InteractionRequest): Interaction | undefined {
  const positions = checkCassette(cassette).index.get(fingerprint(request));
  return positions === undefined ? undefined : cassette.interactions[positions[0]!];
}
