import { withHeaders } from "./_normalize.ts";
import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that sorts headers by name (by UTF-16 code units, so the
 * order does not depend on locale). The sort is stable: repeated headers of
 * one name keep their relative order, which can carry meaning.
 *
 * @returns The normaliser, which throws `InteractionValidationError` for a value that is not a
 * request.
 *
 * @example Header order stops mattering
 * ```ts
 * import { createRequest, fingerprint, sortHeaders } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const base = { protocol: "http", action: "GET", target: "/" };
 * const a = createRequest({ ...base, headers: [["b", "1"], ["a", "2"]] });
 * const b = createRequest({ ...base, headers: [["a", "2"], ["b", "1"]] });
 * const normalize = sortHeaders();
 * assert.equal(fingerprint(normalize(a)), fingerprint(normalize(b)));
 * ```
 */
export function sortHeaders(): Normalizer {
  return (request) => {
    const valid = toRequest(request, "request");
    return withHeaders(valid, [...valid.headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  };
}
