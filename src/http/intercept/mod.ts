/**
 * Record and replay every HTTP request a process makes, whatever the client:
 * `interceptHttp()` answers `node:http` and `node:https` requests (axios with
 * its default adapter, got, node-fetch, superagent, the AWS SDK, …), the
 * global `fetch` (and every SDK that uses it) and undici's global dispatcher
 * from a broker until it is stopped; `createInterceptResponder()` is the
 * live side that records through the real network past the interception.
 * In `replay` mode nothing reaches the network: a miss fails the client's
 * request with the broker's `InteractionNotFoundError`. Cassettes are the
 * same as `@x/replay/fetch` and `@x/replay/server` record and replay.
 *
 * This subpath loads @mswjs/interceptors; `@x/replay` alone never does.
 *
 * @example Record once, replay with the server gone
 * ```ts
 * import { createAsyncBroker, createCassette } from "@x/replay";
 * import { createInterceptResponder, interceptHttp } from "@x/replay/intercept";
 * import assert from "node:assert/strict";
 * import { createServer } from "node:http";
 *
 * const server = createServer((_request, response) => {
 *   response.writeHead(200, { "content-type": "text/event-stream" });
 *   response.write("data: Hel\n\n");
 *   setTimeout(() => response.end("data: lo\n\n"), 10);
 * });
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/chat`;
 *
 * const recorder = createAsyncBroker({
 *   cassette: createCassette(),
 *   mode: "record",
 *   recording: "streaming",
 *   liveResponder: createInterceptResponder(),
 * });
 * const recording = interceptHttp(recorder);
 * let live = "";
 * try {
 *   live = await (await fetch(url)).text();
 * } finally {
 *   await recording.stop();
 *   server.closeAllConnections();
 *   server.close();
 * }
 *
 * await using _replaying = interceptHttp(createAsyncBroker({ cassette: recorder.cassette }));
 * assert.equal(await (await fetch(url)).text(), live);
 * assert.equal(live, "data: Hel\n\ndata: lo\n\n");
 * ```
 *
 * @module
 */
export * from "./intercept_http.ts";
export * from "./create_intercept_responder.ts";
export * from "../broker_like.ts";
