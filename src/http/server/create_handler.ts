import { buildHandler, type HandlerOptions } from "./_handler.ts";

export type { HandlerOptions } from "./_handler.ts";

/**
 * Creates a web-standard request handler, `(request: Request) =>
 * Promise<Response>`, that answers HTTP requests from a broker. Mount it in
 * any server that speaks `Request`/`Response` (`Deno.serve`, `Bun.serve`,
 * Hono, a service worker), or let `serve()` start one.
 *
 * The incoming request becomes an interaction request as in
 * `createReplayFetch()`: protocol `"http"`, the method, the target built from
 * `origin` plus the request's path and query, the `matchHeaders` headers and
 * the exact body (at most `bodyLimit` bytes, else 413 `Content Too Large`).
 * A hit streams the recorded chunks, one read at a time, with the recorded
 * status, status text and headers; hop-by-hop headers are not replayed, and
 * a recorded `content-length` only when the recorded chunks add up to it.
 * A recording whose status, header or status text cannot be sent is
 * answered 500 `Replay Error` naming the metadata pair.
 *
 * A miss answers `missStatus` (500 by default, as the ancestor) with a
 * `text/plain` body whose first line is `Interaction Not Found` and whose
 * rest is JSON: `{ error, request: { method, target, headers, body,
 * fingerprint }, nearest: [...] }`, the request as it was matched and up to
 * three recorded interactions nearest to it (same method and path first,
 * then by edit distance of the target), each with the fields that differ.
 * Any other failure answers 500 `Replay Error` (the library's own: a failed
 * save, a bad recording, anything in `replay` mode) or 502 `Bad Gateway` (a
 * live call that failed), with the same text-then-JSON layout, naming files
 * only relative to the cassette's folder; `onError` gets the whole error.
 *
 * In `record` or `auto` mode, with an asynchronous broker whose live
 * responder is `createFetchResponder({ upstream })` and the upstream given
 * as `origin` too, the handler is a recording proxy: targets name the
 * upstream, so the cassette also replays through `createReplayFetch()`. A
 * recording broker without `origin` is refused: its targets would come from
 * each request's `Host` header.
 *
 * @param options The broker, origin, miss status, matched headers, body limit and error log.
 * @returns The handler.
 * @throws {TypeError} When `broker` has no `replay()`, `origin` is not an
 * absolute http(s) URL (or is missing for a broker in `record` or `auto`
 * mode), `matchHeaders` holds something other than names or `onError` is
 * not a function.
 * @throws {RangeError} When `missStatus` is not an integer from 200 to 599
 * or `bodyLimit` not a whole number of bytes.
 *
 * @example Serve a cassette, and explain a miss
 * ```ts
 * import { createBroker, createCassette, createChunk, createInteraction, createRequest } from "@x/replay";
 * import { createHandler } from "@x/replay/server";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "https://api.example.com/users/1" });
 * const cassette = createCassette([createInteraction(request, [
 *   createChunk('{"id":', 0, [["status_code", "200"], ["header:content-type", "application/json"]]),
 *   "1}",
 * ])]);
 * const handler = createHandler({ broker: createBroker({ cassette }) });
 *
 * // The origin comes from the cassette, so any host serves it.
 * const hit = await handler(new Request("http://127.0.0.1:8080/users/1"));
 * assert.equal(hit.headers.get("content-type"), "application/json");
 * assert.equal(await hit.text(), '{"id":1}');
 *
 * const miss = await handler(new Request("http://127.0.0.1:8080/users/2"));
 * assert.equal(miss.status, 500);
 * const [title, json] = (await miss.text()).split(/\n(.*)/s);
 * assert.equal(title, "Interaction Not Found");
 * const explanation = JSON.parse(json!);
 * assert.equal(explanation.request.target, "https://api.example.com/users/2");
 * assert.equal(explanation.nearest[0].target, "https://api.example.com/users/1");
 * assert.deepEqual(explanation.nearest[0].differs, ["target"]);
 * ```
 */
export function createHandler(options: HandlerOptions): (request: Request) => Promise<Response> {
  const handler = buildHandler(options, "create handler");
  return async (request) => (await handler(request)).response;
}
