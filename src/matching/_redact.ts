// The pieces of redaction that work on plain values.
import { decodeUtf8, encodeUtf8 } from "../core/_bytes.ts";
import type { Pairs } from "../core/types.ts";

/** Rewrites a JSON text's values under the named keys, at any depth; `undefined` when not JSON. */
export function redactJson(
  text: string,
  fields: ReadonlySet<string>,
  placeholder: string,
): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  let changed = false;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== "object" || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      if (fields.has(key.toLowerCase()) && child !== placeholder) {
        out[key] = placeholder;
        changed = true;
      } else {
        out[key] = visit(child);
      }
    }
    return out;
  };
  const redacted = visit(value);
  return changed ? JSON.stringify(redacted) : text;
}

/** Applies every pattern to a string, replacing matches with the placeholder. */
export function redactText(text: string, patterns: readonly RegExp[], placeholder: string): string {
  let out = text;
  for (const pattern of patterns) {
    pattern.lastIndex = 0;
    out = out.replace(pattern, placeholder);
  }
  return out;
}

/** Redacts UTF-8 bytes (JSON fields first, then patterns); other bytes are returned as they are. */
export function redactBytes(
  bytes: Uint8Array<ArrayBuffer>,
  fields: ReadonlySet<string>,
  patterns: readonly RegExp[],
  placeholder: string,
): Uint8Array<ArrayBuffer> {
  if (bytes.length === 0 || (fields.size === 0 && patterns.length === 0)) return bytes;
  const text = decodeUtf8(bytes);
  if (text === undefined) return bytes;
  const json = fields.size === 0
    ? text
    : (redactJson(text, fields, placeholder) ?? redactSseJson(text, fields, placeholder));
  const redacted = redactText(json, patterns, placeholder);
  return redacted === text ? bytes : encodeUtf8(redacted);
}

// Server-sent events carry JSON one `data:` line at a time (LLM streams).
function redactSseJson(text: string, fields: ReadonlySet<string>, placeholder: string): string {
  if (!text.includes("data:")) return text;
  return text.replace(/^(data: ?)(.*)$/gm, (line, prefix: string, payload: string) => {
    const redacted = redactJson(payload, fields, placeholder);
    return redacted === undefined ? line : `${prefix}${redacted}`;
  });
}

/**
 * Redacts pair values whose key names a secret. A key matches when, lower-cased,
 * it equals a name or ends with `:name` (as `header:set-cookie` does).
 */
export function redactPairs(
  pairs: Pairs,
  names: ReadonlySet<string>,
  patterns: readonly RegExp[],
  placeholder: string,
): Pairs {
  let changed = false;
  const out = pairs.map((pair) => {
    const key = pair[0].toLowerCase();
    const colon = key.lastIndexOf(":");
    const secret = names.has(key) || (colon !== -1 && names.has(key.slice(colon + 1)));
    const value = secret ? placeholder : redactText(pair[1], patterns, placeholder);
    if (value === pair[1]) return pair;
    changed = true;
    return Object.freeze([pair[0], value] as const);
  });
  return changed ? Object.freeze(out) : pairs;
}
