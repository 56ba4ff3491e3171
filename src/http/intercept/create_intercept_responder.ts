import type { AsyncLiveResponder } from "../../broker/create_async_broker.ts";
import { describe } from "../../core/_check.ts";
import { createFetchResponder } from "../fetch/create_fetch_responder.ts";
import { networkFetch } from "./_state.ts";

/** Options for `createInterceptResponder()`. */
export interface InterceptResponderOptions {
  /**
   * Where to send requests: its origin replaces the origin of each request's
   * target, as `createFetchResponder()`'s option of the same name (record
   * what a client sends to one host from another).
   *
   * @default {undefined (each request goes where the client sent it)}
   */
  readonly upstream?: string | URL | undefined;
}

/** Request headers the live `fetch` refuses or sets itself. */
const NOT_SENT: readonly string[] = ["expect"];

/**
 * Creates the live responder for a broker behind `interceptHttp()`, in
 * `record` or `auto` mode: it sends each intercepted request to the real
 * network, past the interception, with every header the client sent (not
 * only the matched ones), its body and its abort signal, and yields the
 * response as it arrives: chunk 0 with the status, status text and headers
 * once the first piece of the body is in, then one chunk per piece. With
 * `recording: "streaming"` the client reads a live stream (server-sent
 * events, say) while it is recorded.
 *
 * It goes through the `fetch` that was global before interception started,
 * so the recording follows ADR 0030 exactly as `createFetchResponder()`
 * does: gzip, deflate and brotli bodies are recorded decoded, without their
 * `content-encoding` and `content-length`. `Expect: 100-continue` is not
 * sent (the interception already gave the client its go-ahead, and the body
 * is complete). Requests from an `http.ClientRequest` or from undici's
 * dispatcher are sent with `redirect: "manual"`, so their clients see the
 * redirects they would see live; `fetch` requests keep their own mode.
 *
 * Outside an interception it is `createFetchResponder()` over the global
 * `fetch`.
 *
 * @param options An optional upstream.
 * @returns The live responder, for `createAsyncBroker()` or `openAsyncBroker()`.
 * @throws {TypeError} When `upstream` is not an absolute URL. Its answers
 * fail as `fetch` fails (network errors, aborts), and iterating one
 * synchronously throws a `TypeError`: a synchronous broker cannot record
 * through the network.
 *
 * @example Record through the real network, replay offline in another run
 * ```ts
 * import { createAsyncBroker, createCassette } from "@x/replay";
 * import { createInterceptResponder, interceptHttp } from "@x/replay/intercept";
 * import assert from "node:assert/strict";
 * import http from "node:http";
 *
 * const server = http.createServer((_request, response) => {
 *   response.writeHead(200, { "content-type": "text/plain" });
 *   response.end("hello");
 * });
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/greeting`;
 * const get = () =>
 *   new Promise<string>((resolve, reject) => {
 *     http.get(url, { agent: false }, (response) => {
 *       let text = "";
 *       response.on("data", (piece) => (text += piece));
 *       response.on("end", () => resolve(text));
 *     }).on("error", reject);
 *   });
 *
 * const recorder = createAsyncBroker({
 *   cassette: createCassette(),
 *   mode: "record",
 *   liveResponder: createInterceptResponder(),
 * });
 * const recording = interceptHttp(recorder);
 * try {
 *   assert.equal(await get(), "hello");
 * } finally {
 *   await recording.stop();
 *   server.closeAllConnections();
 *   server.close();
 * }
 *
 * const replaying = interceptHttp(createAsyncBroker({ cassette: recorder.cassette }));
 * try {
 *   assert.equal(await get(), "hello"); // the server is gone
 * } finally {
 *   await replaying.stop();
 * }
 * ```
 */
export function createInterceptResponder(options?: InterceptResponderOptions): AsyncLiveResponder {
  if (options !== undefined && (typeof options !== "object" || options === null)) {
    throw new TypeError(
      `Cannot create intercept responder: options must be an object, got ${describe(options)}`,
    );
  }
  return createFetchResponder({ fetch: sendLive, upstream: options?.upstream });
}

/** The live call: the network `fetch`, less the headers it cannot send. */
function sendLive(
  input: Parameters<typeof fetch>[0],
  init?: Parameters<typeof fetch>[1],
): Promise<Response> {
  if (init?.headers === undefined) return networkFetch(input, init);
  const headers = new Headers(init.headers);
  for (const name of NOT_SENT) headers.delete(name);
  return networkFetch(input, { ...init, headers });
}
