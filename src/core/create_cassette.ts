import { failValidation } from "./_check.ts";
import { sealCassette, toInteraction } from "./_model.ts";
import type { Cassette, Interaction } from "./types.ts";

/**
 * Creates a frozen cassette and builds its fingerprint index once, so
 * `match()` and `replay()` find an interaction in O(1).
 *
 * @param interactions The interactions, in order. Several may share a
 * fingerprint; the first of them is the one replayed.
 * @returns The frozen cassette.
 * @throws {InteractionValidationError} When an element is not a valid
 * interaction; `path` starts with `interactions[i]`.
 *
 * @example An indexed cassette
 * ```ts
 * import { createCassette, createInteraction, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "test-proto", action: "fetch", target: "resource-123" });
 * const cassette = createCassette([
 *   createInteraction(request, ["first"]),
 *   createInteraction(request, ["second"]),
 * ]);
 * assert.deepEqual(cassette.index.get(cassette.interactions[0]!.fingerprint), [0, 1]);
 * ```
 */
export function createCassette(interactions?: Iterable<Interaction>): Cassette {
  if (interactions === undefined) return sealCassette([]);
  if (
    interactions === null || typeof interactions !== "object" || !(Symbol.iterator in interactions)
  ) {
    return failValidation("interactions", "an iterable of interactions", interactions);
  }
  const checked: Interaction[] = [];
  for (const interaction of interactions) {
    checked.push(toInteraction(interaction, `interactions[${checked.length}]`));
  }
  return sealCassette(checked);
}
