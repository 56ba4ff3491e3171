import { replaceOf } from "./_save_options.ts";
import { checkCassette, sealCassette } from "../core/_model.ts";
import { mergeCassettes } from "./_merge.ts";
import type { CassetteStore, SaveOptions } from "./cassette_store.ts";
import type { Cassette } from "../core/types.ts";

/**
 * Creates a store that keeps its cassette in memory, for tests and for
 * brokers that should not touch the disk. Like the file stores, `save()`
 * keeps what the store already holds and adds the interactions it lacks, so
 * several brokers can share one memory store without losing recordings.
 *
 * @param initial The cassette `load()` returns before any save.
 * @returns The store. It works with both `createBroker()` and `createAsyncBroker()`.
 * @throws {InteractionValidationError} When `initial` (or a saved value) is not a cassette.
 *
 * @example Record into memory, then replay
 * ```ts
 * import { createRequest, memoryStore, openBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const store = memoryStore();
 * const request = createRequest({ protocol: "http", action: "GET", target: "/time" });
 * const recorder = openBroker(store, { mode: "record", liveResponder: () => ["12:00"] });
 * [...recorder.replay(request)];
 *
 * const player = openBroker(store);
 * const [chunk] = player.replay(request);
 * assert.equal(new TextDecoder().decode(chunk!.data), "12:00");
 * ```
 */
export function memoryStore(initial?: Cassette): CassetteStore {
  let held = initial === undefined ? sealCassette([]) : checkCassette(initial);
  return Object.freeze({
    load(): Cassette {
      return held;
    },
    save(cassette: Cassette, options?: SaveOptions): void {
      const replace = replaceOf(options);
      held = replace ? checkCassette(cassette) : mergeCassettes(held, checkCassette(cassette));
    },
  });
}
