import { buildHandler, type HandlerOptions } from "./_handler.ts";
import { hostCheck } from "./_host.ts";
import { listenNode } from "./_listen_node.ts";

/** Options for `serve()`: those of `createHandler()`, plus where to listen. */
export interface ServeOptions extends HandlerOptions {
  /**
   * The address to bind. Only this machine can reach the default.
   *
   * @default {"127.0.0.1"}
   */
  readonly hostname?: string | undefined;
  /**
   * The port; 0 lets the system pick a free one (read it from `port` or `url`).
   *
   * @default {0}
   */
  readonly port?: number | undefined;
  /**
   * The Host header names answered besides IP addresses, `localhost` (and
   * names under `.localhost`) and `hostname` itself; a name starting with a
   * dot also allows its subdomains. A request naming another host is answered
   * 403 `Forbidden Host`: a web page that rebinds its own domain to this
   * machine's address (DNS rebinding) cannot read the server. `true` answers
   * any host, e.g. behind a reverse proxy that checks it.
   *
   * @default {[]}
   */
  readonly allowedHosts?: readonly string[] | true | undefined;
}

/** A running replay server. */
export interface ReplayServer {
  /** Its base URL, e.g. `http://127.0.0.1:43117/`. */
  readonly url: URL;
  /** The port it listens on. */
  readonly port: number;
  /**
   * Stops the server: response streams still open are ended with an error,
   * open connections are closed, and the promise resolves once the port is
   * free. Closing twice is harmless.
   */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server that answers from a broker, with the handler of
 * `createHandler()`, on `node:http` on every runtime (Deno needs
 * `--allow-net`), streaming each response body with backpressure. It binds
 * 127.0.0.1 unless told otherwise, and answers only requests whose Host
 * header is an IP address, `localhost` or one of `allowedHosts`.
 *
 * A replayed response gets its recorded status text and header lines as
 * they were recorded (a repeated header stays several lines), and its
 * recorded `content-length` when the recorded chunks add up to it; otherwise
 * the body is sent in chunks (ADR 0036). A request body larger than
 * `bodyLimit` is answered 413.
 *
 * With a replaying broker it replays a cassette over real HTTP to clients in
 * any language; with an asynchronous broker in `record` or `auto` mode whose
 * live responder is `createFetchResponder({ upstream, client: "node:http" })`,
 * and `origin` set to the same upstream, it is a recording proxy that hands
 * its clients what the upstream sent. While recording, a response is
 * complete for the client only once its recording is saved: when the save
 * fails, the connection is cut (or, when nothing was sent yet, the answer is
 * 500 `Replay Error`).
 *
 * @param options The handler's options, plus the hostname, port and allowed hosts.
 * @returns A promise of the running server.
 * @throws {TypeError} For a bad broker, origin, `matchHeaders`, `onError` or
 * `allowedHosts` (as for `createHandler()`), and for a broker in `record` or
 * `auto` mode without `origin`: its requests would go wherever their Host
 * header points.
 * @throws {RangeError} When `missStatus`, `bodyLimit` or `port` is out of range.
 * The promise rejects when the address cannot be bound (e.g. the port is taken).
 *
 * @example Replay a cassette over HTTP to a plain HTTP client
 * ```ts
 * import { createBroker, createCassette, createChunk, createInteraction, createRequest } from "@x/replay";
 * import { serve } from "@x/replay/server";
 * import assert from "node:assert/strict";
 * import { get } from "node:http";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/v1/models" });
 * const cassette = createCassette([
 *   createInteraction(request, [createChunk('{"data":[]}', 0, [["status_code", "200"]])]),
 * ]);
 * const server = await serve({ broker: createBroker({ cassette }) });
 * try {
 *   const body = await new Promise<string>((resolve, reject) => {
 *     get(new URL("/v1/models", server.url), (response) => {
 *       let text = "";
 *       response.setEncoding("utf8");
 *       response.on("data", (piece: string) => (text += piece));
 *       response.on("end", () => resolve(text));
 *     }).on("error", reject);
 *   });
 *   assert.equal(body, '{"data":[]}');
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function serve(options: ServeOptions): Promise<ReplayServer> {
  const hostname = options?.hostname ?? "127.0.0.1";
  const port = options?.port ?? 0;
  if (typeof hostname !== "string" || hostname === "") {
    throw new TypeError(
      `Cannot serve: hostname must be a non-empty string, got ${JSON.stringify(hostname)}`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot serve: port must be an integer from 0 to 65535, got ${port}`);
  }
  const open = new Set<(reason: unknown) => void>();
  // Its bridge only writes each response piece to the socket: no copies needed.
  const handler = buildHandler(options, "serve", (end) => {
    open.add(end);
    return () => open.delete(end);
  }, false);
  const allowHost = hostCheck(options.allowedHosts, hostname, "serve");
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  let closing: Promise<void> | undefined;
  const listening = await listenNode(handler, hostname, port, {
    allowHost,
    onError,
    closing: () => closing !== undefined,
  });
  return Object.freeze({
    url: new URL(listening.origin),
    port: listening.port,
    close(): Promise<void> {
      if (closing === undefined) {
        const reason = new Error("The replay server was closed");
        for (const end of [...open]) end(reason);
        closing = listening.close().finally(() => handler.close());
      }
      return closing;
    },
  });
}
