import { checkCassette, sealCassette, toRequest } from "../core/_model.ts";
import { isBodyStreaming, recordsArriving } from "./_body_streams.ts";
import { type BrokerSessionOptions, createSession, type Prepared } from "./_session.ts";
import { wantOfferedHeaders } from "./_offered_headers.ts";
import { type Sleep, timedChunks, type Timing, untimed } from "../core/_timing.ts";
import {
  asSaveError,
  checkLiveResponse,
  checkModeOptions,
  checkStore,
  liveChunk,
  playback,
  recordedInteraction,
} from "./_recording.ts";
import { describe } from "../core/_check.ts";
import { appendInteraction } from "../core/append_interaction.ts";
import type { AsyncCassetteStore, CassetteStore } from "../store/cassette_store.ts";
import type { BrokerMode } from "./create_broker.ts";
import { LiveResponderRequiredError } from "../core/errors.ts";
import { fingerprint } from "../core/fingerprint.ts";
import { match } from "../core/match.ts";
import type {
  BytesInit,
  Cassette,
  Interaction,
  InteractionRequest,
  ResponseChunk,
} from "../core/types.ts";

/**
 * Answers a request for real, for `createAsyncBroker()`: returns the
 * response's chunks as an `Iterable`, an `AsyncIterable` (an async
 * generator, a `ReadableStream`), or a `Promise` of either. Chunks are
 * `ResponseChunk`s numbered from 0, or bare bytes/strings.
 *
 * @example Usage
 * ```ts
 * import { type AsyncLiveResponder, createAsyncBroker, createCassette, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const live: AsyncLiveResponder = async function* (request) {
 *   yield `data: ${request.target}\n\n`;
 *   yield "data: [DONE]\n\n";
 * };
 * const broker = createAsyncBroker({ cassette: createCassette(), mode: "record", liveResponder: live });
 * const sequences: number[] = [];
 * for await (const chunk of broker.replay(createRequest({ protocol: "sse", action: "GET", target: "/s" }))) {
 *   sequences.push(chunk.sequence);
 * }
 * assert.deepEqual(sequences, [0, 1]);
 * ```
 */
export type AsyncLiveResponder = (
  request: InteractionRequest,
) =>
  | Iterable<ResponseChunk | BytesInit>
  | AsyncIterable<ResponseChunk | BytesInit>
  | Promise<Iterable<ResponseChunk | BytesInit> | AsyncIterable<ResponseChunk | BytesInit>>;

/**
 * The asynchronous broker built by `createAsyncBroker()` and `openAsyncBroker()`.
 *
 * @example Usage
 * ```ts
 * import { type AsyncBroker, createAsyncBroker, createCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const broker: AsyncBroker = createAsyncBroker({ cassette: createCassette() });
 * assert.equal(broker.mode, "replay");
 * ```
 */
export interface AsyncBroker {
  /** The mode the broker was created with. */
  readonly mode: BrokerMode;
  /** The current cassette: replaced (never changed) by each recording. */
  readonly cassette: Cassette;
  /**
   * Answers a request according to the mode. A miss in `replay` mode throws
   * at this call; live responder and save failures reject the first `next()`
   * (buffered recording) or the `next()` where they happen (streaming).
   *
   * @param request The request.
   * @returns An async iterator over the response's chunks.
   */
  replay(request: InteractionRequest): AsyncIterableIterator<ResponseChunk>;
  /**
   * The interactions of the current cassette that this broker has neither
   * replayed nor recorded: candidates for removal after a full re-record.
   *
   * @returns The unused interactions, in cassette order.
   */
  unused(): readonly Interaction[];
  /**
   * Waits for pending saves, then drops the unused interactions: the current
   * cassette becomes the used ones, saved through the store replacing what the
   * store holds (not merged). Call it after a session that re-recorded everything.
   *
   * @returns A promise that settles once the pruned cassette is stored.
   */
  pruneUnused(): Promise<void>;
}

/** Options for `createAsyncBroker()`. */
export interface CreateAsyncBrokerOptions extends BrokerSessionOptions {
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
  readonly liveResponder?: AsyncLiveResponder | undefined;
  /**
   * Where each new recording is saved; synchronous or asynchronous.
   *
   * @default {undefined (recordings stay in memory)}
   */
  readonly store?: CassetteStore | AsyncCassetteStore | undefined;
  /**
   * `"buffered"`: collect the whole live response, record and save it, then
   * deliver it. `"streaming"`: deliver chunks as the live responder produces
   * them, and record and save the response once it has completed; a response
   * that fails or is abandoned early is not recorded (ADR 0012). When
   * streaming into a store with `offload()` (a file or journal store with a
   * `blobThreshold`), each big chunk is redacted and written to its blob file
   * as soon as the consumer has it (up to two such writes at once), so the
   * recording does not hold the body in memory (ADR 0041).
   *
   * @default {"buffered"}
   */
  readonly recording?: "buffered" | "streaming" | undefined;
  /**
   * How fast replayed chunks are handed out: `"none"`, `"recorded"` (the
   * gaps stored as `offset_ms` when recording) or `{ scale }`. Recordings made
   * now are delivered as the live responder produces them.
   *
   * @default {"none"}
   */
  readonly timing?: Timing | undefined;
  /**
   * How to wait for `timing`; a test can pass a fake clock.
   *
   * @default {(ms) => new Promise((resolve) => setTimeout(resolve, ms))}
   */
  readonly sleep?: Sleep | undefined;
}

type Outcome =
  | { readonly kind: "recorded"; readonly chunks: readonly ResponseChunk[] }
  | { readonly kind: "failed"; readonly error: unknown }
  | { readonly kind: "abandoned" };

type Settle = (outcome: Outcome) => void;

/** A prepared request, or one whose matched form waits for its body (ADR 0053). */
interface Arriving {
  readonly live: InteractionRequest;
  readonly matched: InteractionRequest | Promise<InteractionRequest>;
}

const ignore = (): void => {};

/** How many blob writes a streamed recording runs at once (ADR 0041). */
const OFFLOADS_AT_ONCE = 2;

/**
 * Creates an asynchronous broker: `createBroker()` for code that awaits.
 * `replay()` returns an async iterator for `for await`; the live responder
 * may be asynchronous and the store may be synchronous or asynchronous.
 *
 * Semantics match `createBroker()` (modes, buffered recording by default, a
 * failed save leaves the cassette unchanged, zero-chunk responses), plus:
 * - concurrent replays of the same missing request in `auto` mode record it
 *   once: the first one asks the live responder, the others wait for its
 *   recording and replay it (or share its error) (ADR 0018);
 * - recordings are saved one at a time, in the order they complete;
 * - with `recording: "streaming"` chunks reach the consumer as they arrive,
 *   and only a complete response is recorded (ADR 0012).
 *
 * @param options The cassette, mode, live responder, store and recording style.
 * @returns The broker.
 * @throws {LiveResponderRequiredError} When `mode` is `"record"` or `"auto"`
 * and there is no `liveResponder`.
 * @throws {RangeError} When `mode` or `recording` has an unknown value.
 * @throws {TypeError} When `liveResponder` is not a function or `store` lacks
 * `load()`/`save()`.
 * @throws {InteractionValidationError} When `cassette` is not a cassette.
 *
 * @example Concurrent misses reach the live service once
 * ```ts
 * import { createAsyncBroker, createCassette, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * let calls = 0;
 * const broker = createAsyncBroker({
 *   cassette: createCassette(),
 *   mode: "auto",
 *   liveResponder: async (request) => {
 *     calls++;
 *     await new Promise((resolve) => setTimeout(resolve, 1));
 *     return [`answer to ${request.target}`];
 *   },
 * });
 * const request = createRequest({ protocol: "http", action: "GET", target: "/slow" });
 * const collect = async () => {
 *   const chunks = [];
 *   for await (const chunk of broker.replay(request)) chunks.push(chunk);
 *   return chunks;
 * };
 * const [first, second] = await Promise.all([collect(), collect()]);
 * assert.equal(calls, 1);
 * assert.deepEqual(first, second);
 * ```
 *
 * @example Streaming: chunks arrive before the response is complete
 * ```ts
 * import { createAsyncBroker, createCassette, createRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const events: string[] = [];
 * const broker = createAsyncBroker({
 *   cassette: createCassette(),
 *   mode: "record",
 *   recording: "streaming",
 *   liveResponder: async function* () {
 *     yield "token 1";
 *     events.push("live produced token 2");
 *     yield "token 2";
 *   },
 * });
 * const request = createRequest({ protocol: "llm", action: "complete", target: "model-x" });
 * for await (const chunk of broker.replay(request)) {
 *   events.push(`consumer got ${new TextDecoder().decode(chunk.data)}`);
 * }
 * assert.deepEqual(events, ["consumer got token 1", "live produced token 2", "consumer got token 2"]);
 * assert.equal(broker.cassette.interactions.length, 1);
 * ```
 */
export function createAsyncBroker(options: CreateAsyncBrokerOptions): AsyncBroker {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("Cannot create broker: expected an options object with a cassette");
  }
  const mode = checkModeOptions(options.mode, options.liveResponder, "create broker");
  const liveResponder = options.liveResponder;
  if (mode !== "replay" && liveResponder === undefined) {
    throw new LiveResponderRequiredError(mode);
  }
  const recording = options.recording ?? "buffered";
  if (recording !== "buffered" && recording !== "streaming") {
    throw new RangeError(
      `Cannot create broker: recording must be "buffered" or "streaming", got ${
        describe(options.recording)
      }`,
    );
  }
  const store = options.store;
  if (store !== undefined) checkStore(store, "create broker");
  let current = checkCassette(options.cassette);
  const session = createSession(options, "create broker");
  const timed = timedChunks(options.timing, options.sleep, "create broker");
  // Saves run one after another, so each appends to the cassette the
  // previous one produced and a failed save can simply be left out.
  let saving: Promise<void> = Promise.resolve();
  const pending = new Map<string, Promise<Outcome>>();

  // Saves run one after another, each from the cassette the previous one left.
  function enqueue(change: (cassette: Cassette) => Cassette, replace: boolean): Promise<void> {
    const run = saving.then(async () => {
      const next = change(current);
      if (store !== undefined) {
        try {
          await store.save(next, replace ? { replace } : undefined);
        } catch (error) {
          throw asSaveError(store, error);
        }
      }
      current = next;
    });
    saving = run.then(ignore, ignore);
    return run;
  }

  async function openLive(
    request: InteractionRequest,
  ): Promise<Iterable<unknown> | AsyncIterable<unknown>> {
    const response: unknown = await liveResponder!(request);
    checkLiveResponse(response, true);
    return response as Iterable<unknown> | AsyncIterable<unknown>;
  }

  async function commit(
    matched: InteractionRequest | Promise<InteractionRequest>,
    chunks: readonly ResponseChunk[],
    start: number,
  ): Promise<void> {
    // A request whose body was still arriving is matched once it is in.
    const request = await matched;
    const interaction = session.use(session.finish(recordedInteraction(request, chunks), start));
    return enqueue((cassette) => appendInteraction(cassette, interaction), false);
  }

  async function* recordBuffered(
    request: Arriving,
    settle: Settle,
  ): AsyncGenerator<ResponseChunk, void, undefined> {
    const chunks: ResponseChunk[] = [];
    try {
      const start = session.now();
      const response = await openLive(request.live);
      for await (const item of response) {
        chunks.push(session.stamp(liveChunk(item, chunks.length), start));
      }
      await commit(request.matched, chunks, start);
    } catch (error) {
      settle({ kind: "failed", error });
      throw error;
    }
    settle({ kind: "recorded", chunks });
    // The caller gets the live chunks, not the redacted copy that was stored.
    yield* chunks;
  }

  async function* recordStreaming(
    request: Arriving,
    settle: Settle,
  ): AsyncGenerator<ResponseChunk, void, undefined> {
    let settled = false;
    const writes = offload === undefined ? undefined : offloads();
    try {
      const start = session.now();
      const response = await openLive(request.live);
      const chunks: ResponseChunk[] = [];
      for await (const item of response) {
        const chunk = session.stamp(liveChunk(item, chunks.length), start);
        chunks.push(chunk);
        yield chunk;
        // Once the consumer has it, a big chunk can leave memory: redacted,
        // its bytes go to the store's blob file (ADR 0041), while the next
        // chunks arrive.
        if (writes !== undefined) await writes.start(chunks, chunks.length - 1);
      }
      await writes?.drain();
      await commit(request.matched, chunks, start);
      settled = true;
      settle({ kind: "recorded", chunks });
    } catch (error) {
      settled = true;
      settle({ kind: "failed", error });
      throw error;
    } finally {
      // No blob write outlives the recording, even an abandoned or failed one.
      await writes?.settled();
      // Reached without settling only when the consumer stopped early: the
      // response is incomplete, so nothing is recorded.
      if (!settled) settle({ kind: "abandoned" });
    }
  }

  // The blob writes of one streamed recording: up to OFFLOADS_AT_ONCE run
  // while the next chunks arrive (a write waits mostly on the disk's fsync),
  // so at most that many big chunks are held beyond the one being delivered.
  function offloads() {
    const running: Promise<void>[] = [];
    let failed: { readonly error: unknown } | undefined;
    const check = (): void => {
      if (failed !== undefined) throw failed.error;
    };
    return {
      /** Starts writing `chunks[at]`, replacing it by its blob chunk once written. */
      async start(chunks: ResponseChunk[], at: number): Promise<void> {
        check();
        const write = keep(chunks[at]!).then(
          (kept) => void (chunks[at] = kept),
          (error: unknown) => void (failed ??= { error }),
        );
        running.push(write);
        if (running.length >= OFFLOADS_AT_ONCE) await running.shift();
        check();
      },
      /** Waits for every write; throws the first failure. */
      async drain(): Promise<void> {
        await Promise.all(running.splice(0));
        check();
      },
      /** Waits for every write, failed or not. */
      async settled(): Promise<void> {
        await Promise.all(running.splice(0));
      },
    };
  }

  const offload = typeof store?.offload === "function"
    ? store.offload.bind(store) as (chunk: ResponseChunk) => ResponseChunk | Promise<ResponseChunk>
    : undefined;

  async function keep(chunk: ResponseChunk): Promise<ResponseChunk> {
    const redacted = session.redactChunk(chunk);
    if (redacted === undefined) return chunk;
    try {
      return session.redacted(await offload!(redacted));
    } catch (error) {
      throw asSaveError(store, error);
    }
  }

  const recordOnce = recording === "streaming" ? recordStreaming : recordBuffered;

  // A miss in auto mode: record it once even when several replays of the same
  // request (and occurrence) are in flight (ADR 0018); the others share it.
  async function* recordAuto(
    request: Prepared,
    occurrence: number,
  ): AsyncGenerator<ResponseChunk, void, undefined> {
    const key = `${fingerprint(request.matched)}#${occurrence}`;
    for (let first = true;; first = false) {
      // After an abandoned recording, another replay may have recorded it
      // meanwhile; look again without advancing the playback counters.
      const hit = first ? undefined : match(current, request.matched, { occurrence });
      if (hit !== undefined) {
        yield* timed(playback(session.use(hit)));
        return;
      }
      const inFlight = pending.get(key);
      if (inFlight !== undefined) {
        const outcome = await inFlight;
        if (outcome.kind === "failed") throw outcome.error;
        if (outcome.kind === "recorded") {
          // Offloaded chunks are read back from their blobs, one at a time.
          yield* untimed(outcome.chunks.values());
          return;
        }
        // The recorder's consumer stopped early; try again, maybe as recorder.
        continue;
      }
      let resolve!: Settle;
      const outcome = new Promise<Outcome>((settle) => (resolve = settle));
      pending.set(key, outcome);
      const settle: Settle = (result) => {
        if (pending.get(key) === outcome) pending.delete(key);
        resolve(result);
      };
      yield* recordOnce(request, settle);
      return;
    }
  }

  const broker: AsyncBroker = Object.freeze({
    get mode(): BrokerMode {
      return mode;
    },
    get cassette(): Cassette {
      return current;
    },
    replay(request: InteractionRequest): AsyncIterableIterator<ResponseChunk> {
      const prepared = session.prepare(request);
      const choice = session.choose(current, prepared, mode);
      if (choice.kind === "hit") return timed(playback(session.use(choice.interaction)));
      if (mode === "replay") throw session.notFound(prepared.matched, choice);
      if (mode === "record") return recordOnce(prepared, ignore);
      return recordAuto(prepared, choice.occurrence);
    },
    unused(): readonly Interaction[] {
      return session.unused(current);
    },
    pruneUnused(): Promise<void> {
      return enqueue((cassette) => sealCassette(session.pruned(cassette)), true);
    },
  });
  // Its adapters offer every request header, for the recordings' header names (ADR 0025).
  if (options.headerSchema === true) wantOfferedHeaders(broker);
  // Recording everything, it needs no fingerprint before going live, so a
  // server may start the live call while a big body still arrives (ADR 0053).
  if (mode === "record" && isBodyStreaming(liveResponder)) {
    recordsArriving(broker, (live, complete) => {
      const matched = complete.then((request) => session.prepare(request).matched);
      // A recording that fails first never awaits it: it must not go unhandled.
      matched.then(ignore, ignore);
      return recordOnce({ live: toRequest(live, "request"), matched }, ignore);
    });
  }
  return broker;
}
