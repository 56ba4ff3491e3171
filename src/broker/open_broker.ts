import { checkOptions } from "../core/_check.ts";
import {
  asLoadError,
  checkModeOptions,
  checkStore,
  isThenable,
  loadedCassette,
} from "./_recording.ts";
import type { CassetteStore } from "../store/cassette_store.ts";
import {
  type Broker,
  type BrokerMode,
  type BrokerSessionOptions,
  createBroker,
  type LiveResponder,
} from "./create_broker.ts";
import { LiveResponderRequiredError } from "../core/errors.ts";

/** Options for `openBroker()`. */
export interface OpenBrokerOptions extends BrokerSessionOptions {
  /**
   * How requests are answered.
   *
   * @default {"replay"}
   */
  readonly mode?: BrokerMode | undefined;
  /**
   * Answers requests for real. Required in `"record"` and `"auto"` modes.
   *
   * @default {undefined}
   */
  readonly liveResponder?: LiveResponder | undefined;
}

/**
 * Loads a cassette from a store and creates a broker that saves its new
 * recordings back to that store (interposition's `Broker.from_store`). The
 * options are checked before the store is touched.
 *
 * @param store Where the cassette is loaded from and saved to.
 * @param options The mode and live responder.
 * @returns The broker.
 * @throws {LiveResponderRequiredError} When `mode` is `"record"` or `"auto"`
 * and there is no `liveResponder` (the store is not read).
 * @throws {CassetteLoadError} When the store cannot load; `cause` holds the
 * store's own error.
 * @throws {RangeError} When `mode` is not a mode.
 * @throws {TypeError} When `store` lacks `load()`/`save()` or its `load()`
 * returns a promise (use `openAsyncBroker()`).
 *
 * @example Replay from a JSON file written by interposition
 * ```ts
 * import { createRequest, fileStore, openBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "cassette.json");
 * writeFileSync(path, JSON.stringify({ interactions: [{
 *   request: { protocol: "test-proto", action: "fetch", target: "resource-123", headers: [], body: "" },
 *   fingerprint: { value: "33b9dd686b6015f8fd7223b66ba2f58fa5484a129c3209005fa7125a1b3829fd" },
 *   response_chunks: [{ data: "first", sequence: 0, metadata: [] }],
 *   metadata: [],
 * }] }));
 * const broker = openBroker(fileStore(path));
 * const request = createRequest({ protocol: "test-proto", action: "fetch", target: "resource-123" });
 * const [chunk] = broker.replay(request);
 * assert.equal(new TextDecoder().decode(chunk!.data), "first");
 * ```
 */
export function openBroker(store: CassetteStore, options?: OpenBrokerOptions): Broker {
  checkOptions(options, "open broker");
  const mode = checkModeOptions(options?.mode, options?.liveResponder, "open broker");
  if (mode !== "replay" && options?.liveResponder === undefined) {
    throw new LiveResponderRequiredError(mode);
  }
  checkStore(store, "open broker");
  let loaded: unknown;
  try {
    loaded = store.load();
  } catch (error) {
    throw asLoadError(store, error);
  }
  if (isThenable(loaded)) {
    Promise.resolve(loaded).catch(() => undefined);
    throw new TypeError(
      "Cannot open broker: the store's load() returned a promise; use openAsyncBroker()",
    );
  }
  const cassette = loadedCassette(store, loaded);
  return createBroker({ ...options, cassette, mode, store });
}
