// The pieces of redaction that work on plain values (ADR 0021). Bodies are
// redacted in place (ADR 0026): only the bytes of a secret change, so a
// replayed body differs from the live one in nothing but its secrets.
import { decodeUtf8, encodeUtf8 } from "../core/_bytes.ts";
import type { Pairs } from "../core/types.ts";
import { paramName } from "./_normalize.ts";
import { scanJson, stringValue } from "./_json_scan.ts";

/** A pattern (with the `g` flag) and, when known, texts one of which every match holds. */
export interface Pattern {
  readonly regex: RegExp;
  readonly hints: readonly string[] | undefined;
}

/** Everything a redactor replaces, compiled once. */
export interface Rules {
  /** Header and metadata names, lower-cased. */
  readonly headers: ReadonlySet<string>;
  /** Query parameter names, lower-cased. */
  readonly query: ReadonlySet<string>;
  /** JSON member names, lower-cased. */
  readonly fields: ReadonlySet<string>;
  /** Form field names (`application/x-www-form-urlencoded`): the JSON and query names. */
  readonly form: ReadonlySet<string>;
  /** `namesTest()` of `fields`. */
  readonly fieldsTest: RegExp | undefined;
  /**
   * `namesTest()` of the `form` names that are not `fields` names: a text
   * that `fieldsTest` passes holds a form name already, and one it fails
   * holds a form name only if it holds one of these.
   */
  readonly formOnlyTest: RegExp | undefined;
  /** Patterns replaced wherever text appears. */
  readonly patterns: readonly Pattern[];
  /**
   * Whether a text may hold a match of any pattern: the patterns without
   * hints always may; the others only where one of their hints is. One
   * search instead of one per hint, so the many texts without any (most
   * targets, header values and bodies) skip the patterns at once.
   */
  readonly mayMatch: (text: string) => boolean;
  /** Whether the password of `scheme://user:password@` is replaced wherever text appears. */
  readonly userInfo: boolean;
  /** Matches `?name=value` for the secret query names inside text, or `undefined`. */
  readonly queryInText: RegExp | undefined;
  readonly placeholder: string;
  /** The placeholder URL-encoded, for queries, forms and URLs. */
  readonly encoded: string;
  /** The placeholder as it is written inside a JSON string (escaped). */
  readonly escaped: string;
}

// A URL's password: `scheme://user:password@`. Characters that cannot be in
// a URL's user part end the match, so prose with "://" and "@" is left alone.
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/[^\s:@/?#"'<>\\]*):([^\s@/?#"'<>\\]+)@/gi;

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A pattern for `?name=value` (also `&`, `#`, `;`) with one of the names, any case. */
export function queryInTextPattern(names: ReadonlySet<string>): RegExp | undefined {
  if (names.size === 0) return undefined;
  const alternatives = [...names].map(escapeRegExp).join("|");
  return new RegExp(`([?&#;](?:${alternatives})=)[^&#\\s"'<>\\\\]*`, "gi");
}

/**
 * Applies the URL rules and every pattern to a string; `inJson` writes the
 * placeholder escaped, as the text is JSON.
 */
export function redactText(text: string, rules: Rules, inJson = false): string {
  let out = text;
  if (rules.userInfo && out.includes("://") && out.includes("@")) {
    out = out.replace(USERINFO, (_, head: string) => `${head}:${rules.encoded}@`);
  }
  if (rules.queryInText !== undefined && out.includes("=")) {
    rules.queryInText.lastIndex = 0;
    out = out.replace(rules.queryInText, (_, head: string) => `${head}${rules.encoded}`);
  }
  if (!rules.mayMatch(out)) return out;
  const placeholder = inJson ? rules.escaped : rules.placeholder;
  // A function, so that "$" in a placeholder is not a replacement pattern.
  const replacement = () => placeholder;
  for (const { regex, hints } of rules.patterns) {
    if (hints !== undefined && !hints.some((hint) => out.includes(hint))) continue;
    regex.lastIndex = 0;
    out = out.replace(regex, replacement);
  }
  return out;
}

/** The `mayMatch` of a list of patterns (see `Rules`). */
export function patternsFilter(patterns: readonly Pattern[]): (text: string) => boolean {
  if (patterns.some(({ hints }) => hints === undefined)) return () => true;
  const hints = patterns.flatMap(({ hints }) => hints ?? []);
  if (hints.length === 0) return () => false;
  const any = new RegExp(hints.map(escapeRegExp).join("|"));
  return (text) => any.test(text);
}

/**
 * A test of whether any of the names can occur in a text, in any case: one
 * regular expression, much cheaper than scanning the text once per name.
 * `undefined` when there are no names.
 */
export function namesTest(names: ReadonlySet<string>): RegExp | undefined {
  if (names.size === 0) return undefined;
  // An escape can spell any name; names are compared after decoding.
  return new RegExp(`\\\\u|${[...names].map(escapeRegExp).join("|")}`, "i");
}

/** Whether a text may hold one of the names `test` looks for (a quick test before scanning). */
function mayHold(text: string, test: RegExp | undefined): boolean {
  return test !== undefined && test.test(text);
}

/**
 * Replaces, in place, the values of JSON members whose names (any case) are
 * secret, at any depth; `undefined` when the text is not JSON. `null`,
 * `true` and `false` hold no secret and stay; a value already equal to the
 * placeholder stays, so redacting twice changes nothing.
 */
export function redactJson(text: string, rules: Rules): string | undefined {
  const spans: number[] = [];
  const placeholder = rules.placeholder;
  // For each open container: the start of the secret member value it is, if any.
  const open: number[] = [];
  let pendingKey: string | undefined;
  // Depth of the outermost secret value being read; nested ones are inside it.
  let inside = -1;
  const ok = scanJson(text, {
    open(_array, start) {
      const secret = inside === -1 && pendingKey !== undefined && rules.fields.has(pendingKey);
      if (secret) inside = open.length;
      open.push(secret ? start : -1);
      pendingKey = undefined;
    },
    key(start, end) {
      pendingKey = stringValue(text, start, end).toLowerCase();
    },
    primitive(start, end) {
      const key = pendingKey;
      pendingKey = undefined;
      if (inside !== -1 || key === undefined || !rules.fields.has(key)) return;
      const first = text.charCodeAt(start);
      // true, false, null
      if (first === 0x74 || first === 0x66 || first === 0x6e) return;
      if (first === 0x22 && stringValue(text, start, end) === placeholder) return;
      spans.push(start, end);
    },
    close(end) {
      const start = open.pop()!;
      if (start !== -1) {
        spans.push(start, end);
        inside = -1;
      }
      pendingKey = undefined;
    },
  });
  if (!ok) return undefined;
  if (spans.length === 0) return text;
  const literal = JSON.stringify(placeholder);
  const parts: string[] = [];
  let at = 0;
  for (let i = 0; i < spans.length; i += 2) {
    parts.push(text.slice(at, spans[i]), literal);
    at = spans[i + 1]!;
  }
  parts.push(text.slice(at));
  return parts.join("");
}

// Whether a text that no JSON member rule looked at is JSON: only then does
// a placeholder needing escapes matter.
function isJsonText(text: string): boolean {
  const first = text.charCodeAt(0);
  return (first === 0x7b || first === 0x5b || first === 0x22) && scanJson(text, IGNORE);
}

const IGNORE = { open() {}, key() {}, primitive() {}, close() {} };

// Server-sent events carry JSON one `data:` line at a time (LLM streams).
function redactSseJson(text: string, rules: Rules): string {
  if (!text.includes("data:")) return text;
  return text.replace(/^(data: ?)(.*)$/gm, (line, prefix: string, payload: string) => {
    const redacted = redactJson(payload, rules);
    return redacted === undefined ? line : `${prefix}${redacted}`;
  });
}

// A form body: `name=value` pairs joined by `&`, with no raw white space.
const FORM = /^[^\s&=]+=[^\s&]*(?:&[^\s&=]*=?[^\s&]*)*$/;

/** Replaces in place the values of form fields whose decoded names (any case) are secret. */
function redactForm(text: string, rules: Rules): string {
  if (!FORM.test(text)) return text;
  let changed = false;
  const params = text.split("&").map((param) => {
    const equals = param.indexOf("=");
    if (equals === -1 || !rules.form.has(paramName(param).toLowerCase())) return param;
    if (param.slice(equals + 1) === rules.encoded) return param;
    changed = true;
    return `${param.slice(0, equals)}=${rules.encoded}`;
  });
  return changed ? params.join("&") : text;
}

/**
 * Redacts UTF-8 bytes: secret members of a JSON body (or of the JSON in
 * server-sent-event lines), secret fields of a form body, then the URL rules
 * and patterns anywhere. Other bytes are returned as they are.
 */
export function redactBytes(
  bytes: Uint8Array<ArrayBuffer>,
  rules: Rules,
): Uint8Array<ArrayBuffer> {
  if (bytes.length === 0) return bytes;
  const text = decodeUtf8(bytes);
  if (text === undefined) return bytes;
  let out = text;
  let json: string | undefined;
  // Each names test reads the whole text: a text that fails the first is
  // tested only for the form names the first did not look for.
  if (mayHold(text, rules.fieldsTest)) {
    json = redactJson(text, rules);
    out = json ?? redactSseJson(text, rules);
    if (json === undefined && out === text) out = redactForm(text, rules);
  } else if (mayHold(text, rules.formOnlyTest)) {
    out = redactForm(text, rules);
  }
  // Scanning a body only to learn that it is JSON is paid only by a
  // placeholder that JSON must escape.
  const inJson = rules.escaped !== rules.placeholder && (json !== undefined || isJsonText(out));
  out = redactText(out, rules, inJson);
  return out === text ? bytes : encodeUtf8(out);
}

/** Whether a pair key names a secret: lower-cased, it is a name or ends with `:name`. */
function isSecretKey(key: string, names: ReadonlySet<string>): boolean {
  const lower = key.toLowerCase();
  if (names.has(lower)) return true;
  const colon = lower.lastIndexOf(":");
  return colon !== -1 && names.has(lower.slice(colon + 1));
}

/**
 * Redacts pair values whose key names a secret (as `header:set-cookie` does
 * for `set-cookie`), and the URL rules and patterns in the other values.
 */
export function redactPairs(pairs: Pairs, rules: Rules): Pairs {
  let changed = false;
  const out = pairs.map((pair) => {
    const value = isSecretKey(pair[0], rules.headers)
      ? rules.placeholder
      : redactText(pair[1], rules);
    if (value === pair[1]) return pair;
    changed = true;
    return Object.freeze([pair[0], value] as const);
  });
  return changed ? Object.freeze(out) : pairs;
}
