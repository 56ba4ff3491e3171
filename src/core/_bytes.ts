// Byte helpers shared by the constructors, the fingerprint and the cassette codec.
import { Buffer } from "node:buffer";

const encoder = new TextEncoder();
// ignoreBOM keeps a leading U+FEFF as data instead of silently dropping it.
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * One empty, frozen byte array for every value without bytes (a request with
 * no body, an empty chunk): there is nothing in it to change or to own.
 */
export const EMPTY_BYTES: Uint8Array<ArrayBuffer> = Object.freeze(new Uint8Array(0));

/** UTF-8 bytes of a well-formed string, in a fresh buffer. */
export function encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
  return encoder.encode(text) as Uint8Array<ArrayBuffer>;
}

/** The text the bytes encode, or `undefined` when they are not valid UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

// Uint8Array.prototype.toHex is native where it exists (Deno, Bun, newer
// Node); Deno's Buffer hex encoder is JavaScript and far slower there.
const nativeHex = typeof (Uint8Array.prototype as { toHex?: unknown }).toHex === "function";

/** Lowercase hex of `bytes[start, end)`. */
export function toHex(bytes: Uint8Array, start: number, end: number): string {
  if (start === end) return "";
  if (nativeHex) {
    return (bytes.subarray(start, end) as Uint8Array & { toHex(): string }).toHex();
  }
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, end - start).toString("hex");
}

/** Standard, padded base64. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

// Exactly what toBase64 writes: the standard alphabet, padding to a multiple
// of 4, and no stray bits before the padding (the last character before "=="
// holds 2 bits of data, so its low 4 bits are zero: A, Q, g or w; before "="
// it holds 4, so its low 2 bits are zero).
const BASE64 =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;

/**
 * Whether the text is standard padded base64 exactly as `toBase64` writes it
 * (alphabet, padding, no stray bits), so one byte string has one spelling.
 */
export function isCanonicalBase64(text: string): boolean {
  return BASE64.test(text);
}

/** The bytes of text that `isCanonicalBase64()` accepts, in a fresh buffer. */
export function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const decoded = Buffer.from(text, "base64");
  const bytes = new Uint8Array(decoded.byteLength);
  bytes.set(decoded);
  return bytes;
}

/**
 * Decodes standard padded base64, or returns `undefined` when the text is not
 * exactly what `toBase64` writes (wrong alphabet, padding or stray bits).
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  return isCanonicalBase64(text) ? decodeBase64(text) : undefined;
}

/** The pieces joined into one fresh buffer of their own. */
export function joinBytes(pieces: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  let total = 0;
  for (const piece of pieces) total += piece.length;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
}
