import { nameSet, withHeaders } from "./_normalize.ts";
import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that keeps only the named headers (compared case-insensitively),
 * in their original order, so volatile headers (dates, trace ids, user agents)
 * stop taking part in matching.
 *
 * @param names The header names to keep.
 * @returns The normaliser, which throws `InteractionValidationError` for a value that is not a
 * request.
 * @throws {TypeError} When `names` is not an iterable of strings (a lone string is refused).
 *
 * @example Match on content type only
 * ```ts
 * import { createRequest, keepHeaders } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const normalize = keepHeaders(["Content-Type"]);
 * const request = createRequest({
 *   protocol: "http",
 *   action: "POST",
 *   target: "/",
 *   headers: [["content-type", "application/json"], ["x-request-id", "8f2c"]],
 * });
 * assert.deepEqual(normalize(request).headers, [["content-type", "application/json"]]);
 * ```
 */
export function keepHeaders(names: Iterable<string>): Normalizer {
  const keep = nameSet(names, "keepHeaders()");
  return (request) => {
    const valid = toRequest(request, "request");
    return withHeaders(valid, valid.headers.filter(([name]) => keep.has(name.toLowerCase())));
  };
}
