import { nameSet, withHeaders } from "./_normalize.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that keeps only the named headers (compared case-insensitively),
 * in their original order, so volatile headers (dates, trace ids, user agents)
 * stop taking part in matching.
 *
 * @param names The header names to keep.
 * @returns The normaliser.
 * @throws {TypeError} When a name is not a string.
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
  return (request) =>
    withHeaders(request, request.headers.filter(([name]) => keep.has(name.toLowerCase())));
}
