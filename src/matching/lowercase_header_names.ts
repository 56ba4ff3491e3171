import { withHeaders } from "./_normalize.ts";
import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that lower-cases every header name (values are untouched), as
 * HTTP header names are case-insensitive but the fingerprint is not.
 *
 * @returns The normaliser, which throws `InteractionValidationError` for a value that is not a
 * request.
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
  return (request) => {
    const valid = toRequest(request, "request");
    return withHeaders(
      valid,
      valid.headers.map(([name, value]) => [name.toLowerCase(), value] as const),
    );
  };
}
