// The JSON text of a cassette as a sequence of pieces, for stores that write
// a file without holding its whole text: joined, the pieces are exactly
// `stringifyDocument(cassette, "json", dataOf)` (tests/large_save_test.ts
// holds them to it). A request body or chunk of `LARGE` bytes or more is written slice
// by slice from its bytes, so the text of a big body never exists as one
// string; everything else goes through `JSON.stringify` in batches.
import { toBase64 } from "../core/_bytes.ts";
import { bodySize, checkCassette, chunkSize, unreadText } from "../core/_model.ts";
import type { Cassette, CassetteFormat, Interaction, ResponseChunk } from "../core/types.ts";
import { type DataOf, encodeData, interactionDocument } from "./_document.ts";
import { stringifyDocument } from "./stringify_cassette.ts";

// Data of at least this many bytes is written in slices.
const LARGE = 256 * 1024;

// Bytes per slice: a multiple of 3, so the base64 of the slices joins up to
// the base64 of the whole.
const SLICE = 3 * 64 * 1024;

// A batch of small interactions goes through JSON.stringify as one document
// once its data reaches this many bytes, so a batch's text stays small too.
const BATCH_BYTES = 1024 * 1024;

const OPEN = '{\n  "interactions": [\n';
const CLOSE = "\n  ]\n}\n";

/**
 * `stringifyDocument()` as pieces of text, for a store that writes them to a
 * file one after another: a JSON cassette's big bodies are written slice by
 * slice, so its whole text is never held (YAML comes as one piece). Each
 * iteration makes the pieces afresh; joined, they are exactly the text
 * `stringifyDocument()` returns.
 */
export function documentPieces(
  cassette: Cassette,
  format: CassetteFormat,
  dataOf?: DataOf,
): Iterable<string> {
  if (format !== "json") return [stringifyDocument(cassette, format, dataOf)];
  checkCassette(cassette);
  return { [Symbol.iterator]: () => jsonPieces(cassette, dataOf) };
}

/** The cassette file text in pieces (see the file comment). */
function* jsonPieces(
  cassette: Cassette,
  dataOf: DataOf | undefined,
): Generator<string, void, undefined> {
  const interactions = cassette.interactions;
  if (interactions.length === 0) {
    yield '{\n  "interactions": []\n}\n';
    return;
  }
  yield OPEN;
  let batch: unknown[] = [];
  let batchBytes = 0;
  let first = true;
  const flush = (): string => {
    // The items of {"interactions": batch} stand at the same indentation as
    // in the whole document: cut away that document's own first and last lines.
    const text = JSON.stringify({ interactions: batch }, null, 2);
    batch = [];
    batchBytes = 0;
    const items = text.slice(OPEN.length, text.length - CLOSE.length + 1);
    const joined = first ? items : `,\n${items}`;
    first = false;
    return joined;
  };
  for (const interaction of interactions) {
    const size = largestData(interaction, dataOf);
    if (size < LARGE) {
      batch.push(interactionDocument(interaction, dataOf, encodeData));
      batchBytes += dataBytes(interaction, dataOf);
      if (batchBytes >= BATCH_BYTES) yield flush();
      continue;
    }
    if (batch.length > 0) yield flush();
    yield first ? "    " : ",\n    ";
    first = false;
    yield* pretty(
      interactionDocument(
        interaction,
        dataOf,
        (bytes) => bytes.length >= LARGE ? sliced(bytes) : encodeData(bytes),
      ),
      "    ",
    );
  }
  if (batch.length > 0) yield flush();
  yield CLOSE;
}

/** The size of the largest data the interaction writes inline. */
function largestData(interaction: Interaction, dataOf: DataOf | undefined): number {
  const request = interaction.request;
  let largest = dataOf?.(request) === undefined ? bodySize(request) : 0;
  for (const chunk of interaction.responseChunks) {
    if (dataOf?.(chunk) === undefined) largest = Math.max(largest, sizeHint(chunk));
  }
  return largest;
}

/** What the interaction's inline data adds up to, in bytes. */
function dataBytes(interaction: Interaction, dataOf: DataOf | undefined): number {
  const request = interaction.request;
  let total = dataOf?.(request) === undefined ? bodySize(request) : 0;
  for (const chunk of interaction.responseChunks) {
    if (dataOf?.(chunk) === undefined) total += sizeHint(chunk);
  }
  return total;
}

/**
 * About the size of a chunk's data, without reading a blob or making the
 * bytes of a chunk read as text (its length in characters then). It only
 * decides which way the chunk is written, and both ways write the same text.
 */
function sizeHint(chunk: ResponseChunk): number {
  return unreadText(chunk)?.length ?? chunkSize(chunk);
}

/** Data written slice by slice: a JSON string of UTF-8 text, or `{"base64": …}`. */
class Sliced {
  constructor(readonly bytes: Uint8Array, readonly text: boolean) {}

  *pieces(): Generator<string, void, undefined> {
    const bytes = this.bytes;
    if (this.text) {
      // The same decoder settings as decodeUtf8(): a slice boundary inside a
      // character is carried over, so each piece holds whole characters.
      const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
      yield '"';
      for (let start = 0; start < bytes.length; start += SLICE) {
        const text = decoder.decode(bytes.subarray(start, start + SLICE), { stream: true });
        yield JSON.stringify(text).slice(1, -1);
      }
      const rest = decoder.decode();
      if (rest !== "") yield JSON.stringify(rest).slice(1, -1);
      yield '"';
      return;
    }
    yield '"';
    for (let start = 0; start < bytes.length; start += SLICE) {
      yield toBase64(bytes.subarray(start, start + SLICE));
    }
    yield '"';
  }
}

/**
 * A text in slices of at most `size` code units that never end inside a
 * surrogate pair, so each slice is as well-formed as the text, and hashing
 * or escaping the slices one by one gives what the whole text would.
 */
export function* textSlices(text: string, size: number): Generator<string, void, undefined> {
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    yield text.slice(start, end);
    start = end;
  }
}

/** The data field of big bytes, decided as `encodeData()` decides it. */
function sliced(bytes: Uint8Array): Sliced | { base64: Sliced } {
  return isUtf8(bytes) ? new Sliced(bytes, true) : { base64: new Sliced(bytes, false) };
}

/** Whether the bytes are valid UTF-8, checked slice by slice. */
function isUtf8(bytes: Uint8Array): boolean {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  try {
    for (let start = 0; start < bytes.length; start += SLICE) {
      decoder.decode(bytes.subarray(start, start + SLICE), { stream: true });
    }
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

/**
 * `JSON.stringify(value, null, 2)` of the document shapes, at `indent`,
 * with `Sliced` data written piece by piece.
 */
function* pretty(value: unknown, indent: string): Generator<string, void, undefined> {
  if (value instanceof Sliced) {
    yield* value.pieces();
    return;
  }
  if (typeof value === "string" && value.length >= LARGE) {
    // Big text already held (a chunk read as text), escaped a slice at a time.
    yield '"';
    for (const slice of textSlices(value, SLICE)) yield JSON.stringify(slice).slice(1, -1);
    yield '"';
    return;
  }
  if (typeof value !== "object" || value === null) {
    yield JSON.stringify(value);
    return;
  }
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) {
      yield "[]";
      return;
    }
    yield "[\n";
    for (let i = 0; i < value.length; i++) {
      yield inner;
      yield* pretty(value[i], inner);
      yield i === value.length - 1 ? "\n" : ",\n";
    }
    yield `${indent}]`;
    return;
  }
  const entries = Object.entries(value);
  if (entries.length === 0) {
    yield "{}";
    return;
  }
  yield "{\n";
  for (let i = 0; i < entries.length; i++) {
    const [key, item] = entries[i]!;
    yield `${inner}${JSON.stringify(key)}: `;
    yield* pretty(item, inner);
    yield i === entries.length - 1 ? "\n" : ",\n";
  }
  yield `${indent}}`;
}
