import { checkCassette, sealCassette } from "../core/_model.ts";
import { type BrokerSessionOptions, createSession } from "./_session.ts";
import { wantOfferedHeaders } from "./_offered_headers.ts";
import {
  asSaveError,
  checkLiveResponse,
  checkModeOptions,
  checkStore,
  isThenable,
  liveChunk,
  playbackSync,
  recordedInteraction,
} from "./_recording.ts";
import { appendInteraction } from "../core/append_interaction.ts";
import type { CassetteStore } from "../store/cassette_store.ts";
import { LiveResponderRequiredError } from "../core/errors.ts";
import type {
  BytesInit,
  Cassette,
  Interaction,
  InteractionRequest,
  ResponseChunk,
} from "../core/types.ts";

export type { BrokerSessionOptions } from "./_session.ts";

/**
 * How a broker answers a request (interposition's modes):
 * - `"replay"`: from the cassette only; a miss throws `InteractionNotFoundError`;
 * - `"record"`: always asks the live responder and records the answer, even
 *   when the cassette has one (the first recording keeps winning replays);
 * - `"auto"`: replays a hit without calling the live responder, records a miss.
 *
 * @example Usage
 * ```ts
 * import type { BrokerMode } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const mode: BrokerMode = "auto";
 * assert.equal(mode, "auto");
 * ```
 */
export type BrokerMode = "replay" | "record" | "auto";

/**
 * Answers a request for real, e.g. by calling the actual HTTP API. Returns
 * the response as chunks: `ResponseChunk`s numbered from 0 (to carry
 * metadata such as `["status_code", "200"]`), or bare bytes/strings, which get
 * the sequence of their position. Zero chunks is a valid answer.
 *
 * @example Usage
 * ```ts
 * import { createBroker, createCassette, createChunk, createRequest, type LiveResponder } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const live: LiveResponder = (request) => [
 *   createChunk(`echo ${request.target}`, 0, [["status_code", "200"]]),
 *   " and more",
 * ];
 * const broker = createBroker({ cassette: createCassette(), mode: "record", liveResponder: live });
 * const chunks = [...broker.replay(createRequest({ protocol: "http", action: "GET", target: "/a" }))];
 * assert.deepEqual(chunks.map((chunk) => chunk.sequence), [0, 1]);
 * // The recording adds each chunk's arrival offset after the responder's metadata.
 * assert.deepEqual(chunks[0]!.metadata[0], ["status_code", "200"]);
 * assert.equal(chunks[0]!.metadata[1]![0], "offset_ms");
 * ```
 */
export type LiveResponder = (
  request: InteractionRequest,
) => Iterable<ResponseChunk | BytesInit>;

/**
 * The synchronous broker built by `createBroker()` and `openBroker()`.
 *
 * @example Usage
 * ```ts
 * import { type Broker, createBroker, createCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const broker: Broker = createBroker({ cassette: createCassette() });
 * assert.equal(broker.mode, "replay");
 * ```
 */
export interface Broker {
  /** The mode the broker was created with. */
  readonly mode: BrokerMode;
  /** The current cassette: replaced (never changed) by each recording. */
  readonly cassette: Cassette;
  /**
   * Answers a request according to the mode. Everything that can fail
   * (a miss, the live responder, the save) fails at this call, before any
   * chunk is delivered.
   *
   * @param request The request.
   * @returns An iterator over the response's chunks.
   */
  replay(request: InteractionRequest): IterableIterator<ResponseChunk>;
  /**
   * The interactions of the current cassette that this broker has neither
   * replayed nor recorded: candidates for removal after a full re-record.
   *
   * @returns The unused interactions, in cassette order.
   */
  unused(): readonly Interaction[];
  /**
   * Drops the unused interactions: the current cassette becomes the used
   * ones, and it is saved through the store replacing what the store holds
   * (not merged). Call it after a session that re-recorded everything.
   */
  pruneUnused(): void;
}

/** Options for `createBroker()`. */
export interface CreateBrokerOptions extends BrokerSessionOptions {
  /** The cassette to start from. */
  readonly cassette: Cassette;
  /**
   * How requests are answered.
   *
   * @default {"replay"}
   */
  readonly mode?: BrokerMode | undefined;
  /**
   * Answers requests for real. Required in `"record"` and `"auto"` modes,
   * ignored in `"replay"`.
   *
   * @default {undefined}
   */
  readonly liveResponder?: LiveResponder | undefined;
  /**
   * Where each new recording is saved, before its chunks are delivered.
   *
   * @default {undefined (recordings stay in memory)}
   */
  readonly store?: CassetteStore | undefined;
}

/**
 * Creates a synchronous broker: the small imperative shell around the pure
 * core that answers requests from a cassette and, in `record` and `auto`
 * modes, from a live responder whose answers it records.
 *
 * Recording is buffered: the whole live response is collected, appended to a
 * new cassette value with `appendInteraction()`, saved through the store,
 * and only then delivered. If the save fails, `replay()` throws a
 * `CassetteSaveError` before any chunk and the broker keeps its previous
 * cassette, so memory never claims a recording the store does not have (ADR
 * 0011). A live responder's error reaches the caller unchanged and nothing
 * is recorded. A response with zero chunks is recorded as one empty chunk
 * marked `["x-replay-empty-response", "true"]` and replayed as zero chunks
 * (ADR 0013).
 *
 * @param options The cassette, mode, live responder and store.
 * @returns The broker.
 * @throws {LiveResponderRequiredError} When `mode` is `"record"` or `"auto"`
 * and there is no `liveResponder`.
 * @throws {RangeError} When `mode` is not a mode.
 * @throws {TypeError} When `liveResponder` is not a function or `store` lacks
 * `load()`/`save()`.
 * @throws {InteractionValidationError} When `cassette` is not a cassette.
 *
 * @example Auto mode: record a miss, replay a hit
 * ```ts
 * import { createBroker, createCassette, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * let calls = 0;
 * const broker = createBroker({
 *   cassette: createCassette(),
 *   mode: "auto",
 *   liveResponder: () => {
 *     calls++;
 *     return ["Hel", "lo"];
 *   },
 * });
 * const request = createRequest({ protocol: "http", action: "GET", target: "/hello" });
 * const first = [...broker.replay(request)];
 * const second = [...broker.replay(request)];
 * assert.equal(calls, 1);
 * assert.deepEqual(second, first);
 * assert.equal(broker.cassette.interactions.length, 1);
 * ```
 *
 * @example Replay mode: a miss throws at the call
 * ```ts
 * import { createBroker, createCassette, createRequest, InteractionNotFoundError } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const broker = createBroker({ cassette: createCassette() });
 * const request = createRequest({ protocol: "http", action: "GET", target: "/nowhere" });
 * assert.throws(() => broker.replay(request), InteractionNotFoundError);
 * ```
 */
export function createBroker(options: CreateBrokerOptions): Broker {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("Cannot create broker: expected an options object with a cassette");
  }
  const mode = checkModeOptions(options.mode, options.liveResponder, "create broker");
  const liveResponder = options.liveResponder;
  if (mode !== "replay" && liveResponder === undefined) {
    throw new LiveResponderRequiredError(mode);
  }
  const store = options.store;
  if (store !== undefined) checkStore(store, "create broker");
  let current = checkCassette(options.cassette);
  const session = createSession(options, "create broker");

  function save(cassette: Cassette, replace: boolean): void {
    if (store === undefined) return;
    let result: unknown;
    try {
      result = store.save(cassette, replace ? { replace } : undefined);
    } catch (error) {
      throw asSaveError(store, error);
    }
    if (isThenable(result)) {
      // Nobody would wait for it: keep its rejection from going unhandled.
      Promise.resolve(result).catch(() => undefined);
      throw new TypeError(
        "Cannot record: the store's save() returned a promise; use createAsyncBroker() with an asynchronous store",
      );
    }
  }

  function record(
    live: InteractionRequest,
    request: InteractionRequest,
  ): IterableIterator<ResponseChunk> {
    const start = session.now();
    const response = liveResponder!(live);
    checkLiveResponse(response, false);
    const chunks: ResponseChunk[] = [];
    for (const item of response) chunks.push(session.stamp(liveChunk(item, chunks.length), start));
    const interaction = session.use(session.finish(recordedInteraction(request, chunks), start));
    // Read `current` only now: the live responder may itself have recorded
    // through this broker, and that recording must not be dropped.
    const next = appendInteraction(current, interaction);
    save(next, false);
    current = next;
    // The caller gets the live chunks, not the redacted copy that was stored.
    return chunks.values();
  }

  const broker: Broker = Object.freeze({
    get mode(): BrokerMode {
      return mode;
    },
    get cassette(): Cassette {
      return current;
    },
    replay(request: InteractionRequest): IterableIterator<ResponseChunk> {
      const prepared = session.prepare(request);
      const choice = session.choose(current, prepared, mode);
      if (choice.kind === "hit") return playbackSync(session.use(choice.interaction));
      if (mode === "replay") throw session.notFound(prepared.matched, choice);
      return record(prepared.live, prepared.matched);
    },
    unused(): readonly Interaction[] {
      return session.unused(current);
    },
    pruneUnused(): void {
      const kept = sealCassette(session.pruned(current));
      save(kept, true);
      current = kept;
    },
  });
  // Its adapters offer every request header, for the recordings' header names (ADR 0025).
  if (options.headerSchema === true) wantOfferedHeaders(broker);
  return broker;
}
