import { decodeUtf8, encodeUtf8 } from "../core/_bytes.ts";
import { withBody } from "./_normalize.ts";
import { scanJson, stringValue } from "./_json_scan.ts";
import { bodySize, mayBeText, toRequest } from "../core/_model.ts";
import type { Normalizer } from "../core/types.ts";

/**
 * A normaliser that rewrites a JSON body canonically: object keys sorted (by
 * UTF-16 code units, integer-like keys first in numeric order, as JavaScript
 * objects keep them) and no insignificant whitespace, so key order and
 * formatting stop mattering. Bodies that are empty, not UTF-8 or not JSON are
 * left as they are. Numbers go through JavaScript's `number`, so `1.0` and `1`
 * become equal, integers beyond 2^53 lose precision and `1e400` becomes
 * `null`: this is a matching key, not a body to send. Any nesting depth works.
 *
 * @returns The normaliser, which throws `InteractionValidationError` for a value that is not a
 * request.
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
    // A body kept in a blob file is read whole only when it is text.
    if (bodySize(valid) === 0 || !mayBeText(valid)) return valid;
    const text = decodeUtf8(valid.body);
    if (text === undefined) return valid;
    const canonical = canonicalText(text);
    return canonical === undefined || canonical === text
      ? valid
      : withBody(valid, encodeUtf8(canonical));
  };
}

/** The canonical form of a JSON text, or `undefined` when it is not JSON. */
function canonicalText(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    // The built-in parser is recursive in some runtimes: a deep text that it
    // cannot read may still be JSON.
    if (!(error instanceof RangeError)) return undefined;
    return deepCanonical(text);
  }
  try {
    return JSON.stringify(sortKeys(value));
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return deepCanonical(text);
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  // No prototype: a member named "__proto__" stays a member.
  const sorted: Record<string, unknown> = Object.create(null);
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}

type Container = unknown[] | Record<string, unknown>;

/** Reads JSON into values with an explicit stack; `undefined` when not JSON. */
function deepParse(text: string): { value: unknown } | undefined {
  const stack: Container[] = [];
  const keys: (string | undefined)[] = [];
  let root: unknown;
  const add = (value: unknown): void => {
    const parent = stack[stack.length - 1];
    if (parent === undefined) root = value;
    else if (Array.isArray(parent)) parent.push(value);
    else parent[keys[keys.length - 1]!] = value;
  };
  const ok = scanJson(text, {
    open(array) {
      const container: Container = array ? [] : Object.create(null);
      add(container);
      stack.push(container);
      keys.push(undefined);
    },
    key(start, end) {
      keys[keys.length - 1] = stringValue(text, start, end);
    },
    primitive(start, end) {
      add(JSON.parse(text.slice(start, end)));
    },
    close() {
      stack.pop();
      keys.pop();
    },
  });
  return ok ? { value: root } : undefined;
}

/** What `JSON.stringify(sortKeys(value))` gives, without recursion. */
function deepCanonical(text: string): string | undefined {
  const parsed = deepParse(text);
  if (parsed === undefined) return undefined;
  const out: string[] = [];
  // Each frame: a container, its member names (objects) and the next index.
  const frames: { container: Container; names: string[] | undefined; next: number }[] = [];
  const emit = (value: unknown): void => {
    if (typeof value !== "object" || value === null) {
      out.push(JSON.stringify(value));
      return;
    }
    if (Array.isArray(value)) {
      out.push("[");
      frames.push({ container: value, names: undefined, next: 0 });
      return;
    }
    // Inserting in sorted order, then reading the engine's own key order,
    // orders integer-like names as the recursive form does.
    const sorted: Record<string, unknown> = Object.create(null);
    for (const key of Object.keys(value).sort()) {
      sorted[key] = (value as Record<string, unknown>)[key];
    }
    out.push("{");
    frames.push({ container: sorted, names: Object.keys(sorted), next: 0 });
  };
  emit(parsed.value);
  while (frames.length > 0) {
    const frame = frames[frames.length - 1]!;
    const { container, names } = frame;
    const length = names === undefined ? (container as unknown[]).length : names.length;
    if (frame.next === length) {
      out.push(names === undefined ? "]" : "}");
      frames.pop();
      continue;
    }
    if (frame.next > 0) out.push(",");
    const index = frame.next++;
    if (names === undefined) {
      emit((container as unknown[])[index]);
    } else {
      const name = names[index]!;
      out.push(JSON.stringify(name), ":");
      emit((container as Record<string, unknown>)[name]);
    }
  }
  return out.join("");
}
