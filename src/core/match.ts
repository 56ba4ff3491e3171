import { checkMatchOptions } from "./_check.ts";
import { lookup, type MatchOptions } from "./_lookup.ts";
import type { Cassette, Interaction, InteractionRequest } from "./types.ts";

export type { MatchOptions } from "./_lookup.ts";

/**
 * Finds the interaction recorded for a request: the first one whose
 * fingerprint equals the request's (or the `occurrence`-th one). Pure and
 * O(1) in the cassette's size.
 *
 * @param cassette The cassette to search.
 * @param request The request to look up.
 * @param options A normaliser applied before fingerprinting, and which
 * occurrence of a repeated request to take.
 * @returns The matching interaction, or `undefined`.
 * @throws {InteractionValidationError} When `cassette` or `request` is malformed.
 * @throws {TypeError} When `options` is not an object or `normalize` not a function.
 * @throws {RangeError} When `occurrence` is not a non-negative integer.
 *
 * @example First match wins
 * ```ts
 * import { createCassette, createInteraction, createRequest, match } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "test-proto", action: "fetch", target: "resource-123" });
 * const first = createInteraction(request, ["first"]);
 * const second = createInteraction(request, ["second"]);
 * const cassette = createCassette([first, second]);
 * assert.equal(match(cassette, request), first);
 * assert.equal(match(cassette, request, { occurrence: 1 }), second);
 * assert.equal(match(cassette, request, { occurrence: 2 }), undefined);
 * assert.equal(match(cassette, createRequest({ protocol: "x", action: "y", target: "z" })), undefined);
 * ```
 *
 * @example Match through a normaliser
 * ```ts
 * import { createCassette, createInteraction, createRequest, match, sortQuery } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const normalize = sortQuery();
 * const recorded = normalize(createRequest({ protocol: "http", action: "GET", target: "/s?b=2&a=1" }));
 * const cassette = createCassette([createInteraction(recorded, ["ok"])]);
 * const incoming = createRequest({ protocol: "http", action: "GET", target: "/s?a=1&b=2" });
 * assert.equal(match(cassette, incoming, { normalize }), cassette.interactions[0]);
 * ```
 */
export function match(
  cassette: Cassette,
  request: InteractionRequest,
  options?: MatchOptions,
): Interaction | undefined {
  checkMatchOptions(options, "match");
  return lookup(cassette, request, options).found;
}
