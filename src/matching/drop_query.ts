import { joinQuery, paramName, splitQuery, stringList, withTarget } from "./_normalize.ts";
import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that removes the named query parameters from the target
 * (names compared after URL-decoding, case-sensitively, as query names are).
 * When no parameter is left the `?` goes too.
 *
 * @param names The parameter names to drop.
 * @returns The normaliser, which throws `InteractionValidationError` for a value that is not a
 * request.
 * @throws {TypeError} When `names` is not an iterable of strings (a lone string is refused).
 *
 * @example Ignore a cache buster and a signature
 * ```ts
 * import { createRequest, dropQuery } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const normalize = dropQuery(["_", "signature"]);
 * const request = createRequest({ protocol: "http", action: "GET", target: "/a?id=7&_=1700000000&signature=abc" });
 * assert.equal(normalize(request).target, "/a?id=7");
 * ```
 */
export function dropQuery(names: Iterable<string>): Normalizer {
  const drop = new Set(stringList(names, "dropQuery()", "names"));
  return (request) => {
    const valid = toRequest(request, "request");
    const split = splitQuery(valid.target);
    if (split === undefined) return valid;
    const params = split.params.filter((param) => !drop.has(paramName(param)));
    return withTarget(valid, joinQuery({ ...split, params }));
  };
}
