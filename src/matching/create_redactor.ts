import {
  CODE_NAMING,
  sealChunk,
  sealInteraction,
  sealRequest,
  toChunk,
  toInteraction,
  toRequest,
} from "../core/_model.ts";
import { joinQuery, nameSet, paramName, splitQuery } from "./_normalize.ts";
import { redactBytes, redactPairs, redactText } from "./_redact.ts";
import type { Interaction, Normalizer, ResponseChunk } from "../core/types.ts";

/** Header names whose values are redacted unless `includeDefaults` is false. */
export const DEFAULT_REDACTED_HEADERS: readonly string[] = Object.freeze([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
]);

/**
 * Query parameter names whose values are redacted unless `includeDefaults` is
 * false. Only names that are secrets in every API we know of: a generic name
 * such as `token` is often a pagination cursor, and redacting it would make
 * different pages match one recording.
 */
export const DEFAULT_REDACTED_QUERY: readonly string[] = Object.freeze([
  "access_token",
  "api_key",
  "apikey",
  "client_secret",
]);

/** Options for `createRedactor()`. */
export interface RedactorOptions {
  /** More header names (any case) whose values are replaced, in requests and in metadata. */
  readonly headers?: Iterable<string> | undefined;
  /** More query parameter names (compared after URL-decoding) whose values are replaced. */
  readonly query?: Iterable<string> | undefined;
  /**
   * JSON keys (any case, any depth) whose values are replaced in JSON bodies
   * and chunks, including the JSON of server-sent-event `data:` lines.
   */
  readonly jsonFields?: Iterable<string> | undefined;
  /** Patterns replaced wherever text appears: target, header and metadata values, UTF-8 bodies and chunks. */
  readonly patterns?: Iterable<RegExp> | undefined;
  /**
   * What replaces a secret.
   *
   * @default {"[REDACTED]"}
   */
  readonly placeholder?: string | undefined;
  /**
   * Whether `DEFAULT_REDACTED_HEADERS` and `DEFAULT_REDACTED_QUERY` apply.
   *
   * @default {true}
   */
  readonly includeDefaults?: boolean | undefined;
}

/**
 * Redaction as two pure functions: `request` for what is matched (apply it
 * when recording and when replaying, so redacted recordings still match) and
 * `interaction` for what is stored (the request plus response chunk data and
 * all metadata).
 */
export interface Redactor {
  /** Redacts a request: secret header values, secret query values, JSON fields and patterns in the body. */
  readonly request: Normalizer;
  /** Redacts a whole interaction before it is stored; its fingerprint is that of the redacted request. */
  readonly interaction: (interaction: Interaction) => Interaction;
  /**
   * Redacts one response chunk (its data and metadata) as `interaction` would.
   * Brokers use it to redact a streamed chunk before its bytes go to a blob
   * file (ADR 0041); without it they keep such chunks in memory until the
   * whole response is redacted.
   */
  readonly chunk?: ((chunk: ResponseChunk) => ResponseChunk) | undefined;
}

/**
 * Creates a redactor that replaces secrets with a fixed placeholder so they
 * never reach a cassette file: by default the values of `authorization`,
 * `proxy-authorization`, `cookie`, `set-cookie`, `x-api-key` and `api-key`
 * headers (any case), wherever they appear in requests or metadata, and of the
 * `access_token`, `api_key`, `apikey` and `client_secret` query parameters.
 * Redacting twice is the same as redacting once.
 *
 * A secret split across two response chunks is not seen by JSON fields or
 * patterns, which look at one chunk at a time.
 *
 * @param options Extra names, JSON fields, patterns and the placeholder.
 * @returns The redactor.
 * @throws {TypeError} When a name is not a string or a pattern not a `RegExp`.
 *
 * @example Redact a bearer token and a JSON field
 * ```ts
 * import { createChunk, createInteraction, createRedactor, createRequest, fingerprint } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const redactor = createRedactor({ jsonFields: ["password"] });
 * const request = createRequest({
 *   protocol: "http",
 *   action: "POST",
 *   target: "/login?api_key=k-123",
 *   headers: [["Authorization", "Bearer s3cr3t"]],
 *   body: '{"user":"ada","password":"hunter2"}',
 * });
 * const redacted = redactor.request(request);
 * assert.deepEqual(redacted.headers, [["Authorization", "[REDACTED]"]]);
 * assert.equal(redacted.target, "/login?api_key=%5BREDACTED%5D");
 * assert.equal(new TextDecoder().decode(redacted.body), '{"user":"ada","password":"[REDACTED]"}');
 *
 * const stored = redactor.interaction(createInteraction(request, [
 *   createChunk('{"token":"t-1"}', 0, [["header:set-cookie", "session=abc"]]),
 * ]));
 * assert.equal(stored.fingerprint, fingerprint(redacted));
 * assert.deepEqual(stored.responseChunks[0]!.metadata, [["header:set-cookie", "[REDACTED]"]]);
 * ```
 */
export function createRedactor(options?: RedactorOptions): Redactor {
  const defaults = options?.includeDefaults ?? true;
  const headers = nameSet([
    ...(defaults ? DEFAULT_REDACTED_HEADERS : []),
    ...(options?.headers ?? []),
  ], "createRedactor()");
  const query = new Set<string>();
  for (const name of [...(defaults ? DEFAULT_REDACTED_QUERY : []), ...(options?.query ?? [])]) {
    if (typeof name !== "string") {
      throw new TypeError(
        `Cannot create redactor: query names must be strings, got ${typeof name}`,
      );
    }
    query.add(name);
  }
  const fields = nameSet(options?.jsonFields ?? [], "createRedactor()");
  const patterns = [...(options?.patterns ?? [])].map((pattern) => {
    if (!(pattern instanceof RegExp)) {
      throw new TypeError(
        `Cannot create redactor: patterns must be RegExp objects, got ${typeof pattern}`,
      );
    }
    return pattern.global ? pattern : new RegExp(pattern.source, `${pattern.flags}g`);
  });
  const placeholder = options?.placeholder ?? "[REDACTED]";
  if (typeof placeholder !== "string") {
    throw new TypeError(
      `Cannot create redactor: placeholder must be a string, got ${typeof placeholder}`,
    );
  }
  const encodedPlaceholder = encodeURIComponent(placeholder);

  const redactTarget = (target: string): string => {
    const split = splitQuery(target);
    const withQuery = split === undefined ? target : joinQuery({
      ...split,
      params: split.params.map((param) => {
        if (!query.has(paramName(param))) return param;
        const equals = param.indexOf("=");
        return `${equals === -1 ? param : param.slice(0, equals)}=${encodedPlaceholder}`;
      }),
    });
    return redactText(withQuery, patterns, placeholder);
  };

  const request: Normalizer = (input) => {
    const valid = toRequest(input, "request");
    const target = redactTarget(valid.target);
    const redactedHeaders = redactPairs(valid.headers, headers, patterns, placeholder);
    const body = redactBytes(valid.body, fields, patterns, placeholder);
    if (target === valid.target && redactedHeaders === valid.headers && body === valid.body) {
      return valid;
    }
    return sealRequest(valid.protocol, valid.action, target, redactedHeaders, body);
  };

  // Chunks this redactor has already produced: redacting them again would
  // change nothing, and for a blob chunk it would mean reading the file.
  const redacted = new WeakSet<ResponseChunk>();
  const chunk = (input: ResponseChunk): ResponseChunk => {
    const valid = toChunk(input, 0, "chunk");
    if (redacted.has(valid)) return valid;
    // `data` of a blob chunk reads its file: read it once.
    const bytes = valid.data;
    const data = redactBytes(bytes, fields, patterns, placeholder);
    const metadata = redactPairs(valid.metadata, headers, patterns, placeholder);
    const result = data === bytes && metadata === valid.metadata
      ? valid
      : sealChunk(data, valid.sequence, metadata);
    redacted.add(result);
    return result;
  };

  const interaction = (input: Interaction): Interaction => {
    const valid = toInteraction(input, "interaction");
    const chunks = valid.responseChunks.map(chunk);
    return sealInteraction(
      request(valid.request),
      Object.freeze(chunks),
      redactPairs(valid.metadata, headers, patterns, placeholder),
      undefined,
      "interaction",
      CODE_NAMING,
    );
  };

  return Object.freeze({ request, interaction, chunk });
}
