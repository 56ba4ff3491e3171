// How the server frames a body it replays or proxies (ADR 0036): whether the
// recorded content-length is sent, the header lines to write, and, while
// recording, holding the last piece back until the recording is saved.
import { chunkSize, sealChunk } from "../../core/_model.ts";
import { HEADER_PREFIX, type HeaderLine, recordedHeaderLines } from "../_mapping.ts";
import type { Cassette, Pairs, ResponseChunk } from "../../core/types.ts";

const LENGTH_KEY = `${HEADER_PREFIX}content-length`;
/** A `content-length` that two recordings with the same metadata object disagree on. */
const AMBIGUOUS = -1;
/**
 * A live body of at most this many bytes (by its content-length) is held
 * whole until its recording is saved, so a failed save is answered 500
 * before any of it is sent.
 */
const HOLD_WHOLE = 1024 * 1024;

/**
 * The total body size of each recorded response that has a content-length,
 * keyed by its chunk 0's metadata array. Replay hands out the cassette's own
 * chunks, or copies read from blob files that keep the metadata array, so
 * chunk 0 leads back to its recording and its size is known without reading
 * a byte. Built once per cassette value.
 */
const sizesByCassette = new WeakMap<Cassette, WeakMap<Pairs, number>>();

function recordedSizes(cassette: Cassette): WeakMap<Pairs, number> {
  let sizes = sizesByCassette.get(cassette);
  if (sizes !== undefined) return sizes;
  sizes = new WeakMap();
  for (const interaction of cassette.interactions) {
    const first = interaction.responseChunks[0];
    if (first === undefined || !first.metadata.some(([key]) => key === LENGTH_KEY)) continue;
    let total = 0;
    for (const chunk of interaction.responseChunks) total += chunkSize(chunk);
    const known = sizes.get(first.metadata);
    sizes.set(first.metadata, known === undefined || known === total ? total : AMBIGUOUS);
  }
  sizesByCassette.set(cassette, sizes);
  return sizes;
}

/** A `content-length` value as a number of bytes, when it is a plain number. */
export function lengthOf(value: string): number | undefined {
  const text = value.trim();
  return /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/** The one length the content-length pairs agree on, or `undefined`. */
function declaredLength(metadata: Pairs): number | undefined {
  let length: number | undefined;
  for (const [key, value] of metadata) {
    if (key !== LENGTH_KEY) continue;
    const found = lengthOf(value);
    if (found === undefined || (length !== undefined && length !== found)) return undefined;
    length = found;
  }
  return length;
}

/** What the server needs to know about the response it is about to send. */
export interface Framing {
  /**
   * The chunks, chunk 0 without a content-length that would not be true;
   * synchronous for a synchronous source, whose chunks are in memory.
   */
  readonly chunks: Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>;
  /** The header lines of chunk 0 as they will be sent, once it was read (undefined if invalid). */
  readonly lines: () => readonly HeaderLine[] | undefined;
}

/**
 * Frames the broker's answer (`cassette` is the broker's, to look replayed
 * chunks up in; `undefined` when every answer is live). A recorded
 * `content-length` is kept only when it is the body's true size: replayed,
 * when the recording's chunks add up to it (redaction or a hand edit may have
 * changed the body); live, always (the bytes are the upstream's).
 *
 * While recording, the client must not get a complete response whose
 * recording then fails to save. A live body with a kept length of at most
 * 1 MiB is held whole until the broker's iterator has ended (the recording
 * saved), so a failed save is still answered 500; of a longer one, the piece
 * that completes the length is held back until then, and a failed save cuts
 * the connection before it. Without a length the runtime frames the body in
 * chunks, and the last one is sent when the stream closes, also after the
 * save.
 */
export function frame(
  source: Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>,
  cassette: Cassette | undefined,
  live: boolean,
): Framing {
  let lines: readonly HeaderLine[] | undefined;

  function first(chunk: ResponseChunk): { chunk: ResponseChunk; length: number | undefined } {
    let length: number | undefined;
    if (chunk.metadata.some(([key]) => key === LENGTH_KEY)) {
      const declared = declaredLength(chunk.metadata);
      // In record mode every answer is live: there is nothing to look up.
      const size = cassette === undefined ? undefined : recordedSizes(cassette).get(chunk.metadata);
      if (declared !== undefined && (size === undefined ? live : size === declared)) {
        length = declared;
      } else {
        chunk = sealChunk(
          chunk.data,
          chunk.sequence,
          Object.freeze(chunk.metadata.filter(([key]) => key !== LENGTH_KEY)),
        );
      }
    }
    try {
      lines = recordedHeaderLines(chunk, false);
    } catch {
      // A bad recording: openResponse() reports it, with the same check.
    }
    return { chunk, length };
  }

  async function* chunks(): AsyncGenerator<ResponseChunk, void, undefined> {
    let finished = false;
    let pending: Promise<IteratorResult<ResponseChunk>> | undefined;
    // Asks for the next chunk while the current one is handed on: a blob is
    // read, or a recorded chunk written to its blob, while the client takes
    // the one before (one chunk ahead, no more).
    const ahead = (): Promise<IteratorResult<ResponseChunk>> => {
      const next = Promise.resolve(source.next());
      next.catch(() => undefined);
      return next;
    };
    const take = async (): Promise<IteratorResult<ResponseChunk>> => {
      const next = await (pending ?? ahead());
      pending = undefined;
      if (next.done) finished = true;
      return next;
    };
    try {
      let result = await take();
      if (result.done) return;
      const opened = first(result.value);
      let chunk = opened.chunk;
      // Only a live body is held back: a replay saves nothing.
      let remaining = live && opened.length !== undefined ? opened.length : undefined;
      if (remaining !== undefined && remaining <= HOLD_WHOLE) {
        const held = [chunk];
        let bytes = chunk.data.length;
        while (bytes <= HOLD_WHOLE) {
          result = await take();
          if (result.done) {
            yield* held;
            return;
          }
          held.push(result.value);
          bytes += result.value.data.length;
        }
        // More than its length said (not from real HTTP): stream on, unheld.
        chunk = held.pop()!;
        for (const piece of held) yield piece;
        remaining = undefined;
      }
      for (;;) {
        pending = ahead();
        if (remaining !== undefined) remaining -= chunk.data.length;
        if (remaining !== undefined && remaining <= 0) {
          // The length is complete: let the source end (and save) first.
          result = await take();
          yield chunk;
        } else {
          yield chunk;
          result = await take();
        }
        if (result.done) return;
        chunk = result.value;
      }
    } finally {
      if (!finished) {
        try {
          await pending;
          await source.return?.();
        } catch {
          // The source failed while closing; the client already has its answer.
        }
      }
    }
  }

  // A synchronous broker's chunks are in memory, and it records buffered
  // (saved before its first chunk): no look-ahead or holding is needed, and
  // openResponse() can still give a one-chunk answer a plain body.
  function* chunksSync(
    iterator: Iterator<ResponseChunk>,
  ): Generator<ResponseChunk, void, undefined> {
    let finished = false;
    try {
      const result = iterator.next();
      if (result.done) {
        finished = true;
        return;
      }
      yield first(result.value).chunk;
      for (let next = iterator.next(); !next.done; next = iterator.next()) yield next.value;
      finished = true;
    } finally {
      if (!finished) iterator.return?.();
    }
  }

  const sync = !(Symbol.asyncIterator in source) &&
    typeof (source as { then?: unknown }).then !== "function";
  return {
    chunks: sync ? chunksSync(source as Iterator<ResponseChunk>) : chunks(),
    lines: () => lines,
  };
}
