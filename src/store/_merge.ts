// Merging what a store holds with what a writer brings, by interaction
// identity (ADR 0016): everything already stored stays first, in its order;
// the writer's interactions that are not stored yet follow, in its order.
// Identity is content, counted as a multiset, so a cassette that holds the
// same interaction twice round-trips, and a re-save adds nothing.
import { createHash } from "node:crypto";
import { sha256Hex } from "./_blob.ts";
import { sealCassette } from "../core/_model.ts";
import type { Cassette, Interaction } from "../core/types.ts";

const identities = new WeakMap<Interaction, string>();

/** A digest of everything an interaction holds; equal interactions share it. */
export function identityOf(interaction: Interaction): string {
  const known = identities.get(interaction);
  if (known !== undefined) return known;
  const hash = createHash("sha256");
  hash.update(`${interaction.fingerprint}|${JSON.stringify(interaction.metadata)}`);
  for (const chunk of interaction.responseChunks) {
    // Chunks count by the SHA-256 of their bytes, so a chunk read from a blob
    // file (ADR 0041) and the same bytes in memory are the same chunk.
    const digest = chunk.blob?.sha256 ?? sha256Hex(chunk.data);
    hash.update(`|${chunk.sequence}|${JSON.stringify(chunk.metadata)}|${digest}`);
  }
  const identity = hash.digest("hex");
  identities.set(interaction, identity);
  return identity;
}

/**
 * `stored` followed by the interactions of `incoming` that `stored` lacks.
 * Returns `stored` itself when nothing is new and `incoming` itself when the
 * result is exactly `incoming` (the single-writer case), so callers can tell
 * cheaply whether anything changed.
 */
export function mergeCassettes(stored: Cassette, incoming: Cassette): Cassette {
  if (stored === incoming) return stored;
  // The single-writer case: the writer extended exactly what is stored.
  if (
    stored.interactions.length <= incoming.interactions.length &&
    stored.interactions.every((interaction, i) => interaction === incoming.interactions[i])
  ) {
    return stored.interactions.length === incoming.interactions.length ? stored : incoming;
  }
  const unmatched = new Map<string, number>();
  for (const interaction of stored.interactions) {
    const identity = identityOf(interaction);
    unmatched.set(identity, (unmatched.get(identity) ?? 0) + 1);
  }
  const added: Interaction[] = [];
  for (const interaction of incoming.interactions) {
    const identity = identityOf(interaction);
    const count = unmatched.get(identity) ?? 0;
    if (count > 0) unmatched.set(identity, count - 1);
    else added.push(interaction);
  }
  if (added.length === 0) return stored;
  const merged = [...stored.interactions, ...added];
  const same = merged.length === incoming.interactions.length &&
    merged.every((interaction, i) => interaction === incoming.interactions[i]);
  return same ? incoming : sealCassette(merged);
}
