import type { AsyncBroker } from "../broker/create_async_broker.ts";
import type { Broker } from "../broker/create_broker.ts";

/**
 * What the HTTP adapters need of a broker: its `mode`, its current
 * `cassette` and `replay()`. Every `Broker` and `AsyncBroker` is one; so is
 * a hand-written object with those three members, e.g. one that replays with
 * `replayAsync()` and options of its own.
 *
 * @example A hand-written broker
 * ```ts
 * import { createCassette, createChunk, createInteraction, createRequest, replayAsync } from "@x/replay";
 * import { type BrokerLike, createReplayFetch } from "@x/replay/fetch";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "https://example.com/" });
 * const cassette = createCassette([
 *   createInteraction(request, [createChunk("hi", 0, [["status_code", "200"]])]),
 * ]);
 * const broker: BrokerLike = {
 *   mode: "replay",
 *   cassette,
 *   replay: (incoming) => replayAsync(cassette, incoming, { timing: "recorded" }),
 * };
 * assert.equal(await (await createReplayFetch(broker)("https://example.com/")).text(), "hi");
 * ```
 */
export type BrokerLike =
  | Pick<Broker, "mode" | "cassette" | "replay">
  | Pick<AsyncBroker, "mode" | "cassette" | "replay">;
