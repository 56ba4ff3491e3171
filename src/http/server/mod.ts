/**
 * HTTP replay over the wire: `createHandler()` turns a broker into a
 * web-standard `(request: Request) => Promise<Response>` handler, and
 * `serve()` starts it on Deno, Bun or Node, bound to 127.0.0.1 by default.
 * Replays stream the recorded chunks; a miss answers 500 `Interaction Not
 * Found` with a JSON explanation. With a recording broker and
 * `createFetchResponder({ upstream })` from `@x/replay/fetch`, the server is
 * a recording proxy that any HTTP client, in any language, can use.
 *
 * @example Serve a hand-built cassette
 * ```ts
 * import { createBroker, createCassette, createChunk, createInteraction, createRequest } from "@x/replay";
 * import { serve } from "@x/replay/server";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/health" });
 * const cassette = createCassette([
 *   createInteraction(request, [createChunk("ok", 0, [["status_code", "200"]])]),
 * ]);
 * const server = await serve({ broker: createBroker({ cassette }) });
 * try {
 *   const response = await fetch(new URL("/health", server.url));
 *   assert.equal(await response.text(), "ok");
 *   assert.equal((await fetch(new URL("/nope", server.url))).status, 500);
 * } finally {
 *   await server.close();
 * }
 * ```
 *
 * @module
 */
export * from "./create_handler.ts";
export * from "./serve.ts";
export * from "../broker_like.ts";
