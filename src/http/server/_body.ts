// Request bodies read with a limit: the server holds a body whole (it takes
// part in matching and is stored with the recording), so it holds no more
// than the limit, and says so with 413 rather than running out of memory.

/** The request body limit of `createHandler()` and `serve()`: 64 MiB. */
export const DEFAULT_BODY_LIMIT: number = 64 * 1024 * 1024;

/** The body, or `undefined` when it is larger than `limit` bytes (the stream is then cancelled). */
export async function readLimited(
  body: ReadableStream<Uint8Array> | null,
  declared: number | undefined,
  limit: number,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  if (body === null) return new Uint8Array(0);
  if (declared !== undefined && declared > limit) {
    await body.cancel().catch(() => undefined);
    return undefined;
  }
  const reader = body.getReader();
  // With a declared length the bytes go straight into one buffer of that size.
  let buffer = new Uint8Array(declared ?? 0);
  let filled = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (filled + value.length > limit) {
        await reader.cancel().catch(() => undefined);
        return undefined;
      }
      if (filled + value.length > buffer.length) {
        const grown = new Uint8Array(
          Math.min(limit, Math.max(filled + value.length, buffer.length * 2)),
        );
        grown.set(buffer.subarray(0, filled));
        buffer = grown;
      }
      buffer.set(value, filled);
      filled += value.length;
    }
  } finally {
    reader.releaseLock();
  }
  // A body of unknown length grew its buffer by doubling: the exact bytes
  // are copied out, so the request holds no spare room.
  return filled === buffer.length ? buffer : buffer.slice(0, filled);
}
