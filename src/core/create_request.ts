import { toRequest } from "./_model.ts";
import type { BytesInit, InteractionRequest, PairsInit } from "./types.ts";

/** The fields of a request, as given to `createRequest()`. */
export interface InteractionRequestInit {
  /** Protocol name, e.g. `"http"`. */
  readonly protocol: string;
  /** What is done, e.g. `"GET"`. */
  readonly action: string;
  /** What it is done to, e.g. `"/api/users/42"`. */
  readonly target: string;
  /**
   * Ordered headers.
   *
   * @default {[]}
   */
  readonly headers?: PairsInit | undefined;
  /**
   * Body bytes; a string is encoded as UTF-8.
   *
   * @default {new Uint8Array(0)}
   */
  readonly body?: BytesInit | undefined;
}

/**
 * Creates a deeply frozen request. Headers are copied into frozen pairs in
 * the order given; body bytes are copied, so changing the caller's buffer
 * afterwards changes nothing here (every empty body is one shared, frozen
 * empty array).
 *
 * @param init The request's fields.
 * @returns The frozen request.
 * @throws {InteractionValidationError} When a field has the wrong type or a
 * string is not well-formed Unicode (a lone surrogate cannot be stored as UTF-8).
 *
 * @example Build a request
 * ```ts
 * import { createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({
 *   protocol: "http",
 *   action: "POST",
 *   target: "/api/users",
 *   headers: [["content-type", "application/json"]],
 *   body: '{"name":"Alice"}',
 * });
 * assert.equal(new TextDecoder().decode(request.body), '{"name":"Alice"}');
 * assert.ok(Object.isFrozen(request.headers[0]));
 * ```
 */
export function createRequest(init: InteractionRequestInit): InteractionRequest {
  return toRequest(init, "");
}
