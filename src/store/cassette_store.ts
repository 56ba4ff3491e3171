import type { Cassette, ResponseChunk } from "../core/types.ts";

/**
 * Where a broker keeps its cassette between runs: `load()` reads it once,
 * `save()` is called after every recorded interaction. Implement it to keep
 * cassettes anywhere (a database, object storage); `memoryStore()` and
 * `fileStore()` are the built-in ones.
 *
 * `save(cassette)` adds the cassette's interactions that the store does not
 * hold yet after the ones it holds, so several writers sharing one store lose
 * nothing (ADR 0016). A store that is only ever written by one broker may
 * simply replace its content. Failures should be thrown as
 * `CassetteLoadError` / `CassetteSaveError`; brokers wrap anything else in
 * them.
 *
 * @example A store that keeps the cassette as text
 * ```ts
 * import {
 *   type Cassette,
 *   type CassetteStore,
 *   createBroker,
 *   createCassette,
 *   createRequest,
 *   parseCassette,
 *   stringifyCassette,
 * } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * let text = stringifyCassette(createCassette());
 * const store: CassetteStore = {
 *   load: (): Cassette => parseCassette(text),
 *   save: (cassette: Cassette): void => {
 *     text = stringifyCassette(cassette);
 *   },
 * };
 * const broker = createBroker({
 *   cassette: store.load(),
 *   mode: "auto",
 *   liveResponder: () => ["pong"],
 *   store,
 * });
 * [...broker.replay(createRequest({ protocol: "tcp", action: "send", target: "ping" }))];
 * assert.equal(parseCassette(text).interactions.length, 1);
 * ```
 */
export interface CassetteStore {
  /** The file behind the store, when there is one; used in error messages. */
  readonly path?: string | undefined;
  /**
   * Reads the stored cassette.
   *
   * @returns The cassette.
   */
  load(): Cassette;
  /**
   * Stores a cassette, keeping what the store already holds (see above),
   * unless `options.replace` asks to store exactly `cassette`.
   *
   * @param cassette The cassette to store.
   * @param options `replace: true` drops what the store holds instead of
   * merging with it (used to prune after a full re-record).
   */
  save(cassette: Cassette, options?: SaveOptions): void;
  /**
   * Optional: takes a chunk's bytes out of memory before the interaction is
   * saved (for example into a blob file) and returns the chunk to keep in its
   * place. An asynchronous broker that streams a recording calls it for each
   * chunk, already redacted, once its consumer has received it. A store may
   * return the chunk unchanged (for example when it is small).
   *
   * @param chunk The redacted chunk.
   * @returns The chunk to record instead.
   */
  offload?(chunk: ResponseChunk): ResponseChunk;
}

/**
 * The asynchronous twin of `CassetteStore`, for storage reached through
 * promises. `createAsyncBroker()` and `openAsyncBroker()` accept either kind.
 *
 * @example An asynchronous store
 * ```ts
 * import {
 *   type AsyncCassetteStore,
 *   type Cassette,
 *   createCassette,
 *   createRequest,
 *   openAsyncBroker,
 * } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * let kept: Cassette = createCassette();
 * const store: AsyncCassetteStore = {
 *   load: (): Promise<Cassette> => Promise.resolve(kept),
 *   save: (cassette: Cassette): Promise<void> => {
 *     kept = cassette;
 *     return Promise.resolve();
 *   },
 * };
 * const broker = await openAsyncBroker(store, { mode: "auto", liveResponder: () => ["pong"] });
 * for await (const _ of broker.replay(createRequest({ protocol: "tcp", action: "send", target: "ping" })));
 * assert.equal(kept.interactions.length, 1);
 * ```
 */
export interface AsyncCassetteStore {
  /** The file behind the store, when there is one; used in error messages. */
  readonly path?: string | undefined;
  /**
   * Reads the stored cassette.
   *
   * @returns A promise of the cassette.
   */
  load(): Promise<Cassette>;
  /**
   * Stores a cassette, keeping what the store already holds (see `CassetteStore`),
   * unless `options.replace` asks to store exactly `cassette`.
   *
   * @param cassette The cassette to store.
   * @param options `replace: true` drops what the store holds instead of merging.
   * @returns A promise that settles once the cassette is stored.
   */
  save(cassette: Cassette, options?: SaveOptions): Promise<void>;
  /**
   * Optional: the asynchronous twin of `CassetteStore.offload()`.
   *
   * @param chunk The redacted chunk.
   * @returns A promise of the chunk to record instead.
   */
  offload?(chunk: ResponseChunk): Promise<ResponseChunk>;
}

/** Options for `CassetteStore.save()` and `AsyncCassetteStore.save()`. */
export interface SaveOptions {
  /**
   * Store exactly the given cassette, dropping what the store holds, instead
   * of merging with it. Stores written before this option existed may ignore
   * it and merge.
   *
   * @default {false}
   */
  readonly replace?: boolean | undefined;
}
