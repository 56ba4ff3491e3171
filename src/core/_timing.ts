// Recorded timing: each chunk's arrival offset, in milliseconds since the
// request started, kept in the chunk's metadata.
import { describe } from "./_check.ts";
import { materializeAsync } from "./_model.ts";
import { type Reads, withReads } from "./_recycled.ts";
import type { ResponseChunk } from "./types.ts";

/**
 * How fast to hand out replayed chunks: `"none"` as fast as possible,
 * `"recorded"` with the gaps recorded between chunks (their `offset_ms`
 * metadata), or `{ scale }` with those gaps multiplied by `scale` (`0.5` is
 * twice as fast). Chunks without an offset are handed out at once.
 *
 * @example Usage
 * ```ts
 * import type { Timing } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const halfSpeed: Timing = { scale: 2 };
 * assert.equal(typeof halfSpeed, "object");
 * ```
 */
export type Timing = "none" | "recorded" | { readonly scale: number };

/** The chunk metadata key that holds the arrival offset. */
export const OFFSET_KEY = "offset_ms";

/** The offset as stored: milliseconds with at most three decimals. */
export function formatOffset(milliseconds: number): string {
  return String(Math.round(Math.max(0, milliseconds) * 1000) / 1000);
}

/** The recorded offset of a chunk, or `undefined` when it has none (or a bad one). */
export function offsetOf(chunk: ResponseChunk): number | undefined {
  for (const [key, value] of chunk.metadata) {
    if (key === OFFSET_KEY) {
      const offset = Number(value);
      return Number.isFinite(offset) && offset >= 0 && value.trim() !== "" ? offset : undefined;
    }
  }
  return undefined;
}

/**
 * How to wait, in milliseconds; a test passes a fake clock.
 *
 * @example A fake clock that records the waits
 * ```ts
 * import type { Sleep } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const waits: number[] = [];
 * const sleep: Sleep = (ms) => (waits.push(ms), Promise.resolve());
 * await sleep(5);
 * assert.deepEqual(waits, [5]);
 * ```
 */
export type Sleep = (milliseconds: number) => Promise<void>;

function defaultSleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

// JSON where it can be written (`{"scale":-1}`), a description where not (BigInt).
function shown(value: unknown): string {
  try {
    return JSON.stringify(value) ?? describe(value);
  } catch {
    return describe(value);
  }
}

function scaleOf(timing: unknown, action: string): number | undefined {
  if (timing === undefined || timing === "none") return undefined;
  if (timing === "recorded") return 1;
  const scale = (timing as { scale?: unknown } | null)?.scale;
  if (
    typeof timing === "object" && typeof scale === "number" && Number.isFinite(scale) && scale >= 0
  ) {
    return scale;
  }
  throw new RangeError(
    `Cannot ${action}: timing must be "none", "recorded" or { scale } with a finite scale >= 0, got ${
      shown(timing)
    }`,
  );
}

/**
 * Checks a timing option and returns the function that turns chunks into an
 * async iterator handing them out with the recorded gaps (or at once).
 */
export function timedChunks(
  timing: Timing | undefined,
  sleep: Sleep | undefined,
  action: string,
): (chunks: Iterator<ResponseChunk>) => AsyncIterableIterator<ResponseChunk> {
  const scale = scaleOf(timing, action);
  if (sleep !== undefined && typeof sleep !== "function") {
    throw new TypeError(`Cannot ${action}: sleep must be a function, got ${describe(sleep)}`);
  }
  if (scale === undefined) return untimed;
  return (chunks) => timed(chunks, scale, sleep ?? defaultSleep);
}

/**
 * Chunks as they are handed out asynchronously, with no delay: each blob
 * chunk (ADR 0041) read when reached, so one is in memory at a time.
 */
export function untimed(
  chunks: Iterator<ResponseChunk>,
): AsyncGenerator<ResponseChunk, void, undefined> {
  const reads: Reads = { lend: false };
  return withReads(untimedWith(chunks, reads), reads);
}

async function* untimedWith(
  chunks: Iterator<ResponseChunk>,
  reads: Reads,
): AsyncGenerator<ResponseChunk, void, undefined> {
  for (let step = chunks.next(); !step.done; step = chunks.next()) {
    yield due(step.value, reads.lend);
  }
}

// A chunk in memory as it is; a blob chunk read now (`yield` in an async
// generator waits for the promise, and throws its rejection there).
function due(chunk: ResponseChunk, lend: boolean): ResponseChunk | Promise<ResponseChunk> {
  return chunk.blob === undefined ? chunk : materializeAsync(chunk, lend);
}

function timed(
  chunks: Iterator<ResponseChunk>,
  scale: number,
  sleep: Sleep,
): AsyncGenerator<ResponseChunk, void, undefined> {
  const reads: Reads = { lend: false };
  return withReads(timedWith(chunks, scale, sleep, reads), reads);
}

async function* timedWith(
  chunks: Iterator<ResponseChunk>,
  scale: number,
  sleep: Sleep,
  reads: Reads,
): AsyncGenerator<ResponseChunk, void, undefined> {
  let previous = 0;
  for (let step = chunks.next(); !step.done; step = chunks.next()) {
    const offset = offsetOf(step.value);
    if (offset !== undefined) {
      const wait = Math.max(0, offset - previous) * scale;
      previous = offset;
      if (wait > 0) await sleep(wait);
    }
    // A blob is read when its chunk is due, not before: one chunk in memory.
    yield due(step.value, reads.lend);
  }
}
