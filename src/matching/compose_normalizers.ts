import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * Chains normalisers left to right into one. With none, the result returns
 * the request unchanged (validated).
 *
 * @param normalizers The normalisers, applied in order.
 * @returns The combined normaliser.
 * @throws {TypeError} When an argument is not a function.
 *
 * @example A typical HTTP chain
 * ```ts
 * import { composeNormalizers, createRequest, dropHeaders, lowercaseHeaderNames, sortQuery } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const normalize = composeNormalizers(lowercaseHeaderNames(), dropHeaders(["user-agent"]), sortQuery());
 * const request = createRequest({
 *   protocol: "http",
 *   action: "GET",
 *   target: "/items?b=2&a=1",
 *   headers: [["User-Agent", "curl"], ["Accept", "*\/*"]],
 * });
 * const normalized = normalize(request);
 * assert.equal(normalized.target, "/items?a=1&b=2");
 * assert.deepEqual(normalized.headers, [["accept", "*\/*"]]);
 * ```
 */
export function composeNormalizers(...normalizers: readonly Normalizer[]): Normalizer {
  normalizers.forEach((normalizer, i) => {
    if (typeof normalizer !== "function") {
      throw new TypeError(
        `Cannot compose normalizers: argument ${i} is ${typeof normalizer}, not a function`,
      );
    }
  });
  return (request) =>
    normalizers.reduce((current, normalizer) => normalizer(current), toRequest(request, "request"));
}
