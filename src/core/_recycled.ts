// Byte buffers that their last holder has finished with, filled again by a
// later blob read of the same size (ADR 0055). A server replaying a big
// response from blob files reads it chunk by chunk; in fresh buffers, each
// one written to the socket is left to the collector, and on Node 24 that
// let the server grow by more than a plain file server does for the same
// bytes. Only a playback whose consumer alone sees its chunks reads into
// borrowed buffers (`lendReads()`), and a buffer comes back only from that
// consumer, once it holds the last reference (the node:http writer, once the
// socket has taken it): nobody ever sees bytes change under them.

/** Buffers above this size are never kept: a huge blob chunk is rare, and holding it would cost more than it saves. */
const MAX_KEPT = 4 * 1024 * 1024;
/** At most this many bytes wait for reuse at any time. */
const MAX_WAITING = 8 * 1024 * 1024;

// Buffers handed out that may come back: each at most once, as `giveBack()`
// removes it before keeping it (a buffer given back twice must not be
// handed to two readers).
const lent = new WeakSet<Uint8Array>();
const waiting = new Map<number, Uint8Array<ArrayBuffer>[]>();
let waitingBytes = 0;

/**
 * A buffer of `size` bytes for a read to fill completely: one given back
 * earlier when there is one, else a new one. Its old bytes are not cleared.
 */
export function borrowBytes(size: number): Uint8Array<ArrayBuffer> {
  const list = waiting.get(size);
  const kept = list?.pop();
  if (kept !== undefined) {
    if (list!.length === 0) waiting.delete(size);
    waitingBytes -= size;
    lent.add(kept);
    return kept;
  }
  const fresh = new Uint8Array(size);
  if (size > 0 && size <= MAX_KEPT) lent.add(fresh);
  return fresh;
}

/**
 * Gives `bytes` back for reuse, if `borrowBytes()` made it and there is
 * room. Only for code that holds its last reference: whatever else refers
 * to it would see the next read's bytes.
 */
export function giveBack(bytes: Uint8Array): void {
  if (!lent.has(bytes)) return;
  lent.delete(bytes);
  if (waitingBytes + bytes.length > MAX_WAITING) return;
  const list = waiting.get(bytes.length);
  if (list === undefined) waiting.set(bytes.length, [bytes as Uint8Array<ArrayBuffer>]);
  else list.push(bytes as Uint8Array<ArrayBuffer>);
  waitingBytes += bytes.length;
}

/** Whether a playback's blob reads fill borrowed buffers: set by its one consumer. */
export interface Reads {
  lend: boolean;
}

// Kept on the iterator itself under a symbol of this module: a `WeakMap`
// entry per replay cost about 0.5 µs, a property nothing.
const READS = Symbol("reads");

/** Gives a playback iterator the switch that `lendReads()` turns on. */
export function withReads<T extends object>(iterator: T, reads: Reads): T {
  (iterator as { [READS]?: Reads })[READS] = reads;
  return iterator;
}

/**
 * Lets the blob chunks that `iterator` reads from now on fill borrowed
 * buffers, if it is a library playback (anything else is left as it is).
 * Only for a consumer that alone sees its chunks and gives each buffer back
 * once done with it.
 */
export function lendReads(iterator: unknown): void {
  const reads = typeof iterator === "object" && iterator !== null
    ? (iterator as { [READS]?: Reads })[READS]
    : undefined;
  if (reads !== undefined) reads.lend = true;
}
