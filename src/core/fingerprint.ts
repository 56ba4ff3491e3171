import { describe } from "./_check.ts";
import { computeFingerprint } from "./_fingerprint.ts";
import { isValid } from "./_model.ts";
import { InteractionValidationError } from "./errors.ts";
import type { InteractionRequest } from "./types.ts";

/**
 * Computes a request's fingerprint exactly as interposition 0.6 does: the
 * SHA-256 (64 lowercase hex characters) of Python's
 * `json.dumps([protocol, action, target, headers, body.hex()], separators=(",", ":"), sort_keys=True)`
 * with `ensure_ascii`. Header order and duplicates count; nothing is normalised.
 *
 * The body is hashed incrementally, so a large body costs no extra memory.
 *
 * @param request The request to fingerprint.
 * @returns The fingerprint as 64 lowercase hex characters.
 * @throws {InteractionValidationError} When `request` does not have the shape of an
 * `InteractionRequest` (strings, `[string, string]` headers, `Uint8Array` body).
 *
 * @example Same fingerprint as interposition
 * ```ts
 * import { createRequest, fingerprint } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/api/users/42" });
 * assert.equal(
 *   fingerprint(request),
 *   "d85f6ff7352857e097d69b97cbda1dc28b0abaa08ae13b9342d01b2fda66d6fe",
 * );
 * ```
 */
export function fingerprint(request: InteractionRequest): string {
  if (!isValid(request)) checkShape(request);
  return computeFingerprint(request, true);
}

function checkShape(value: unknown): void {
  if (typeof value !== "object" || value === null) {
    throw new InteractionValidationError("request", "a request object", describe(value));
  }
  const request = value as Record<string, unknown>;
  for (const key of ["protocol", "action", "target"] as const) {
    if (typeof request[key] !== "string") {
      throw new InteractionValidationError(`request.${key}`, "a string", describe(request[key]));
    }
  }
  const headers = request.headers;
  if (!Array.isArray(headers)) {
    throw new InteractionValidationError(
      "request.headers",
      "an array of [key, value] pairs",
      describe(headers),
    );
  }
  headers.forEach((pair: unknown, i) => {
    if (
      !Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" ||
      typeof pair[1] !== "string"
    ) {
      throw new InteractionValidationError(
        `request.headers[${i}]`,
        "a [string, string] pair",
        describe(pair),
      );
    }
  });
  if (!(request.body instanceof Uint8Array)) {
    throw new InteractionValidationError("request.body", "a Uint8Array", describe(request.body));
  }
}
