/**
 * HAR 1.2 in and out: `fromHar()` reads the HTTP Archive files that browser
 * devtools, Playwright (`recordHar`), Polly.js (`recording.har`),
 * mitmproxy and Charles write, as a cassette; `toHar()` writes a cassette as
 * a HAR to open in devtools or hand to another tool, keeping what HAR has no
 * field for (chunk boundaries, timing, metadata) in `_`-prefixed extension
 * fields, so a cassette survives the round trip unchanged.
 *
 * @example Polly.js recordings, replayed in their order
 * ```ts
 * import { createBroker } from "@x/replay";
 * import { createReplayFetch } from "@x/replay/fetch";
 * import { fromHar } from "@x/replay/har";
 * import assert from "node:assert/strict";
 *
 * const entry = (order: number, state: string) => ({
 *   _id: "6f1b0e4e1c8e", _order: order,
 *   startedDateTime: `2026-01-05T10:00:0${order}.000Z`, time: 3,
 *   request: { method: "GET", url: "http://localhost:3000/job/7", headers: [], queryString: [] },
 *   response: { status: 200, statusText: "OK", headers: [], content: { mimeType: "text/plain", size: state.length, text: state } },
 *   timings: { send: 0, wait: 3, receive: 0 },
 * });
 * const har = JSON.stringify({ log: { version: "1.2", creator: { name: "Polly.JS", version: "6.0.6" },
 *   entries: [entry(1, "running"), entry(0, "queued"), entry(2, "done")] } });
 * const fetch = createReplayFetch(createBroker({ cassette: fromHar(har), playback: "sequential" }));
 * const states = [];
 * for (let i = 0; i < 3; i++) states.push(await (await fetch("http://localhost:3000/job/7")).text());
 * assert.deepEqual(states, ["queued", "running", "done"]);
 * ```
 *
 * @module
 */
export * from "./from_har.ts";
export * from "./to_har.ts";
export * from "./har_format_error.ts";
