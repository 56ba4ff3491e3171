import { decodeUtf8, encodeUtf8 } from "../core/_bytes.ts";
import { withBody } from "./_normalize.ts";
import { toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that rewrites a JSON body canonically: object keys sorted (by
 * UTF-16 code units) and no insignificant whitespace, so key order and
 * formatting stop mattering. Bodies that are empty, not UTF-8 or not JSON are
 * left as they are. Numbers go through JavaScript's `number`, so `1.0` and `1`
 * become equal, and integers beyond 2^53 lose precision.
 *
 * @returns The normaliser.
 *
 * @example Key order and whitespace stop mattering
 * ```ts
 * import { canonicalJsonBody, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "POST", target: "/", body: '{ "b": 1, "a": [true, null] }' });
 * assert.equal(new TextDecoder().decode(canonicalJsonBody()(request).body), '{"a":[true,null],"b":1}');
 * ```
 */
export function canonicalJsonBody(): Normalizer {
  return (request) => {
    const valid = toRequest(request, "request");
    if (valid.body.length === 0) return valid;
    const text = decodeUtf8(valid.body);
    if (text === undefined) return valid;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return valid;
    }
    const canonical = JSON.stringify(sortKeys(value));
    return canonical === text ? valid : withBody(valid, encodeUtf8(canonical));
  };
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}
