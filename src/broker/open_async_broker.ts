import { checkOptions } from "../core/_check.ts";
import { asLoadError, checkModeOptions, checkStore, loadedCassette } from "./_recording.ts";
import type { AsyncCassetteStore, CassetteStore } from "../store/cassette_store.ts";
import {
  type AsyncBroker,
  createAsyncBroker,
  type CreateAsyncBrokerOptions,
} from "./create_async_broker.ts";
import { LiveResponderRequiredError } from "../core/errors.ts";

/** Options for `openAsyncBroker()`. */
export type OpenAsyncBrokerOptions = Omit<CreateAsyncBrokerOptions, "cassette" | "store">;

/**
 * Loads a cassette from a synchronous or asynchronous store and creates an
 * asynchronous broker that saves its new recordings back to it. The options
 * are checked before the store is touched.
 *
 * @param store Where the cassette is loaded from and saved to.
 * @param options The mode, live responder and recording style.
 * @returns A promise of the broker.
 * @throws {LiveResponderRequiredError} (as a rejection) When `mode` is
 * `"record"` or `"auto"` and there is no `liveResponder`; the store is not read.
 * @throws {CassetteLoadError} (as a rejection) When the store cannot load;
 * `cause` holds the store's own error.
 * @throws {RangeError} (as a rejection) When `mode` or `recording` is unknown.
 * @throws {TypeError} (as a rejection) When `store` lacks `load()`/`save()`.
 *
 * @example Open in replay mode; the miss is reported at the call
 * ```ts
 * import { createRequest, InteractionNotFoundError, memoryStore, openAsyncBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const broker = await openAsyncBroker(memoryStore());
 * const request = createRequest({ protocol: "grpc", action: "GetUser", target: "users.v1" });
 * assert.throws(() => broker.replay(request), InteractionNotFoundError);
 * ```
 *
 * @example A missing live responder is reported before loading
 * ```ts
 * import { LiveResponderRequiredError, memoryStore, openAsyncBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * await assert.rejects(
 *   openAsyncBroker(memoryStore(), { mode: "record" }),
 *   (error: unknown) => error instanceof LiveResponderRequiredError && error.mode === "record",
 * );
 * ```
 */
export async function openAsyncBroker(
  store: CassetteStore | AsyncCassetteStore,
  options?: OpenAsyncBrokerOptions,
): Promise<AsyncBroker> {
  checkOptions(options, "open broker");
  const mode = checkModeOptions(options?.mode, options?.liveResponder, "open broker");
  if (mode !== "replay" && options?.liveResponder === undefined) {
    throw new LiveResponderRequiredError(mode);
  }
  checkStore(store, "open broker");
  let loaded: unknown;
  try {
    loaded = await store.load();
  } catch (error) {
    throw asLoadError(store, error);
  }
  const cassette = loadedCassette(store, loaded);
  return createAsyncBroker({ ...options, cassette, mode, store });
}
