import {
  CODE_NAMING,
  mayBeText,
  sealChunk,
  sealInteraction,
  sealRequest,
  toChunk,
  toInteraction,
  toRequest,
  withHead,
} from "../core/_model.ts";
import { checkOptions, describe } from "../core/_check.ts";
import { joinQuery, paramName, splitQuery, stringList } from "./_normalize.ts";
import {
  namesTest,
  type Pattern,
  patternsFilter,
  queryInTextPattern,
  redactBytes,
  redactPairs,
  redactText,
  type Rules,
} from "./_redact.ts";
import type { Interaction, Normalizer, ResponseChunk } from "../core/types.ts";

/**
 * Header names whose values are redacted unless `includeDefaults` is false,
 * compared in any case, in requests and in metadata (response headers are
 * chunk metadata such as `header:set-cookie`).
 */
export const DEFAULT_REDACTED_HEADERS: readonly string[] = Object.freeze([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-goog-api-key",
  "x-amz-security-token",
  "x-auth-token",
  "x-access-token",
  "x-csrf-token",
  "x-xsrf-token",
  "private-token",
  "x-vault-token",
  "ocp-apim-subscription-key",
  "x-functions-key",
]);

/**
 * Query parameter names whose values are redacted unless `includeDefaults`
 * is false, compared in any case after URL-decoding; also in form bodies and
 * in URLs inside text. Only names that are secrets in every API we know of:
 * a generic name such as `token` is often a pagination cursor, and redacting
 * it would make different pages match one recording.
 */
export const DEFAULT_REDACTED_QUERY: readonly string[] = Object.freeze([
  "access_token",
  "refresh_token",
  "id_token",
  "api_key",
  "apikey",
  "key",
  "client_secret",
  "password",
  "sig",
  "x-amz-security-token",
  "x-amz-signature",
  "x-amz-credential",
  "x-goog-signature",
  "x-goog-credential",
]);

/**
 * JSON member names whose values are redacted unless `includeDefaults` is
 * false, compared in any case, at any depth; also form field names. Both
 * spellings of each (`access_token`, `accessToken`) are listed.
 */
export const DEFAULT_REDACTED_JSON_FIELDS: readonly string[] = Object.freeze([
  "password",
  "passwd",
  "client_secret",
  "clientsecret",
  "access_token",
  "accesstoken",
  "refresh_token",
  "refreshtoken",
  "id_token",
  "idtoken",
  "api_key",
  "apikey",
  "private_key",
  "privatekey",
  "secret_access_key",
  "secretaccesskey",
  "aws_secret_access_key",
  "session_token",
  "sessiontoken",
  "authorization",
]);

// Each pattern with texts one of which every match holds: a pattern runs
// only on text that holds one, since a substring search costs far less than
// a regular expression over a long body.
const DEFAULT_PATTERN_TABLE: readonly (readonly [RegExp, readonly string[]])[] = [
  // OpenAI (sk-…, sk-proj-…) and Anthropic (sk-ant-…): at least one digit,
  // which every real key has and hyphenated words do not.
  [/\bsk-(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{20,}/, ["sk-"]],
  [/\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/, ["gh", "github_pat_"]],
  [/\bxox[abposre]-[A-Za-z0-9-]{10,}/, ["xox"]],
  [/\bxapp-[0-9]-[A-Za-z0-9-]{10,}/, ["xapp-"]],
  [/(?<=hooks\.slack\.com\/services\/)[A-Za-z0-9/]{20,}/, ["hooks.slack.com"]],
  [/\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}/, ["_live_", "_test_"]],
  [/\bwhsec_[A-Za-z0-9+/=]{20,}/, ["whsec_"]],
  [/\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Za-z0-9])/, ["AKIA", "ASIA", "ABIA", "ACCA"]],
  [/\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]{20,}/, [
    "IQoJb3JpZ2lu",
    "FwoGZXIvYXdz",
    "FQoGZXIvYXdz",
  ]],
  [/(?<=<(?:SecretAccessKey|SessionToken)>)[^<]+/, ["<SecretAccessKey>", "<SessionToken>"]],
  [/\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/, ["AIza"]],
  [/\bya29\.[0-9A-Za-z_-]{20,}/, ["ya29."]],
  [/\bglpat-[A-Za-z0-9_-]{20,}/, ["glpat-"]],
  [/\bnpm_[A-Za-z0-9]{36}(?![A-Za-z0-9])/, ["npm_"]],
  [/\bhf_[A-Za-z0-9]{30,}/, ["hf_"]],
  [/\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}/, ["SG."]],
  [/\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/, ["eyJ"]],
  [/(?<=\b[Bb]earer\s+)[A-Za-z0-9._~+/-]{16,}=*/, ["earer"]],
  [/-----BEGIN[A-Z ]* PRIVATE KEY-----[\s\S]*?-----END[A-Z ]* PRIVATE KEY-----/, [
    "PRIVATE KEY-----",
  ]],
];

/**
 * Well-known token formats, redacted wherever text appears (targets, header
 * and metadata values, UTF-8 bodies and chunks) unless `includeDefaults` is
 * false: OpenAI and Anthropic keys (`sk-…`), GitHub tokens (`ghp_…`,
 * `github_pat_…`), Slack tokens and webhook paths, Stripe secret and
 * webhook keys, AWS access key ids and session tokens, Google API keys and
 * OAuth tokens, GitLab, npm, Hugging Face and SendGrid tokens, JWTs, bearer
 * tokens in text, and PEM private keys.
 */
export const DEFAULT_REDACTED_PATTERNS: readonly RegExp[] = Object.freeze(
  DEFAULT_PATTERN_TABLE.map(([pattern]) => pattern),
);

/** Options for `createRedactor()`. */
export interface RedactorOptions {
  /** More header names (any case) whose values are replaced, in requests and in metadata. */
  readonly headers?: Iterable<string> | undefined;
  /**
   * More query parameter names (any case, compared after URL-decoding) whose
   * values are replaced; they also apply to form bodies and to URLs in text.
   */
  readonly query?: Iterable<string> | undefined;
  /**
   * JSON keys (any case, any depth) whose values are replaced in JSON bodies
   * and chunks, including the JSON of server-sent-event `data:` lines, and
   * form fields of those names. The value is replaced in place, the rest of
   * the text is kept byte for byte; `null`, `true` and `false` are kept.
   */
  readonly jsonFields?: Iterable<string> | undefined;
  /** Patterns replaced wherever text appears: target, header and metadata values, UTF-8 bodies and chunks. */
  readonly patterns?: Iterable<RegExp> | undefined;
  /**
   * What replaces a secret: well-formed text (a lone surrogate cannot be
   * written to a UTF-8 file). URL-encoded in queries, forms and URLs.
   *
   * @default {"[REDACTED]"}
   */
  readonly placeholder?: string | undefined;
  /**
   * Whether the defaults apply: `DEFAULT_REDACTED_HEADERS`,
   * `DEFAULT_REDACTED_QUERY`, `DEFAULT_REDACTED_JSON_FIELDS`,
   * `DEFAULT_REDACTED_PATTERNS` and the password of `scheme://user:password@`
   * URLs.
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
 * Creates a redactor that replaces secrets with a fixed placeholder before
 * they reach a cassette file. By default (see `includeDefaults`) it replaces
 * the values of the `DEFAULT_REDACTED_HEADERS` (any case, in requests and in
 * metadata such as `header:set-cookie`), of the `DEFAULT_REDACTED_QUERY`
 * parameters, of the `DEFAULT_REDACTED_JSON_FIELDS` in JSON bodies and
 * chunks (also in server-sent-event `data:` lines) and in form bodies, the
 * password of `scheme://user:password@` URLs and secret query parameters of
 * URLs anywhere in text, and every match of `DEFAULT_REDACTED_PATTERNS`
 * (well-known token formats) wherever text appears.
 *
 * Redacting twice is the same as redacting once, and a JSON or form body
 * changes only where a secret was: numbers, key order and white space are
 * kept byte for byte.
 *
 * What no rule can see: a secret split across two response chunks, bytes
 * that are not UTF-8 (binary, compressed or protobuf bodies), a secret of no
 * known format under a name none of the lists holds, and a token spelled
 * with JSON escapes inside it.
 *
 * @param options Extra names, JSON fields, patterns and the placeholder.
 * @returns The redactor.
 * @throws {TypeError} When `options` is not an object, a list is not an
 * iterable of strings (or of `RegExp` for `patterns`), or the placeholder
 * is not a string or `includeDefaults` not a boolean.
 * @throws {RangeError} When the placeholder is not well-formed Unicode.
 *
 * @example Redact a bearer token and a JSON field
 * ```ts
 * import { createChunk, createInteraction, createRedactor, createRequest, fingerprint } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const redactor = createRedactor();
 * const request = createRequest({
 *   protocol: "http",
 *   action: "POST",
 *   target: "/login?api_key=k-123",
 *   headers: [["Authorization", "Bearer s3cr3t"]],
 *   body: '{"user": "ada", "password": "hunter2", "id": 12345678901234567890}',
 * });
 * const redacted = redactor.request(request);
 * assert.deepEqual(redacted.headers, [["Authorization", "[REDACTED]"]]);
 * assert.equal(redacted.target, "/login?api_key=%5BREDACTED%5D");
 * // Only the secret changes: the spacing and the big number stay as they were.
 * assert.equal(
 *   new TextDecoder().decode(redacted.body),
 *   '{"user": "ada", "password": "[REDACTED]", "id": 12345678901234567890}',
 * );
 *
 * const stored = redactor.interaction(createInteraction(request, [
 *   createChunk('{"access_token":"t-1"}', 0, [["header:set-cookie", "session=abc"]]),
 * ]));
 * assert.equal(stored.fingerprint, fingerprint(redacted));
 * assert.equal(new TextDecoder().decode(stored.responseChunks[0]!.data), '{"access_token":"[REDACTED]"}');
 * assert.deepEqual(stored.responseChunks[0]!.metadata, [["header:set-cookie", "[REDACTED]"]]);
 * ```
 *
 * @example Token formats anywhere
 * ```ts
 * import { createChunk, createRedactor } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const text = "key: AKIAIOSFODNN7EXAMPLE, url: https://bot:pa55@example.com/";
 * const chunk = createRedactor().chunk!(createChunk(text, 0));
 * assert.equal(
 *   new TextDecoder().decode(chunk.data),
 *   "key: [REDACTED], url: https://bot:%5BREDACTED%5D@example.com/",
 * );
 * ```
 */
export function createRedactor(options?: RedactorOptions): Redactor {
  checkOptions(options, "create redactor");
  const defaults = options?.includeDefaults ?? true;
  if (typeof defaults !== "boolean") {
    throw new TypeError(
      `Cannot create redactor: includeDefaults must be a boolean, got ${describe(defaults)}`,
    );
  }
  const what = "redactor";
  const list = (given: unknown, name: string): string[] =>
    given === undefined ? [] : stringList(given, what, name);
  const lower = (names: Iterable<string>) => new Set([...names].map((n) => n.toLowerCase()));
  const headers = lower([
    ...(defaults ? DEFAULT_REDACTED_HEADERS : []),
    ...list(options?.headers, "headers"),
  ]);
  const query = lower([
    ...(defaults ? DEFAULT_REDACTED_QUERY : []),
    ...list(options?.query, "query"),
  ]);
  const fields = lower([
    ...(defaults ? DEFAULT_REDACTED_JSON_FIELDS : []),
    ...list(options?.jsonFields, "jsonFields"),
  ]);
  const given = options?.patterns;
  if (
    given !== undefined &&
    (typeof given !== "object" || given === null || !(Symbol.iterator in given))
  ) {
    throw new TypeError(
      `Cannot create redactor: patterns must be an iterable of RegExp objects, got ${
        describe(given)
      }`,
    );
  }
  const globalOf = (pattern: RegExp) =>
    new RegExp(pattern.source, pattern.global ? pattern.flags : `${pattern.flags}g`);
  const patterns: Pattern[] = [
    ...(defaults
      ? DEFAULT_PATTERN_TABLE.map(([pattern, hints]) => ({ regex: globalOf(pattern), hints }))
      : []),
    ...[...(given ?? [])].map((pattern: unknown) => {
      if (!(pattern instanceof RegExp)) {
        throw new TypeError(
          `Cannot create redactor: patterns must be RegExp objects, got ${describe(pattern)}`,
        );
      }
      return { regex: globalOf(pattern), hints: undefined };
    }),
  ];
  const placeholder = options?.placeholder ?? "[REDACTED]";
  if (typeof placeholder !== "string") {
    throw new TypeError(
      `Cannot create redactor: placeholder must be a string, got ${describe(placeholder)}`,
    );
  }
  if (!placeholder.isWellFormed()) {
    throw new RangeError(
      "Cannot create redactor: placeholder must be well-formed Unicode, got a string with a lone surrogate",
    );
  }
  const encoded = encodeURIComponent(placeholder);
  const form = new Set([...fields, ...query]);
  const rules: Rules = {
    headers,
    query,
    fields,
    form,
    fieldsTest: namesTest(fields),
    formOnlyTest: namesTest(new Set([...query].filter((name) => !fields.has(name)))),
    patterns,
    mayMatch: patternsFilter(patterns),
    userInfo: defaults,
    queryInText: queryInTextPattern(query),
    placeholder,
    encoded,
    escaped: JSON.stringify(placeholder).slice(1, -1),
  };

  // Made once per redactor, not once per target (a closure per call showed in profiles).
  const secret = (param: string) => query.has(paramName(param).toLowerCase());
  const redactTarget = (target: string): string => {
    const split = splitQuery(target);
    // Most targets hold no secret parameter: they are kept, not rebuilt.
    const withQuery = split === undefined || !split.params.some(secret) ? target : joinQuery({
      ...split,
      params: split.params.map((param) => {
        if (!secret(param)) return param;
        const equals = param.indexOf("=");
        return `${equals === -1 ? param : param.slice(0, equals)}=${encoded}`;
      }),
    });
    return redactText(withQuery, rules);
  };

  const request: Normalizer = (input) => {
    const valid = toRequest(input, "request");
    const target = redactTarget(valid.target);
    const redactedHeaders = redactPairs(valid.headers, rules);
    // A body kept in a blob file is read once, and only when it is text:
    // redaction leaves other bytes as they are (a big upload stays on disk).
    const original = mayBeText(valid) ? valid.body : undefined;
    const body = original === undefined ? undefined : redactBytes(original, rules);
    if (target === valid.target && redactedHeaders === valid.headers && body === original) {
      return valid;
    }
    return body === undefined
      ? withHead(valid, valid.protocol, valid.action, target, redactedHeaders)
      : sealRequest(valid.protocol, valid.action, target, redactedHeaders, body);
  };

  // Chunks this redactor has already produced: redacting them again would
  // change nothing, and for a blob chunk it would mean reading the file.
  const redacted = new WeakSet<ResponseChunk>();
  const chunk = (input: ResponseChunk): ResponseChunk => {
    const valid = toChunk(input, 0, "chunk");
    if (redacted.has(valid)) return valid;
    // `data` of a blob chunk reads its file: read it once.
    const bytes = valid.data;
    const data = redactBytes(bytes, rules);
    const metadata = redactPairs(valid.metadata, rules);
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
      redactPairs(valid.metadata, rules),
      undefined,
      "interaction",
      CODE_NAMING,
    );
  };

  return Object.freeze({ request, interaction, chunk });
}
