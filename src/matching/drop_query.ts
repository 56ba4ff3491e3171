import { joinQuery, paramName, splitQuery, withTarget } from "./_normalize.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that removes the named query parameters from the target
 * (names compared after URL-decoding, case-sensitively, as query names are).
 * When no parameter is left the `?` goes too.
 *
 * @param names The parameter names to drop.
 * @returns The normaliser.
 * @throws {TypeError} When a name is not a string.
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
  const drop = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string") {
      throw new TypeError(`Cannot build dropQuery(): names must be strings, got ${typeof name}`);
    }
    drop.add(name);
  }
  return (request) => {
    const split = splitQuery(request.target);
    if (split === undefined) return withTarget(request, request.target);
    const params = split.params.filter((param) => !drop.has(paramName(param)));
    return withTarget(request, joinQuery({ ...split, params }));
  };
}
