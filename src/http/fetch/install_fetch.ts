import { describe } from "../../core/_check.ts";

/**
 * Replaces `globalThis.fetch` (for code that calls the global `fetch`
 * directly) and returns a function that puts the previous one back. Calling
 * the restore function again does nothing, and it leaves alone a `fetch`
 * that someone else installed after it; restore nested installs in reverse
 * order.
 *
 * Install in a test's setup and restore in its `finally` (or teardown); the
 * global is shared by everything running in the process.
 *
 * @param fetchFunction The `fetch` to install, e.g. from `createReplayFetch()`.
 * @returns The restore function.
 * @throws {TypeError} When `fetchFunction` is not a function.
 *
 * @example Install for the duration of a test
 * ```ts
 * import { createBroker, createCassette, createChunk, createInteraction, createRequest } from "@x/replay";
 * import { createReplayFetch, installFetch } from "@x/replay/fetch";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "https://example.com/" });
 * const cassette = createCassette([
 *   createInteraction(request, [createChunk("recorded", 0, [["status_code", "200"]])]),
 * ]);
 * const original = globalThis.fetch;
 * const restore = installFetch(createReplayFetch(createBroker({ cassette })));
 * try {
 *   assert.equal(await (await fetch("https://example.com/")).text(), "recorded");
 * } finally {
 *   restore();
 * }
 * restore();
 * assert.equal(globalThis.fetch, original);
 * ```
 */
export function installFetch(fetchFunction: typeof fetch): () => void {
  if (typeof fetchFunction !== "function") {
    throw new TypeError(
      `Cannot install fetch: expected a function, got ${describe(fetchFunction)}`,
    );
  }
  const previous = globalThis.fetch;
  globalThis.fetch = fetchFunction;
  let restored = false;
  return (): void => {
    if (restored) return;
    restored = true;
    if (globalThis.fetch === fetchFunction) globalThis.fetch = previous;
  };
}
