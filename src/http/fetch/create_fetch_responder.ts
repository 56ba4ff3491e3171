import { checkOptions, describe } from "../../core/_check.ts";
import type { AsyncLiveResponder } from "../../broker/create_async_broker.ts";
import { liveInit, responseChunks } from "../_mapping.ts";
import { nodeHttpChunks } from "./_node_http.ts";
import { sendsBodyStreams } from "../../broker/_body_streams.ts";
import { toRequest } from "../../core/_model.ts";
import type { InteractionRequest, ResponseChunk } from "../../core/types.ts";

/** Options for `createFetchResponder()`. */
export interface FetchResponderOptions {
  /**
   * The `fetch` that reaches the live service. Taken when the responder is
   * created, so installing a replaying `fetch` globally afterwards does not
   * make the responder call itself.
   *
   * @default {globalThis.fetch}
   */
  readonly fetch?: typeof fetch | undefined;
  /**
   * Where to send requests: its origin (scheme, host and port) replaces the
   * origin of each request's target, and a target that is only a path is
   * resolved against it. This is how a replay server becomes a recording
   * proxy.
   *
   * @default {undefined (each target is used as it is)}
   */
  readonly upstream?: string | URL | undefined;
  /**
   * What makes the live call. `"fetch"`: the `fetch` above, which follows
   * redirects as the request asks, decodes gzip, deflate and brotli bodies
   * and joins repeated header lines with ", " (all but `set-cookie`).
   * `"node:http"`: `node:http` / `node:https` (on Deno, Node and Bun alike),
   * which records what the upstream sent: each header line apart, the reason
   * phrase, `content-length`, redirects as responses. This is what a
   * faithful recording proxy uses (`x-replay serve` does).
   *
   * @default {"fetch"}
   */
  readonly client?: "fetch" | "node:http" | undefined;
  /**
   * With `client: "node:http"`: record an encoded body (`content-encoding`
   * gzip, deflate or br) as it was sent, still compressed, with its
   * `content-encoding` and `content-length`, for code that tests its own
   * decompression. Otherwise such a body is decoded and recorded without
   * those two headers, so the cassette holds readable text that redaction
   * and matching can see.
   *
   * @default {false}
   */
  readonly keepEncoding?: boolean | undefined;
}

/**
 * Creates a live responder that answers HTTP interaction requests with the
 * real `fetch` (or `node:http`, with `client`), for `createAsyncBroker()` in
 * `record` or `auto` mode.
 *
 * It yields chunk 0 as soon as the response headers and the first piece of
 * the body have arrived (empty data when the body is empty), with the status
 * code, status text and headers in its metadata, then one chunk for each
 * piece the body stream delivers, so chunk boundaries are the live ones
 * (with `client: "node:http"`, a body announced at 1 MiB or more, a
 * download, comes in chunks of 1 MiB instead). With `recording:
 * "streaming"` the broker hands each chunk on as it arrives: the caller
 * reads a server-sent-event stream live while it is being recorded.
 *
 * Requests made through `createReplayFetch()` or the replay server are sent
 * with all their headers (also those that take no part in matching, such as
 * credentials), their abort signal and redirect mode; other interaction
 * requests are sent with their own headers. Hop-by-hop headers are not
 * recorded; neither are `content-encoding` and `content-length` when a gzip,
 * deflate or brotli body was decoded, since the recorded bytes are the
 * decoded ones. With `client: "node:http"` each header line is recorded as
 * its own `header:<name>` pair and, with `keepEncoding`, bodies keep their
 * encoding (ADR 0030).
 *
 * A synchronous broker (`createBroker()`) cannot use it: fetch is
 * asynchronous, and iterating the responder's answer synchronously throws a
 * `TypeError` saying so.
 *
 * @param options The `fetch` or the `node:http` client to use, an optional
 * upstream, and whether `node:http` keeps content encodings.
 * @returns The live responder.
 * @throws {TypeError} When `fetch` is not a function, `upstream` is not an
 * absolute URL, `client` is neither `"fetch"` nor `"node:http"`,
 * `keepEncoding` is not a boolean or is asked of fetch (which always
 * decodes), or a `fetch` is given with `client: "node:http"`. Its answers
 * fail with `TypeError` for a target that is not an absolute URL (and no
 * `upstream` is given), and with whatever `fetch` or `node:http` fails with
 * (network errors, aborts).
 *
 * @example Record a live response, then replay it offline
 * ```ts
 * import { createAsyncBroker, createCassette } from "@x/replay";
 * import { createFetchResponder, createReplayFetch } from "@x/replay/fetch";
 * import assert from "node:assert/strict";
 * import { createServer } from "node:http";
 *
 * const server = createServer((_request, response) => {
 *   response.writeHead(200, { "content-type": "text/plain" });
 *   response.end("hello");
 * });
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const { port } = server.address() as { port: number };
 * const url = `http://127.0.0.1:${port}/greeting`;
 *
 * const recorder = createAsyncBroker({
 *   cassette: createCassette(),
 *   mode: "record",
 *   liveResponder: createFetchResponder(),
 * });
 * try {
 *   assert.equal(await (await createReplayFetch(recorder)(url)).text(), "hello");
 * } finally {
 *   server.closeAllConnections();
 *   await new Promise((resolve) => server.close(resolve));
 * }
 *
 * const player = createAsyncBroker({ cassette: recorder.cassette });
 * const replayed = await createReplayFetch(player)(url);
 * assert.equal(replayed.headers.get("content-type"), "text/plain");
 * assert.equal(await replayed.text(), "hello");
 * ```
 */
export function createFetchResponder(options?: FetchResponderOptions): AsyncLiveResponder {
  checkOptions(options, "create fetch responder");
  const fetchFunction = options?.fetch ?? globalThis.fetch;
  if (typeof fetchFunction !== "function") {
    throw new TypeError(
      `Cannot create fetch responder: fetch must be a function, got ${describe(fetchFunction)}`,
    );
  }
  const client = options?.client ?? "fetch";
  if (client !== "fetch" && client !== "node:http") {
    throw new TypeError(
      `Cannot create fetch responder: client must be "fetch" or "node:http", got ${
        describe(client)
      }`,
    );
  }
  const keepEncoding = options?.keepEncoding ?? false;
  if (typeof keepEncoding !== "boolean") {
    throw new TypeError(
      `Cannot create fetch responder: keepEncoding must be a boolean, got ${
        describe(keepEncoding)
      }`,
    );
  }
  if (keepEncoding && client !== "node:http") {
    throw new TypeError(
      'Cannot create fetch responder: keepEncoding needs client "node:http" (fetch always decodes gzip, deflate and brotli bodies)',
    );
  }
  if (client === "node:http" && options?.fetch !== undefined) {
    throw new TypeError(
      'Cannot create fetch responder: a fetch function is used only with client "fetch", not "node:http"',
    );
  }
  let upstream: URL | undefined;
  if (options?.upstream !== undefined) {
    try {
      upstream = new URL(options.upstream);
    } catch {
      throw new TypeError(
        `Cannot create fetch responder: upstream must be an absolute URL, got ${
          describe(String(options.upstream))
        }`,
      );
    }
  }

  function urlOf(target: string): string {
    let url: URL;
    try {
      url = upstream === undefined ? new URL(target) : new URL(target, upstream);
    } catch {
      throw new TypeError(
        `Cannot forward request: target ${
          JSON.stringify(target)
        } is not an absolute URL; give createFetchResponder() an upstream`,
      );
    }
    if (upstream === undefined) return url.href;
    return `${upstream.origin}${url.pathname}${url.search}`;
  }

  async function* answer(
    request: InteractionRequest,
  ): AsyncGenerator<ResponseChunk, void, undefined> {
    if (client === "node:http") {
      yield* nodeHttpChunks(new URL(urlOf(request.target)), request, keepEncoding);
      return;
    }
    const response = await fetchFunction(urlOf(request.target), liveInit(request));
    yield* responseChunks(response);
  }

  // It sends a body that is still arriving (a server's, ADR 0053) as it comes.
  return sendsBodyStreams(
    (request: InteractionRequest): AsyncIterable<ResponseChunk> & Iterable<never> => {
      // The very object a broker hands over (its live context is keyed by it).
      const valid = toRequest(request, "request");
      return {
        [Symbol.asyncIterator]: () => answer(valid),
        [Symbol.iterator](): Iterator<never> {
          throw new TypeError(
            "Cannot record with createFetchResponder(): fetch is asynchronous, so it needs " +
              "createAsyncBroker() (or openAsyncBroker()), not createBroker()",
          );
        },
      };
    },
  );
}
