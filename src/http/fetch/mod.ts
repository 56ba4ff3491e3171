/**
 * HTTP through `fetch`: a function with the exact type of `fetch` that
 * answers from a broker (`createReplayFetch()`), a live responder that
 * records the real network through `fetch`, chunk by chunk as the body
 * arrives (`createFetchResponder()`), and `installFetch()` to put a replaying
 * `fetch` in place of the global one for the duration of a test.
 *
 * Recorded HTTP interactions have protocol `"http"`, the method as action and
 * the absolute URL as target; the status, status text and response headers
 * travel in the first chunk's metadata (`status_code`, `status_text`,
 * `header:<name>`), and each chunk is one piece of the body as it arrived.
 *
 * @example Record once through the real network, replay offline
 * ```ts
 * import { createAsyncBroker, createCassette } from "@x/replay";
 * import { createFetchResponder, createReplayFetch } from "@x/replay/fetch";
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
 *   liveResponder: createFetchResponder(),
 * });
 * let live = "";
 * try {
 *   live = await (await createReplayFetch(recorder)(url)).text();
 * } finally {
 *   server.closeAllConnections();
 *   await new Promise((resolve) => server.close(resolve));
 * }
 *
 * const replayed = await createReplayFetch(createAsyncBroker({ cassette: recorder.cassette }))(url);
 * assert.equal(await replayed.text(), live);
 * assert.equal(live, "data: Hel\n\ndata: lo\n\n");
 * ```
 *
 * @module
 */
export * from "./create_replay_fetch.ts";
export * from "./create_fetch_responder.ts";
export * from "./install_fetch.ts";
export * from "../broker_like.ts";
