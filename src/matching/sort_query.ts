import { joinQuery, splitQuery, withTarget } from "./_normalize.ts";
import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that sorts the query parameters of the target (a URL or a path
 * with `?query`) by their raw name. The sort is stable, so repeated parameters
 * (`tag=a&tag=b`) keep their order; encodings are left exactly as they were;
 * empty pieces (`a=1&&b=2`) are dropped.
 *
 * @returns The normaliser, which throws `InteractionValidationError` for a value that is not a
 * request.
 *
 * @example Query order stops mattering
 * ```ts
 * import { createRequest, sortQuery } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/search?q=x&page=2&lang=en" });
 * assert.equal(sortQuery()(request).target, "/search?lang=en&page=2&q=x");
 * ```
 */
export function sortQuery(): Normalizer {
  return (request) => {
    const valid = toRequest(request, "request");
    const split = splitQuery(valid.target);
    if (split === undefined) return valid;
    const name = (param: string) => {
      const equals = param.indexOf("=");
      return equals === -1 ? param : param.slice(0, equals);
    };
    const params = [...split.params].sort((a, b) => {
      const left = name(a);
      const right = name(b);
      return left < right ? -1 : left > right ? 1 : 0;
    });
    return withTarget(valid, joinQuery({ ...split, params }));
  };
}
