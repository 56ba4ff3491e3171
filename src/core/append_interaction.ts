import { checkCassette, FingerprintIndex, sealCassette, toInteraction } from "./_model.ts";
import type { Cassette, Interaction } from "./types.ts";

/**
 * Returns a new cassette with `interaction` added at the end; the given
 * cassette is unchanged. If the fingerprint is already present the earlier
 * interaction keeps winning `match()`.
 *
 * @param cassette The cassette to extend.
 * @param interaction The interaction to add.
 * @returns A new frozen cassette.
 * @throws {InteractionValidationError} When either argument is not valid.
 *
 * @example Append without mutation
 * ```ts
 * import { appendInteraction, createCassette, createInteraction, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const empty = createCassette();
 * const request = createRequest({ protocol: "http", action: "GET", target: "/" });
 * const one = appendInteraction(empty, createInteraction(request, ["ok"]));
 * assert.equal(empty.interactions.length, 0);
 * assert.equal(one.interactions.length, 1);
 * ```
 */
export function appendInteraction(cassette: Cassette, interaction: Interaction): Cassette {
  const base = checkCassette(cassette);
  const added = toInteraction(interaction, "interaction");
  return sealCassette(
    [...base.interactions, added],
    (frozen) => FingerprintIndex.appended(base.index as FingerprintIndex, frozen),
  );
}
