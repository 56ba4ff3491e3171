// Shared pieces of the ready-made normalisers.
import { sealRequest, withHead } from "../core/_model.ts";
import { describe } from "../core/_check.ts";
import type { InteractionRequest, Pairs } from "../core/types.ts";

// The normalisers check their argument (`toRequest`) before reading it, so
// these take a request that is already checked. A new head keeps the body as
// it is: one kept in a blob file is not read.

/** A checked request with new headers; the same object when nothing changed. */
export function withHeaders(valid: InteractionRequest, headers: Pairs): InteractionRequest {
  const same = headers.length === valid.headers.length &&
    headers.every((pair, i) =>
      pair[0] === valid.headers[i]![0] && pair[1] === valid.headers[i]![1]
    );
  if (same) return valid;
  return withHead(
    valid,
    valid.protocol,
    valid.action,
    valid.target,
    Object.freeze(
      headers.map((pair) =>
        Object.isFrozen(pair) ? pair : Object.freeze([pair[0], pair[1]] as const)
      ),
    ),
  );
}

/** A checked request with a new target; the same object when nothing changed. */
export function withTarget(valid: InteractionRequest, target: string): InteractionRequest {
  if (target === valid.target) return valid;
  return withHead(valid, valid.protocol, valid.action, target, valid.headers);
}

/** A checked request with a new body (owned by the caller of this function). */
export function withBody(
  valid: InteractionRequest,
  body: Uint8Array<ArrayBuffer>,
): InteractionRequest {
  return sealRequest(valid.protocol, valid.action, valid.target, valid.headers, body);
}

/**
 * The strings of an iterable argument, checked: `what` names the function
 * and `argument` the parameter in messages. A lone string is refused: it is
 * iterable, and its characters would silently be taken for names.
 */
export function stringList(names: unknown, what: string, argument: string): string[] {
  if (
    typeof names !== "object" || names === null ||
    typeof (names as Iterable<unknown>)[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(
      `Cannot build ${what}: ${argument} must be an iterable of strings (such as an array), got ${
        describe(names)
      }`,
    );
  }
  const list: string[] = [];
  for (const name of names as Iterable<unknown>) {
    if (typeof name !== "string") {
      throw new TypeError(
        `Cannot build ${what}: ${argument} must hold strings, got ${describe(name)}`,
      );
    }
    list.push(name);
  }
  return list;
}

/** Lower-cased names, for case-insensitive lookups. */
export function nameSet(names: unknown, what: string, argument = "names"): ReadonlySet<string> {
  return new Set(stringList(names, what, argument).map((name) => name.toLowerCase()));
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
