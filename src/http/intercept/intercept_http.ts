import http from "node:http";
import https from "node:https";
import module from "node:module";
import { getRawRequest, RequestController } from "@mswjs/interceptors";
import { ClientRequestInterceptor } from "@mswjs/interceptors/ClientRequest";
import { FetchInterceptor } from "@mswjs/interceptors/fetch";
import { describe } from "../../core/_check.ts";
import { InteractionNotFoundError, ReplayError } from "../../core/errors.ts";
import { offerHeaders, wantsOfferedHeaders } from "../../broker/_offered_headers.ts";
import { headerNames, targetOf, toInteractionRequest } from "../_mapping.ts";
import type { BrokerLike } from "../broker_like.ts";
import { createReplayFetch } from "../fetch/create_replay_fetch.ts";
import { installDispatcher } from "./_dispatcher.ts";
import { installGuards } from "./_guard.ts";
import { installSocketReplay, type RequestFunction } from "./_socket_replay.ts";
import {
  compilePassthrough,
  type PassthroughRequest,
  type PassthroughRule,
} from "./_passthrough.ts";
import {
  type ActiveInterception,
  activeInterception,
  createLiveScope,
  inLiveScope,
  runtimeName,
  setActiveInterception,
} from "./_state.ts";

export type { PassthroughRequest, PassthroughRule } from "./_passthrough.ts";

/** Options for `interceptHttp()`. */
export interface InterceptHttpOptions {
  /**
   * Request header names (any case) that take part in matching, as for
   * `createReplayFetch()`. Other headers still reach the live service when
   * recording, but are neither matched nor stored.
   *
   * @default {[]}
   */
  readonly matchHeaders?: readonly string[] | undefined;
  /**
   * Requests that go to the network untouched and unrecorded, in every mode:
   * a host (`"localhost"` matches any port, `"127.0.0.1:5432"` one), an
   * absolute URL prefix (`"http://127.0.0.1:9200/_search"`), a regular
   * expression tested against the absolute URL, a predicate given the
   * method, URL and headers (never the body), or an array of these. A
   * predicate may be called more than once for one request (once by each
   * layer the request crosses) and must return `true` to let it through.
   *
   * @default {undefined (nothing passes through)}
   */
  readonly passthrough?: PassthroughRule | readonly PassthroughRule[] | undefined;
}

/** A running interception, from `interceptHttp()`. */
export interface HttpInterception {
  /**
   * Stops intercepting: puts back every function and global that
   * `interceptHttp()` replaced (a global that someone else replaced in the
   * meantime is left to them), then waits until the requests already caught
   * have their answer (or their error). Calling it again does nothing.
   */
  stop(): Promise<void>;
  /** `stop()`, so that `await using interception = interceptHttp(broker)` stops at the end of the block. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** The names of the global symbols @mswjs/interceptors keeps a running interceptor under. */
const FOREIGN: readonly symbol[] = [
  Symbol.for("client-request-interceptor"),
  Symbol.for("fetch-interceptor"),
];

/**
 * Answers every HTTP request the process makes from a broker, whatever the
 * client, from this call until `stop()`: `http.request`/`http.get` and
 * `https.request`/`https.get` (so axios with its default adapter, got,
 * node-fetch, superagent and the AWS SDK), `globalThis.fetch` (so every SDK
 * that uses the global one), and undici's `request`/`fetch`/`stream` on the
 * global dispatcher. It uses @mswjs/interceptors (ADR 0032) and, for undici,
 * a dispatcher of its own on undici's global symbol. On Node, a replaying
 * broker answers `node:http` requests at the socket, past
 * @mswjs/interceptors, several times faster (ADR 0051); the client sees the
 * same thing either way.
 *
 * Each request becomes the same interaction request as through
 * `createReplayFetch()` (ADR 0030): protocol `"http"`, the method, the
 * absolute URL, the headers named in `matchHeaders` and the exact body
 * bytes, whether the client wrote them at once, in several `write()` calls,
 * piped them or sent a multipart form. So a cassette recorded through one
 * client replays through any other, through `createReplayFetch()` and
 * through the replay server. The client gets the recorded status, status
 * text and headers, and the body chunk by chunk as recorded (with the
 * recorded timing when the broker asks for it).
 *
 * In `replay` mode nothing reaches the network: a miss fails the client's
 * request (a rejected promise for fetch, axios and got, an `error` event on
 * `http.ClientRequest`) with an error that is, or has as its `cause`, the
 * broker's `InteractionNotFoundError`, naming the method and URL and how to
 * record it. To record, give the broker mode `"record"` or `"auto"` and
 * `createInterceptResponder()` as its live responder. Requests matching
 * `passthrough` go to the network untouched and unrecorded.
 *
 * One interception runs at a time in a process: requests are caught
 * process-wide, so tests that intercept must not run concurrently.
 *
 * @param broker The broker that answers (sync or async, as `createReplayFetch()` takes).
 * @param options Which headers take part in matching, and what passes through.
 * @returns The running interception; `stop()` it (or `await using` it).
 * @throws {TypeError} When `broker` has no `replay()` method, or an option
 * has the wrong type.
 * @throws {ReplayError} When an interception is already running in this
 * process (ours, or nock's or MSW's through @mswjs/interceptors), or when the
 * runtime does not let `node:http` or the global `fetch` be replaced (the
 * message names the runtime and the alternatives: `createReplayFetch()`,
 * `installFetch()`, the replay server as a recording proxy).
 *
 * @example Replay a recorded response to a plain `http.get`
 * ```ts
 * import { createBroker, createCassette, createChunk, createInteraction, createRequest } from "@x/replay";
 * import { interceptHttp } from "@x/replay/intercept";
 * import assert from "node:assert/strict";
 * import http from "node:http";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "http://api.example.com/user/1" });
 * const cassette = createCassette([createInteraction(request, [
 *   createChunk('{"name":"Ada"}', 0, [["status_code", "200"], ["header:content-type", "application/json"]]),
 * ])]);
 * const interception = interceptHttp(createBroker({ cassette }));
 * try {
 *   const body = await new Promise<string>((resolve, reject) => {
 *     http.get("http://api.example.com/user/1", (response) => {
 *       assert.equal(response.statusCode, 200);
 *       assert.equal(response.headers["content-type"], "application/json");
 *       let text = "";
 *       response.on("data", (piece) => (text += piece));
 *       response.on("end", () => resolve(text));
 *     }).on("error", reject);
 *   });
 *   assert.equal(body, '{"name":"Ada"}');
 * } finally {
 *   await interception.stop();
 * }
 * ```
 *
 * @example A miss never reaches the network
 * ```ts
 * import { createBroker, createCassette, InteractionNotFoundError } from "@x/replay";
 * import { interceptHttp } from "@x/replay/intercept";
 * import assert from "node:assert/strict";
 * import { createServer } from "node:http";
 *
 * let received = 0;
 * const server = createServer((_request, response) => {
 *   received++;
 *   response.end("live");
 * });
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
 * try {
 *   await using _interception = interceptHttp(createBroker({ cassette: createCassette() }));
 *   await assert.rejects(fetch(url), InteractionNotFoundError);
 * } finally {
 *   server.close();
 * }
 * assert.equal(received, 0);
 * ```
 *
 * @example Let a test's own server through
 * ```ts
 * import { createBroker, createCassette } from "@x/replay";
 * import { interceptHttp } from "@x/replay/intercept";
 * import assert from "node:assert/strict";
 * import { createServer } from "node:http";
 *
 * const server = createServer((_request, response) => response.end("live"));
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
 * const interception = interceptHttp(createBroker({ cassette: createCassette() }), {
 *   passthrough: [origin],
 * });
 * try {
 *   assert.equal(await (await fetch(`${origin}/health`, { headers: { connection: "close" } })).text(), "live");
 * } finally {
 *   await interception.stop();
 *   server.close();
 * }
 * ```
 */
export function interceptHttp(
  broker: BrokerLike,
  options?: InterceptHttpOptions,
): HttpInterception {
  if (
    typeof broker !== "object" || broker === null ||
    typeof (broker as { replay?: unknown }).replay !== "function"
  ) {
    throw new TypeError(
      `Cannot intercept HTTP: expected a broker with a replay() method, got ${describe(broker)}`,
    );
  }
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(
      `Cannot intercept HTTP: options must be an object, got ${describe(options)}`,
    );
  }
  const match = headerNames(options?.matchHeaders, "intercept HTTP");
  const passesRule = compilePassthrough(options?.passthrough);
  const predicates = [options?.passthrough].flat().some((rule) => typeof rule === "function");
  if (activeInterception() !== undefined) {
    throw new ReplayError(
      "Cannot intercept HTTP: interceptHttp() is already running in this process; stop() it first " +
        "(tests that intercept must run one at a time)",
    );
  }
  const foreign = FOREIGN.find((symbol) =>
    (globalThis as Record<symbol, unknown>)[symbol] !== undefined
  );
  if (foreign !== undefined) {
    throw new ReplayError(
      `Cannot intercept HTTP: another @mswjs/interceptors interceptor (${foreign.description}) is already running in this process, ` +
        "as nock (from the moment it is imported) and MSW start one; stop it first (nock.restore(), server.close())",
    );
  }
  const replayFetch = createReplayFetch(broker, { matchHeaders: options?.matchHeaders });
  const liveScope = createLiveScope();
  let active: ActiveInterception | undefined;
  const passes = (request: PassthroughRequest): boolean =>
    inLiveScope(active) || passesRule(request);
  const pending = new Set<Promise<unknown>>();

  /** Answers one caught request from the broker (misses reject with a hint). */
  function answer(request: Request, init: RequestInit): Promise<Response> {
    const work = (async () => {
      try {
        // Requests the live responder makes while answering go to the network.
        return broker.mode === "replay"
          ? await replayFetch(request, init)
          : await liveScope.run(true, () => replayFetch(request, init));
      } catch (error) {
        throw withInterceptHint(error);
      }
    })();
    pending.add(work);
    work.then(() => pending.delete(work), () => pending.delete(work));
    return work;
  }

  // Node's fetch internals load lazily; loading them now makes undici put its
  // global dispatcher in place before ours is installed over it.
  void globalThis.Headers;
  const fetchBefore = globalThis.fetch;
  const requestBefore = http.request;
  const httpsRequestBefore = https.request;
  const clientRequest = new ClientRequestInterceptor();
  const fetchInterceptor = new FetchInterceptor();
  const restores: (() => void)[] = [];
  try {
    const dispatcher = installDispatcher({
      passes,
      answer: (request, signal) => answer(request, { signal }),
    });
    restores.push(dispatcher.restore);
    active = { fetch: fetchBefore, dispatcher: dispatcher.original, liveScope };
    setActiveInterception(active);
    restores.push(() => setActiveInterception(undefined));
    clientRequest.apply();
    restores.push(keepingLater(() => clientRequest.dispose(), [
      [http, "request"],
      [http, "get"],
      [http, "ClientRequest"],
      [https, "request"],
      [https, "get"],
    ]));
    // Replay on Node answers at the socket, past @mswjs/interceptors (ADR 0051).
    // A passthrough predicate is shown the headers @mswjs/interceptors parses.
    if (runtimeName() === "Node" && !predicates) {
      const offer = wantsOfferedHeaders(broker);
      restores.push(installSocketReplay({
        enabled: () => broker.mode === "replay" && !inLiveScope(active),
        passes: passesRule,
        answer: (method, url, headers, body) => {
          const interaction = toInteractionRequest(
            method,
            targetOf(url),
            headers,
            body,
            match,
            undefined,
            true,
          );
          if (offer) offerHeaders(interaction, headers);
          return broker.replay(interaction);
        },
        explain: withInterceptHint,
        track: (closed) => {
          pending.add(closed);
          void closed.then(() => pending.delete(closed));
        },
        before: {
          http: requestBefore as unknown as RequestFunction,
          https: httpsRequestBefore as unknown as RequestFunction,
        },
      }));
    }
    fetchInterceptor.apply();
    restores.push(keepingLater(() => fetchInterceptor.dispose(), [[globalThis, "fetch"]]));
    restores.push(installGuards(passes));
    // On Node, `import { request } from "node:http"` bindings follow the patched module.
    module.syncBuiltinESMExports?.();
    const unpatched = [
      ...(http.request === requestBefore ? ["node:http"] : []),
      ...(globalThis.fetch === fetchBefore ? ["the global fetch"] : []),
    ];
    if (unpatched.length > 0) {
      throw new ReplayError(
        `Cannot intercept HTTP on ${runtimeName()}: ${
          unpatched.join(" and ")
        } cannot be replaced in this process; answer requests with createReplayFetch() given to the client as its fetch, ` +
          "installFetch(), or the replay server (x-replay serve, or serve() from @x/replay/server) as a recording proxy",
      );
    }
  } catch (error) {
    for (const restore of restores.reverse()) restore();
    module.syncBuiltinESMExports?.();
    throw error;
  }

  clientRequest.on("request", async ({ request: parsed, controller }) => {
    const raw = getRawRequest(parsed) as RawClientRequest | undefined;
    let request: Request;
    try {
      request = asSent(parsed, raw);
    } catch (error) {
      controller.errorWith(error as Error);
      return;
    }
    if (decide(request, controller)) return;
    // The client closing its request before the whole answer is in (destroy(),
    // a timeout, an abort signal) aborts the replay and any live call behind it.
    const abort = new AbortController();
    raw?.once("close", () => {
      if (raw.res?.complete !== true) abort.abort();
    });
    // A client that sent `Expect: 100-continue` waits for the go-ahead before its body.
    // Not from inside this call: it runs in the middle of parsing the request's
    // head, and a body written now would re-enter the parser.
    if (request.headers.get("expect")?.toLowerCase() === "100-continue") {
      await new Promise<void>((resolve) => setTimeout(resolve, 0));
      raw?.emit("continue");
    }
    // An http.ClientRequest follows no redirect itself (its client may): the live call must not either.
    await settle(
      parsed,
      controller,
      answer(request, { signal: abort.signal, redirect: "manual" }),
    );
  });
  fetchInterceptor.on("request", async ({ request, controller }) => {
    if (decide(request, controller)) return;
    await settle(request, controller, answer(request, {}));
  });

  /** True when the request is left to go through (or has failed the passthrough test). */
  function decide(request: Request, controller: RequestController): boolean {
    try {
      return passes({ method: request.method, url: request.url, headers: request.headers });
    } catch (error) {
      controller.errorWith(error as Error);
      return true;
    }
  }

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const restore of restores.reverse()) restore();
      module.syncBuiltinESMExports?.();
      await Promise.allSettled([...pending]);
    })();
    return stopped;
  };
  return Object.freeze({ stop, [Symbol.asyncDispose]: stop });
}

/** The `http.ClientRequest` behind a request the ClientRequest interceptor caught (the parts used here). */
interface RawClientRequest {
  once(event: string, listener: () => void): unknown;
  emit(event: string): boolean;
  readonly res?: { readonly complete?: boolean } | null;
  /** The request-target, as the client wrote it. */
  readonly path?: unknown;
  /** @mswjs/interceptors' socket, which keeps the URL it connected for. */
  readonly socket?: { readonly baseUrl?: unknown } | null;
}

/**
 * The request with the URL the client sent it to. @mswjs/interceptors
 * resolves the request-target against the connection's URL, so a path that
 * starts with "//" (a base URL ending in "/" joined to a path starting with
 * one) reads as another host: the request would be matched, and recorded
 * live, credentials and all, against that host. The socket's URL still holds
 * the origin the client connected to; the path is joined to it. Without that
 * URL the request fails rather than go to the wrong host.
 */
function asSent(request: Request, raw: RawClientRequest | undefined): Request {
  const path = raw?.path;
  if (typeof path !== "string" || !path.startsWith("//")) return request;
  const base = raw?.socket?.baseUrl;
  if (!(base instanceof URL)) {
    throw new ReplayError(
      `Cannot intercept ${request.method} ${path}: the host it was sent to is unknown, and a path that starts with // would read as another host`,
    );
  }
  return new Request(`${base.origin}${path}`, {
    method: request.method,
    headers: request.headers,
    body: request.body,
    redirect: request.redirect,
    signal: request.signal,
    duplex: "half",
  } as RequestInit);
}

/**
 * `dispose`, which puts back the values @mswjs/interceptors replaced, except
 * where someone replaced ours meanwhile: theirs stays, as with `installFetch()`.
 */
function keepingLater(dispose: () => void, slots: readonly [object, string][]): () => void {
  const read = ([owner, key]: readonly [object, string]): unknown =>
    (owner as Record<string, unknown>)[key];
  const ours = slots.map(read);
  return () => {
    const now = slots.map(read);
    dispose();
    slots.forEach(([owner, key], index) => {
      if (now[index] !== ours[index]) (owner as Record<string, unknown>)[key] = now[index];
    });
  };
}

/**
 * Hands the answer (or the failure) to a controller that is still waiting
 * for it. A request whose own signal has aborted is @mswjs/interceptors'
 * to fail (with the signal's reason); answering it too would be refused.
 */
async function settle(
  request: Request,
  controller: RequestController,
  response: Promise<Response>,
): Promise<void> {
  const open = (): boolean =>
    controller.readyState === RequestController.PENDING && request.signal?.aborted !== true;
  try {
    const answered = await response;
    if (open()) controller.respondWith(answered);
    else await answered.body?.cancel().catch(() => undefined);
  } catch (error) {
    if (open()) controller.errorWith(error as Error);
  }
}

/** A miss with what to do about it, unless a test helper already said. */
function withInterceptHint(error: unknown): unknown {
  if (
    !(error instanceof InteractionNotFoundError) || error.cause instanceof InteractionNotFoundError
  ) {
    return error;
  }
  return new InteractionNotFoundError(error.request, error.fingerprint, {
    occurrence: error.occurrence,
    recorded: error.recorded,
    hint: "interceptHttp() kept the request from the network; record it with a broker in " +
      '"auto" or "record" mode whose live responder is createInterceptResponder(), ' +
      "or let it through with the passthrough option",
    cause: error,
  });
}
