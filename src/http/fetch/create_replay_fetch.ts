import { EMPTY_BYTES } from "../../core/_bytes.ts";
import { checkOptions, describe } from "../../core/_check.ts";
import type { BrokerLike } from "../broker_like.ts";
import { offerHeaders, wantsOfferedHeaders } from "../../broker/_offered_headers.ts";
import type { ResponseChunk } from "../../core/types.ts";
import {
  headerNames,
  liveSignal,
  openResponse,
  readHeaders,
  targetOf,
  toInteractionRequest,
} from "../_mapping.ts";

/** Options for `createReplayFetch()`. */
export interface ReplayFetchOptions {
  /**
   * Request header names (any case) that take part in matching. Other
   * headers are still sent to the live service when recording, but they are
   * neither matched nor stored.
   *
   * @default {[]}
   */
  readonly matchHeaders?: readonly string[] | undefined;
}

/**
 * Creates a function with the exact type of `fetch` that answers from a
 * broker: hand it to any SDK that accepts a custom `fetch`, or install it
 * with `installFetch()`.
 *
 * Each call becomes an interaction request: protocol `"http"`, the method as
 * action, the absolute URL without its fragment as target, the headers named
 * in `matchHeaders` (none by default) and the exact body bytes, whatever the
 * kind of body (string, bytes, `Blob`, `FormData`, `URLSearchParams`,
 * stream). A `FormData` body gets a boundary derived from its content instead
 * of a random one, so the same form matches on every run.
 *
 * A recorded redirect (301, 302, 303, 307, 308 with a `location`) is
 * followed as `fetch` follows a live one, up to 20 hops, unless the request
 * asks for `redirect: "manual"` (the 3xx is returned) or `"error"` (a
 * `TypeError`): 303, and 301/302 after a POST, continue as a GET without the
 * body, and `authorization` is not sent to another origin. Our own
 * recordings hold the final answer already (the live `fetch` followed);
 * imported HAR files and `"manual"` recordings hold the redirects.
 *
 * The response has the recorded status, status text and headers, the URL it
 * answers for as `url` (its clones too), and a body stream that pulls the
 * recorded chunks one at a time, as the consumer reads them, each a copy of
 * the recorded bytes. An `AbortSignal` rejects the call with its reason when
 * it fires before the response, and errors the body when it fires during it.
 *
 * The broker may be synchronous (`createBroker()`) or asynchronous
 * (`createAsyncBroker()`). To record through the real network, use an
 * asynchronous broker whose live responder is `createFetchResponder()`; with
 * `recording: "streaming"` the caller reads the live stream while it is
 * recorded (it is recorded once the body has been read to the end).
 *
 * @param broker The broker that answers the requests.
 * @param options Which request headers take part in matching.
 * @returns A `fetch`-compatible function. It rejects with the broker's
 * `InteractionNotFoundError` on a miss, with `TypeError` for a request that
 * `new Request()` refuses, and with the live responder's or store's error
 * when recording fails.
 * @throws {TypeError} When `broker` has no `replay()` method or
 * `matchHeaders` is not an array of strings.
 *
 * @example Replay a recorded server-sent-event stream
 * ```ts
 * import { createBroker, createCassette, createChunk, createInteraction, createRequest } from "@x/replay";
 * import { createReplayFetch } from "@x/replay/fetch";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({
 *   protocol: "http",
 *   action: "GET",
 *   target: "https://api.example.com/events",
 * });
 * const cassette = createCassette([createInteraction(request, [
 *   createChunk("data: one\n\n", 0, [
 *     ["status_code", "200"],
 *     ["status_text", "OK"],
 *     ["header:content-type", "text/event-stream"],
 *   ]),
 *   "data: two\n\n",
 * ])]);
 * const fetch = createReplayFetch(createBroker({ cassette }));
 *
 * const response = await fetch("https://api.example.com/events");
 * assert.equal(response.status, 200);
 * assert.equal(response.headers.get("content-type"), "text/event-stream");
 * const pieces: string[] = [];
 * for await (const piece of response.body!.pipeThrough(new TextDecoderStream())) pieces.push(piece);
 * assert.deepEqual(pieces, ["data: one\n\n", "data: two\n\n"]);
 * ```
 *
 * @example A miss rejects with InteractionNotFoundError
 * ```ts
 * import { createBroker, createCassette, InteractionNotFoundError } from "@x/replay";
 * import { createReplayFetch } from "@x/replay/fetch";
 * import assert from "node:assert/strict";
 *
 * const fetch = createReplayFetch(createBroker({ cassette: createCassette() }));
 * await assert.rejects(fetch("https://api.example.com/missing"), InteractionNotFoundError);
 * ```
 */
export function createReplayFetch(
  broker: BrokerLike,
  options?: ReplayFetchOptions,
): typeof fetch {
  if (
    typeof broker !== "object" || broker === null ||
    typeof (broker as { replay?: unknown }).replay !== "function"
  ) {
    throw new TypeError(
      `Cannot create replay fetch: expected a broker with a replay() method, got ${
        describe(broker)
      }`,
    );
  }
  checkOptions(options, "create replay fetch");
  const match = headerNames(options?.matchHeaders, "create replay fetch");
  // A broker with headerSchema reads the request headers its recordings name (ADR 0025).
  const offer = wantsOfferedHeaders(broker);

  /** One exchange with the broker: the recorded response, not yet following redirects. */
  async function send(
    method: string,
    target: string,
    headers: [string, string][],
    body: Uint8Array<ArrayBuffer>,
    redirect: RequestInit["redirect"],
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    // A replaying broker never goes live: skip what only a live call needs.
    const live = broker.mode !== "replay" ? liveSignal(signal) : undefined;
    const interaction = toInteractionRequest(
      method,
      target,
      headers,
      body,
      match,
      live === undefined ? undefined : { signal: live.signal, redirect },
    );
    if (offer) offerHeaders(interaction, headers);
    let chunks: Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>;
    try {
      chunks = broker.replay(interaction);
    } catch (error) {
      live?.dispose();
      throw error;
    }
    const response = await openResponse(chunks, {
      method,
      signal,
      dropLength: false,
      onCancel: live?.cancel,
      onDone: live?.dispose,
      // A real fetch response knows its URL; SDKs read it in error messages.
      url: interaction.target,
    });
    return response;
  }

  async function replayFetch(
    input: Parameters<typeof fetch>[0],
    init?: Parameters<typeof fetch>[1],
  ): Promise<Response> {
    const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined) ??
      undefined;
    if (signal?.aborted) throw signal.reason;
    const plain = init === undefined ? plainGet(input) : undefined;
    let method = "GET";
    let target: string;
    let headers: [string, string][] = [];
    let body = EMPTY_BYTES;
    let redirect: RequestInit["redirect"] = "follow";
    if (plain !== undefined) target = plain;
    else {
      const request = new Request(input, init);
      method = request.method;
      target = targetOf(request.url);
      headers = readHeaders(request.headers, match, broker.mode !== "replay" || offer);
      body = new Uint8Array(await request.arrayBuffer());
      redirect = request.redirect;
    }
    let response = await send(method, target, headers, body, redirect, signal);
    // A recorded redirect is followed as fetch follows a live one: a cassette
    // of our own holds the final answer (the live fetch followed), but an
    // imported HAR or a "manual" recording holds the 3xx itself.
    for (let hops = 0;; hops++) {
      const next = redirectTarget(response, target);
      if (next === undefined || redirect === "manual") break;
      await response.body?.cancel();
      if (redirect === "error") {
        throw new TypeError("fetch failed", {
          cause: new TypeError(`unexpected redirect to ${next} (redirect: "error")`),
        });
      }
      if (hops === MAX_REDIRECTS) {
        throw new TypeError("fetch failed", { cause: new TypeError("redirect count exceeded") });
      }
      // 303, and 301/302 after a POST, turn into a GET without a body.
      const status = response.status;
      if (
        status === 303 ? method !== "GET" && method !== "HEAD" : status <= 302 && method === "POST"
      ) {
        method = "GET";
        body = EMPTY_BYTES;
        headers = headers.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase()));
      }
      // Credentials stay with the origin they were given to.
      if (new URL(next).origin !== new URL(target).origin) {
        headers = headers.filter(([name]) => name.toLowerCase() !== "authorization");
      }
      target = next;
      response = await send(method, target, headers, body, redirect, signal);
      Object.defineProperty(response, "redirected", { value: true });
    }
    return response;
  }

  return replayFetch as typeof fetch;
}

/** How many redirects fetch follows before it gives up (the Fetch standard's 20). */
const MAX_REDIRECTS = 20;

/** The request headers that describe a body, dropped when a redirect turns a request into a GET. */
const BODY_HEADERS: ReadonlySet<string> = new Set([
  "content-encoding",
  "content-language",
  "content-location",
  "content-type",
  "content-length",
]);

/** Where a redirect response sends the request (its `location` against `base`), else `undefined`. */
function redirectTarget(response: Response, base: string): string | undefined {
  const status = response.status;
  if (status !== 301 && status !== 302 && status !== 303 && status !== 307 && status !== 308) {
    return undefined;
  }
  const location = response.headers.get("location");
  if (location === null) return undefined;
  try {
    return targetOf(new URL(location, base));
  } catch {
    return undefined;
  }
}

// An absolute http(s) URL already in the form `new URL()` serializes it to:
// lower-case scheme and host, a DNS name whose last label starts with a
// letter or a dotted-quad IPv4 address, no credentials, a port only when not
// the default, a path, and only characters that parsing keeps as they are
// (the query leaves out `'`, which parsing encodes there). Dot segments and
// Punycode labels are checked below; anything else is parsed. Every part is
// separated by a character no earlier part takes, so matching is linear.
const CANONICAL_HTTP_URL =
  /^(https?):\/\/(?:(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*|(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d))(?::(0|[1-9]\d{0,4}))?\/[A-Za-z0-9\-._~!$&'()*+,;=:@%/]*(?:\?[A-Za-z0-9\-._~!$&()*+,;=:@%/?]*)?$/;
const DEFAULT_PORTS: Readonly<Record<string, string>> = { http: "80", https: "443" };
const ENCODED_DOT = /%2e/i;

/**
 * Whether `new URL(url).href` is `url` itself, known without parsing it (a
 * test suite's URLs nearly always are): `false` only means "parse it".
 */
function isCanonicalHttpUrl(url: string): boolean {
  const found = CANONICAL_HTTP_URL.exec(url);
  if (found === null) return false;
  const port = found[2];
  if (port !== undefined && (Number(port) > 65535 || port === DEFAULT_PORTS[found[1]!])) {
    return false;
  }
  // "/." may start a dot segment, "%2e" may be one, and "xn--" labels are
  // checked (and may be refused) by parsing.
  return !url.includes("/.") && !ENCODED_DOT.test(url) && !url.includes("xn--");
}

/**
 * The target of `fetch(url)` with no init: a GET with no headers and no
 * body, which needs no `Request` (building one and reading its empty body
 * is about a fifth of a replayed call). `undefined` for anything else, and
 * for URLs that `new Request()` refuses or treats specially (unparsable,
 * with credentials), so those still get its own error.
 */
function plainGet(input: Parameters<typeof fetch>[0]): string | undefined {
  if (typeof input === "string" && isCanonicalHttpUrl(input)) return input;
  if (typeof input !== "string" && !(input instanceof URL)) return undefined;
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return undefined;
  }
  if (url.username !== "" || url.password !== "") return undefined;
  // Also an empty fragment, whose `hash` reads "" though `href` ends in "#".
  url.hash = "";
  return url.href;
}
