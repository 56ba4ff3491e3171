// Shared pieces of the ready-made normalisers.
import { sealRequest } from "../core/_model.ts";
import { toRequest } from "../core/_model.ts";
import type { InteractionRequest, Pairs } from "../core/types.ts";

/** A request with new headers; the same object when nothing changed. */
export function withHeaders(request: InteractionRequest, headers: Pairs): InteractionRequest {
  const valid = toRequest(request, "request");
  const same = headers.length === valid.headers.length &&
    headers.every((pair, i) =>
      pair[0] === valid.headers[i]![0] && pair[1] === valid.headers[i]![1]
    );
  if (same) return valid;
  return sealRequest(
    valid.protocol,
    valid.action,
    valid.target,
    Object.freeze(
      headers.map((pair) =>
        Object.isFrozen(pair) ? pair : Object.freeze([pair[0], pair[1]] as const)
      ),
    ),
    valid.body,
  );
}

/** A request with a new target; the same object when nothing changed. */
export function withTarget(request: InteractionRequest, target: string): InteractionRequest {
  const valid = toRequest(request, "request");
  if (target === valid.target) return valid;
  return sealRequest(valid.protocol, valid.action, target, valid.headers, valid.body);
}

/** A request with a new body (owned by the caller of this function). */
export function withBody(
  request: InteractionRequest,
  body: Uint8Array<ArrayBuffer>,
): InteractionRequest {
  const valid = toRequest(request, "request");
  return sealRequest(valid.protocol, valid.action, valid.target, valid.headers, body);
}

/** Lower-cased names, for case-insensitive header lookups. */
export function nameSet(names: Iterable<string>, what: string): ReadonlySet<string> {
  const set = new Set<string>();
  for (const name of names) {
    if (typeof name !== "string") {
      throw new TypeError(`Cannot build ${what}: names must be strings, got ${typeof name}`);
    }
    set.add(name.toLowerCase());
  }
  return set;
}

/** A target split around its query: `base?query#fragment`. */
export interface SplitTarget {
  readonly base: string;
  readonly params: readonly string[];
  readonly fragment: string;
}

/** Splits a URL or path+query target; `params` are the raw `&`-separated pieces, empty ones dropped. */
export function splitQuery(target: string): SplitTarget | undefined {
  const question = target.indexOf("?");
  if (question === -1) return undefined;
  const hash = target.indexOf("#", question);
  const end = hash === -1 ? target.length : hash;
  return {
    base: target.slice(0, question),
    params: target.slice(question + 1, end).split("&").filter((param) => param !== ""),
    fragment: hash === -1 ? "" : target.slice(hash),
  };
}

/** Joins what `splitQuery` split; no `?` when no parameter is left. */
export function joinQuery({ base, params, fragment }: SplitTarget): string {
  return `${base}${params.length === 0 ? "" : `?${params.join("&")}`}${fragment}`;
}

/** A query parameter's decoded name (`+` is a space); the raw name if it is malformed. */
export function paramName(param: string): string {
  const equals = param.indexOf("=");
  const raw = equals === -1 ? param : param.slice(0, equals);
  try {
    return decodeURIComponent(raw.replaceAll("+", " "));
  } catch {
    return raw;
  }
}
