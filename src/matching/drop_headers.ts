import { nameSet, withHeaders } from "./_normalize.ts";
import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that removes the named headers (compared case-insensitively)
 * and keeps the rest in order.
 *
 * @param names The header names to drop.
 * @returns The normaliser, which throws `InteractionValidationError` for a value that is not a
 * request.
 * @throws {TypeError} When `names` is not an iterable of strings (a lone string is refused).
 *
 * @example Ignore a rotating request id
 * ```ts
 * import { createRequest, dropHeaders } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const normalize = dropHeaders(["X-Request-Id"]);
 * const request = createRequest({
 *   protocol: "http",
 *   action: "GET",
 *   target: "/",
 *   headers: [["accept", "*\/*"], ["x-request-id", "8f2c"]],
 * });
 * assert.deepEqual(normalize(request).headers, [["accept", "*\/*"]]);
 * ```
 */
export function dropHeaders(names: Iterable<string>): Normalizer {
  const drop = nameSet(names, "dropHeaders()");
  return (request) => {
    const valid = toRequest(request, "request");
    return withHeaders(valid, valid.headers.filter(([name]) => !drop.has(name.toLowerCase())));
  };
}
