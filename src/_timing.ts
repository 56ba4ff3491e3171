// Recorded timing: each chunk's arrival offset, in milliseconds since the
// request started, kept in the chunk's metadata.
import type { ResponseChunk } from "./types.ts";

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
