// Header-schema matching (ADR 0025) needs the values of headers that a
// request does not carry: an HTTP adapter matches only the `matchHeaders`
// names, yet a recording may hold others (`content-type`, `accept`). The
// adapter offers every header of the live request here, beside the request
// object, so the broker can read the ones a recording names without them
// ever entering the request, a cassette or an error message (credentials
// above all). Only brokers created with `headerSchema` ask for them, so
// adapters of other brokers skip reading and keeping them.
import type { InteractionRequest, Pairs } from "../core/types.ts";

/** The headers offered for each request object, names lower-cased. Weak keys: an entry lives as long as its request. */
const offered: WeakMap<InteractionRequest, Pairs> = new WeakMap();

/** The brokers created with `headerSchema: true`. */
const wanting: WeakSet<object> = new WeakSet();

/** Marks a broker as one that matches on header schemas. */
export function wantOfferedHeaders(broker: object): void {
  wanting.add(broker);
}

/** Whether an adapter should offer every header of its requests to this broker. */
export function wantsOfferedHeaders(broker: unknown): boolean {
  return typeof broker === "object" && broker !== null && wanting.has(broker);
}

/** Offers every header of the live request (names lower-cased) beside `request`. */
export function offerHeaders(request: InteractionRequest, headers: Pairs): void {
  offered.set(request, headers);
}

/** The headers offered for `request`, or its own headers when no adapter offered any. */
export function offeredHeaders(request: InteractionRequest): Pairs {
  return offered.get(request) ?? request.headers;
}
