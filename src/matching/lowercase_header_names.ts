import { withHeaders } from "./_normalize.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that lower-cases every header name (values are untouched), as
 * HTTP header names are case-insensitive but the fingerprint is not.
 *
 * @returns The normaliser.
 *
 * @example Case-insensitive header names
 * ```ts
 * import { createRequest, lowercaseHeaderNames } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({
 *   protocol: "http",
 *   action: "GET",
 *   target: "/",
 *   headers: [["Accept", "Text/Plain"]],
 * });
 * assert.deepEqual(lowercaseHeaderNames()(request).headers, [["accept", "Text/Plain"]]);
 * ```
 */
export function lowercaseHeaderNames(): Normalizer {
  return (request) =>
    withHeaders(
      request,
      request.headers.map(([name, value]) => [name.toLowerCase(), value] as const),
    );
}
