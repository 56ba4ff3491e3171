// What a broker remembers during one session and applies to every request
// (issue 4): normalisation and redaction before matching, sequential
// playback counters, recorded_at and maxAge, and which interactions were used.
import { EMPTY_BYTES } from "../core/_bytes.ts";
import { describe } from "../core/_check.ts";
import { CODE_NAMING, sealChunk, sealInteraction, toRequest, withHead } from "../core/_model.ts";
import { offeredHeaders } from "./_offered_headers.ts";
import { formatOffset, OFFSET_KEY } from "../core/_timing.ts";
import { createRedactor, type Redactor } from "../matching/create_redactor.ts";
import { InteractionNotFoundError, StaleRecordingError } from "../core/errors.ts";
import { fingerprint } from "../core/fingerprint.ts";
import type {
  Cassette,
  Interaction,
  InteractionRequest,
  Normalizer,
  ResponseChunk,
} from "../core/types.ts";

/** Options every broker takes for matching, redaction, playback and hygiene. */
export interface BrokerSessionOptions {
  /**
   * Applied to every request before matching and recording; the cassette
   * stores the normalised request (ADR 0020).
   *
   * @default {undefined}
   */
  readonly normalize?: Normalizer | undefined;
  /**
   * Redaction applied after `normalize`, to what is matched and to what is
   * stored (ADR 0021). `false` turns it off.
   *
   * @default {createRedactor()} (the default secret names, fields and token formats)
   */
  readonly redact?: Redactor | false | undefined;
  /**
   * `"first"`: every identical request gets the first recorded interaction
   * (the ancestor's rule). `"sequential"`: the n-th identical request in this
   * session gets the n-th recorded one, and in `auto`/`record` mode new
   * occurrences are recorded instead of collapsing onto the first (ADR 0023).
   *
   * @default {"first"}
   */
  readonly playback?: "first" | "sequential" | undefined;
  /**
   * With sequential playback in `replay` mode, what a request gets after its
   * last recorded occurrence: `"error"` (`InteractionNotFoundError`) or
   * `"repeat"` (the last one again).
   *
   * @default {"error"}
   */
  readonly afterLast?: "error" | "repeat" | undefined;
  /**
   * Header-schema matching, the rule of interposition-http-adapter (ADR
   * 0025): each recording with the request's protocol, action and target is
   * tried with the header names that recording holds, the values taken from
   * the live request; the first recording that matches wins. A cassette
   * whose recordings hold `content-type` (or any other header) then replays
   * without listing the header in `matchHeaders`. The HTTP adapters
   * (`createReplayFetch()`, the server) offer every request header for this,
   * kept beside the request and never stored; a request built by hand offers
   * its own headers. Without a candidate, the request is matched as it is.
   *
   * @default {false}
   */
  readonly headerSchema?: boolean | undefined;
  /**
   * Maximum age of a recording in milliseconds, judged by its `recorded_at`
   * metadata (recordings without it are never too old).
   *
   * @default {undefined} (no limit)
   */
  readonly maxAge?: number | undefined;
  /**
   * What to do with a recording older than `maxAge`: `"warn"` (replay it and
   * call `warn`), `"fail"` (throw `StaleRecordingError`), or `"rerecord"` (in
   * `auto` mode, record it again; the fresh recording is replayed from then
   * on; elsewhere it warns).
   *
   * @default {"warn"}
   */
  readonly onStale?: "warn" | "fail" | "rerecord" | undefined;
  /**
   * Receives warnings (stale recordings).
   *
   * @default {console.warn}
   */
  readonly warn?: ((message: string) => void) | undefined;
  /**
   * The clock, in milliseconds since the epoch, for `recorded_at`, `maxAge`
   * and the `offset_ms` of recorded chunks.
   *
   * @default {() => performance.timeOrigin + performance.now()}
   */
  readonly now?: (() => number) | undefined;
}

/** The miss of `key`'s `occurrence`, with `positions` recorded. */
function missOf(key: string, occurrence: number, positions: readonly number[]): Choice {
  return { kind: "miss", key, occurrence, recorded: positions.length };
}

/** What a lookup found: an interaction to replay, or a miss to record or report. */
export type Choice =
  | { readonly kind: "hit"; readonly interaction: Interaction }
  | {
    readonly kind: "miss";
    readonly key: string;
    readonly occurrence: number;
    readonly recorded: number;
  };

/**
 * A request as the caller made it (validated; what a live responder gets)
 * and as it is matched and recorded (normalised, then redacted).
 */
export interface Prepared {
  readonly live: InteractionRequest;
  readonly matched: InteractionRequest;
}

/** The per-broker state behind `BrokerSessionOptions`. */
export interface Session {
  /** The request as the caller made it and as it is matched and recorded. */
  prepare(request: InteractionRequest): Prepared;
  /**
   * Picks the interaction for a prepared request (matched; with
   * `headerSchema`, also valued from the live one's offered headers),
   * advancing sequential counters.
   */
  choose(
    cassette: Cassette,
    prepared: Prepared,
    mode: "replay" | "record" | "auto",
  ): Choice;
  /** The error for a miss in replay mode. */
  notFound(request: InteractionRequest, miss: Choice & { kind: "miss" }): InteractionNotFoundError;
  /** Stamps chunk arrival offsets relative to `start`. */
  stamp(chunk: ResponseChunk, start: number): ResponseChunk;
  /**
   * A recorded chunk redacted as it will be stored, or `undefined` when the
   * redactor cannot redact one chunk at a time (then it must stay in memory).
   */
  redactChunk(chunk: ResponseChunk): ResponseChunk | undefined;
  /**
   * Marks a chunk that holds what `redactChunk` returned (the same chunk,
   * or the store's blob chunk of its bytes): `finish` keeps it as it is
   * instead of reading its bytes back to redact them again.
   */
  redacted(chunk: ResponseChunk): ResponseChunk;
  /** The interaction to store for a recording started at `start`: `recorded_at` added, then redacted. */
  finish(interaction: Interaction, start: number): Interaction;
  /** Marks an interaction as used in this session. */
  use(interaction: Interaction): Interaction;
  /** The interactions of `cassette` not used in this session. */
  unused(cassette: Cassette): readonly Interaction[];
  /** `cassette` without the interactions not used in this session. */
  pruned(cassette: Cassette): readonly Interaction[];
  /** The clock. */
  now(): number;
}

const RECORDED_AT = "recorded_at";

function defaultNow(): number {
  return performance.timeOrigin + performance.now();
}

/** Where the recordings of one protocol, action and target are, per cassette value. */
const targetIndexes = new WeakMap<Cassette, Map<string, number[]>>();

function targetKey(request: InteractionRequest): string {
  return JSON.stringify([request.protocol, request.action, request.target]);
}

/** The positions of the recordings of each protocol, action and target. */
function sameTarget(cassette: Cassette): Map<string, number[]> {
  let index = targetIndexes.get(cassette);
  if (index === undefined) {
    index = new Map();
    cassette.interactions.forEach(({ request }, position) => {
      const key = targetKey(request);
      const list = index!.get(key);
      if (list === undefined) index!.set(key, [position]);
      else list.push(position);
    });
    targetIndexes.set(cassette, index);
  }
  return index;
}

/** Validates the options and builds the session. */
export function createSession(options: BrokerSessionOptions, action: string): Session {
  const { normalize, maxAge } = options;
  if (normalize !== undefined && typeof normalize !== "function") {
    throw new TypeError(
      `Cannot ${action}: normalize must be a function, got ${describe(normalize)}`,
    );
  }
  const redact = options.redact;
  if (
    redact !== undefined && redact !== false &&
    (typeof redact !== "object" || redact === null || typeof redact.request !== "function" ||
      typeof redact.interaction !== "function")
  ) {
    throw new TypeError(
      `Cannot ${action}: redact must be a redactor from createRedactor() or false, got ${
        describe(redact)
      }`,
    );
  }
  const playback = options.playback ?? "first";
  if (playback !== "first" && playback !== "sequential") {
    throw new RangeError(
      `Cannot ${action}: playback must be "first" or "sequential", got ${describe(playback)}`,
    );
  }
  const afterLast = options.afterLast ?? "error";
  if (afterLast !== "error" && afterLast !== "repeat") {
    throw new RangeError(
      `Cannot ${action}: afterLast must be "error" or "repeat", got ${describe(afterLast)}`,
    );
  }
  if (
    maxAge !== undefined && !(typeof maxAge === "number" && maxAge >= 0 && !Number.isNaN(maxAge))
  ) {
    throw new RangeError(
      `Cannot ${action}: maxAge must be a number of milliseconds >= 0, got ${describe(maxAge)}`,
    );
  }
  const onStale = options.onStale ?? "warn";
  if (onStale !== "warn" && onStale !== "fail" && onStale !== "rerecord") {
    throw new RangeError(
      `Cannot ${action}: onStale must be "warn", "fail" or "rerecord", got ${describe(onStale)}`,
    );
  }
  if (onStale === "rerecord" && playback === "sequential") {
    throw new RangeError(
      `Cannot ${action}: onStale "rerecord" needs playback "first" (a re-recording is appended, which would shift sequential occurrences)`,
    );
  }
  const headerSchema = options.headerSchema ?? false;
  if (typeof headerSchema !== "boolean") {
    throw new TypeError(
      `Cannot ${action}: headerSchema must be a boolean, got ${describe(headerSchema)}`,
    );
  }
  const warn = options.warn ?? ((message: string) => console.warn(message));
  const now = options.now ?? defaultNow;
  const redactor = redact === false ? undefined : redact ?? createRedactor();
  const counters = new Map<string, number>();
  const used = new WeakSet<Interaction>();
  const final = new WeakSet<ResponseChunk>();

  const ageOf = (interaction: Interaction): number | undefined => {
    const stamp = interaction.metadata.find(([key]) => key === RECORDED_AT)?.[1];
    const time = stamp === undefined ? Number.NaN : Date.parse(stamp);
    return Number.isNaN(time) ? undefined : now() - time;
  };
  const isStale = (interaction: Interaction): boolean => {
    if (maxAge === undefined) return false;
    const age = ageOf(interaction);
    return age !== undefined && age > maxAge;
  };
  const staleHit = (interaction: Interaction): void => {
    const age = ageOf(interaction)!;
    const { protocol, action: verb, target } = interaction.request;
    if (onStale === "fail") throw new StaleRecordingError(interaction, age, maxAge!);
    warn(
      `@x/replay: the recording of ${protocol}:${verb}:${target} is ${
        Math.round(age)
      } ms old, more than maxAge ${maxAge} ms`,
    );
  };

  // The choice for a request whose fingerprint is `key`, advancing the
  // sequential counter of that fingerprint.
  const chooseKey = (
    cassette: Cassette,
    key: string,
    mode: "replay" | "record" | "auto",
  ): Choice => {
    const positions = cassette.index.get(key) ?? [];
    let occurrence = 0;
    if (playback === "sequential") {
      occurrence = counters.get(key) ?? 0;
      counters.set(key, occurrence + 1);
    }
    // Built only on a miss: a replay that hits needs none.
    if (mode === "record") return missOf(key, occurrence, positions);
    let position = positions[occurrence];
    if (
      position === undefined && playback === "sequential" && mode === "replay" &&
      afterLast === "repeat"
    ) {
      position = positions.at(-1);
    }
    if (position === undefined) return missOf(key, occurrence, positions);
    let interaction = cassette.interactions[position]!;
    if (isStale(interaction)) {
      if (onStale === "rerecord" && mode === "auto") {
        const fresh = positions.map((at) => cassette.interactions[at]!).find((candidate) =>
          !isStale(candidate)
        );
        if (fresh === undefined) return missOf(key, occurrence, positions);
        interaction = fresh;
      } else {
        staleHit(interaction);
      }
    }
    return { kind: "hit", interaction };
  };

  // Header-schema matching (ADR 0025): the live request's offered headers
  // fill in the names each recording holds.
  const chooseBySchema = (
    cassette: Cassette,
    { live, matched: request }: Prepared,
    mode: "replay" | "record" | "auto",
  ): Choice => {
    if (mode !== "record") {
      const candidates = schemaCandidates(cassette, request, live);
      for (const key of candidates) {
        const positions = cassette.index.get(key);
        if (positions === undefined) continue;
        if (playback === "sequential" && positions[counters.get(key) ?? 0] === undefined) continue;
        const choice = chooseKey(cassette, key, mode);
        // A miss here is a stale recording to re-record: another may still match.
        if (choice.kind === "hit") return choice;
      }
      if (playback === "sequential" && mode === "replay" && afterLast === "repeat") {
        for (const key of candidates) {
          if (cassette.index.has(key)) return chooseKey(cassette, key, mode);
        }
      }
    }
    return chooseKey(cassette, fingerprint(request), mode);
  };

  // The fingerprints of a request's candidates: for every
  // recording with the same protocol, action and target (in cassette order,
  // one per distinct list of header names), the live request with exactly
  // those header names, valued from the offered headers, then normalised and
  // redacted as the request itself was. A recording naming a header the
  // live request lacks gives none.
  const schemaCandidates = (
    cassette: Cassette,
    request: InteractionRequest,
    live: InteractionRequest,
  ): string[] => {
    const positions = sameTarget(cassette).get(targetKey(request));
    if (positions === undefined) return [];
    const schemas = new Set<string>();
    const keys = new Set<string>();
    let values: Map<string, string> | undefined;
    for (const position of positions) {
      const recorded = cassette.interactions[position]!.request.headers;
      const schema = JSON.stringify(recorded.map(([name]) => name));
      if (schemas.has(schema)) continue;
      schemas.add(schema);
      if (values === undefined) {
        values = new Map();
        for (const [name, value] of offeredHeaders(live)) {
          const lower = name.toLowerCase();
          if (!values.has(lower)) values.set(lower, value);
        }
      }
      const headers: (readonly [string, string])[] = [];
      for (const [name] of recorded) {
        const value = values.get(name.toLowerCase());
        if (value === undefined) break;
        headers.push(Object.freeze([name, value] as const));
      }
      if (headers.length !== recorded.length) continue;
      const candidate = matchedOf(
        withHead(live, live.protocol, live.action, live.target, Object.freeze(headers)),
      );
      keys.add(fingerprint(candidate));
    }
    return [...keys];
  };

  // A live request as it is matched and recorded: normalised, then redacted.
  const matchedOf = (live: InteractionRequest): InteractionRequest => {
    const normalized = normalize === undefined
      ? live
      : toRequest(normalize(live), "normalized request");
    return redactor === undefined ? normalized : redactor.request(normalized);
  };

  return {
    prepare(request) {
      const live = toRequest(request, "request");
      return { live, matched: matchedOf(live) };
    },
    choose: headerSchema
      ? chooseBySchema
      : (cassette, { matched }, mode) => chooseKey(cassette, fingerprint(matched), mode),
    notFound(request, miss) {
      return new InteractionNotFoundError(request, miss.key, {
        occurrence: miss.occurrence,
        recorded: miss.recorded,
      });
    },
    stamp(chunk, start) {
      return sealChunk(
        chunk.data,
        chunk.sequence,
        Object.freeze([
          ...chunk.metadata,
          Object.freeze([OFFSET_KEY, formatOffset(now() - start)] as const),
        ]),
      );
    },
    redactChunk(chunk) {
      if (redactor === undefined) return chunk;
      return redactor.chunk === undefined ? undefined : redactor.chunk(chunk);
    },
    redacted(chunk) {
      final.add(chunk);
      return chunk;
    },
    finish(interaction, start) {
      const chunks = interaction.responseChunks;
      const kept = redactor !== undefined && chunks.some((chunk) => final.has(chunk));
      const stamped = sealInteraction(
        interaction.request,
        // A chunk already redacted (and perhaps in a blob file, ADR 0041)
        // goes to the redactor as an empty stand-in with its sequence and
        // metadata, so its bytes are not read back; it returns below.
        kept
          ? chunks.map((chunk) =>
            final.has(chunk) ? sealChunk(EMPTY_BYTES, chunk.sequence, chunk.metadata) : chunk
          )
          : chunks,
        Object.freeze([
          ...interaction.metadata,
          Object.freeze([RECORDED_AT, new Date(start).toISOString()] as const),
        ]),
        undefined,
        "",
        CODE_NAMING,
      );
      if (redactor === undefined) return stamped;
      const redacted = redactor.interaction(stamped);
      if (!kept) return redacted;
      return sealInteraction(
        redacted.request,
        redacted.responseChunks.map((chunk, at) => final.has(chunks[at]!) ? chunks[at]! : chunk),
        redacted.metadata,
        redacted.fingerprint,
        "",
        CODE_NAMING,
      );
    },
    use(interaction) {
      used.add(interaction);
      return interaction;
    },
    unused(cassette) {
      return Object.freeze(cassette.interactions.filter((interaction) => !used.has(interaction)));
    },
    pruned(cassette) {
      return Object.freeze(cassette.interactions.filter((interaction) => used.has(interaction)));
    },
    now,
  };
}
