// The web-standard handler behind createHandler() and serve().
import { describe } from "../../core/_check.ts";
import type { BrokerLike } from "../broker_like.ts";
import { offerHeaders, wantsOfferedHeaders } from "../../broker/_offered_headers.ts";
import { InteractionNotFoundError, ReplayError } from "../../core/errors.ts";
import {
  headerNames,
  HTTP_PROTOCOL,
  liveSignal,
  openResponse,
  readHeaders,
  toInteractionRequest,
} from "../_mapping.ts";
import type { Cassette } from "../../core/types.ts";
import { missBody } from "./_explain.ts";
import { ancestorTargets } from "./_ancestor_target.ts";

/** Options for `createHandler()`. */
export interface HandlerOptions {
  /** The broker that answers requests: synchronous or asynchronous, in any mode. */
  readonly broker: BrokerLike;
  /**
   * The origin (scheme, host and port; any path is ignored) that replaces
   * the incoming request's own when the target is built, e.g. the upstream a
   * recording proxy forwards to, or the host a client recording was made
   * against.
   *
   * @default {the single origin of the cassette's HTTP targets; path and
   * query alone when they are all paths (the ancestor's style); otherwise the
   * incoming request's URL}
   */
  readonly origin?: string | undefined;
  /**
   * The status of a miss answer.
   *
   * @default {500}
   */
  readonly missStatus?: number | undefined;
  /**
   * Request header names (any case) that take part in matching.
   *
   * @default {[]}
   */
  readonly matchHeaders?: readonly string[] | undefined;
}

/** Ends a response body stream that is still open (used by a closing server). */
export type Track = (end: (reason: unknown) => void) => () => void;

type TargetOf = (url: URL) => string;

const TEXT = "text/plain; charset=utf-8";

/** How targets are built when no origin is given, decided from the cassette. */
function inferTarget(cassette: Cassette): TargetOf {
  const origins = new Set<string>();
  let paths = 0;
  let others = 0;
  for (const { request } of cassette.interactions) {
    if (request.protocol !== HTTP_PROTOCOL) continue;
    if (request.target.startsWith("/")) {
      paths++;
      continue;
    }
    try {
      origins.add(new URL(request.target).origin);
    } catch {
      others++;
    }
  }
  if (origins.size === 1 && paths === 0 && others === 0) {
    const [origin] = origins;
    return (url) => `${origin!}${url.pathname}${url.search}`;
  }
  if (paths > 0 && origins.size === 0 && others === 0) return ancestorTargets(cassette);
  return (url) => `${url.origin}${url.pathname}${url.search}`;
}

function failure(status: number, title: string, error: unknown): Response {
  const detail = {
    error: title,
    name: error instanceof Error ? error.name : typeof error,
    message: error instanceof Error ? error.message : String(error),
  };
  return new Response(`${title}\n${JSON.stringify(detail, null, 2)}\n`, {
    status,
    headers: { "content-type": TEXT },
  });
}

/** Builds the handler; `track` lets a server end open response streams when it closes. */
export function buildHandler(
  options: HandlerOptions,
  action: string,
  track?: Track,
): (request: Request) => Promise<Response> {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${action}: expected an options object with a broker`);
  }
  const broker = options.broker;
  if (
    typeof broker !== "object" || broker === null ||
    typeof (broker as { replay?: unknown }).replay !== "function"
  ) {
    throw new TypeError(
      `Cannot ${action}: broker must have a replay() method, got ${describe(broker)}`,
    );
  }
  const missStatus = options.missStatus ?? 500;
  if (!Number.isInteger(missStatus) || missStatus < 200 || missStatus > 599) {
    throw new RangeError(
      `Cannot ${action}: missStatus must be an integer from 200 to 599, got ${
        describe(missStatus)
      }`,
    );
  }
  const match = headerNames(options.matchHeaders, action);
  // A broker with headerSchema reads the request headers its recordings name (ADR 0025).
  const offer = wantsOfferedHeaders(broker);
  let fixed: TargetOf | undefined;
  if (options.origin !== undefined) {
    let origin: string;
    try {
      origin = new URL(options.origin).origin;
    } catch {
      throw new TypeError(
        `Cannot ${action}: origin must be an absolute URL, got ${describe(options.origin)}`,
      );
    }
    if (origin === "null") {
      throw new TypeError(
        `Cannot ${action}: origin must be an http or https URL, got ${describe(options.origin)}`,
      );
    }
    fixed = (url) => `${origin}${url.pathname}${url.search}`;
  }
  // Inference looks at the whole cassette: do it once per cassette value.
  let inferredFor: Cassette | undefined;
  let inferred: TargetOf | undefined;
  const targetOf = (url: URL): string => {
    if (fixed !== undefined) return fixed(url);
    const cassette = broker.cassette;
    if (cassette !== inferredFor || inferred === undefined) {
      inferred = inferTarget(cassette);
      inferredFor = cassette;
    }
    return inferred(url);
  };

  return async (request: Request): Promise<Response> => {
    let interaction;
    // A replaying broker never goes live: skip what only a live call needs.
    const live = broker.mode === "replay" ? undefined : liveSignal(request.signal);
    try {
      const headers = readHeaders(request.headers, match, live !== undefined || offer);
      const body = new Uint8Array(await request.arrayBuffer());
      interaction = toInteractionRequest(
        request.method,
        targetOf(new URL(request.url)),
        headers,
        body,
        match,
        // A proxy hands redirects to its client rather than following them.
        live === undefined ? undefined : { signal: live.signal, redirect: "manual" },
      );
      if (offer) offerHeaders(interaction, headers);
    } catch (error) {
      live?.dispose();
      return failure(400, "Bad Request", error);
    }
    try {
      return await openResponse(broker.replay(interaction), {
        method: request.method,
        signal: request.signal,
        dropLength: true,
        track,
        onCancel: live?.cancel,
        onDone: live?.dispose,
      });
    } catch (error) {
      live?.dispose();
      if (error instanceof InteractionNotFoundError) {
        return new Response(missBody(broker.cassette, error.request, error.fingerprint), {
          status: missStatus,
          headers: { "content-type": TEXT },
        });
      }
      // The library's own failures (a save, a bad recording) are this server's;
      // anything else came from the live side.
      return error instanceof ReplayError || error instanceof RangeError
        ? failure(500, "Replay Error", error)
        : failure(502, "Bad Gateway", error);
    }
  };
}
