// The one place that builds frozen model values. Everything it returns is
// marked as valid (a private field, ADR 0050), so re-wrapping a valid value
// costs one field test.
import { decodeBase64, EMPTY_BYTES, encodeUtf8 } from "./_bytes.ts";
import {
  breach,
  checkPairsInit,
  checkSequence,
  checkText,
  EMPTY_PAIRS,
  type Fail,
  failValidation,
  invalid,
  join,
} from "./_check.ts";
import { InteractionValidationError } from "./errors.ts";
import { bodyPiecesOf, computeFingerprint, HeadSlot, readBodyInPieces } from "./_fingerprint.ts";
import { Slots } from "./_slots.ts";
import { type Reads, withReads } from "./_recycled.ts";
import type {
  BlobRef,
  Cassette,
  Interaction,
  InteractionRequest,
  Pairs,
  ResponseChunk,
} from "./types.ts";

/** The mark of values built (and so validated) here. */
class Valid extends Slots {
  readonly #valid = true;

  /** Marks `value` and freezes it (private fields go on before freezing). */
  static seal<T extends object>(value: T): T {
    new Valid(value);
    return Object.freeze(value);
  }

  static has(value: object): boolean {
    return #valid in value;
  }
}

/** Whether `value` was built (and so validated) here. */
export function isValid(value: unknown): boolean {
  return typeof value === "object" && value !== null && Valid.has(value);
}

/**
 * Copies caller bytes (or encodes a string) into a fresh, exclusively owned
 * buffer; no bytes at all give the shared `EMPTY_BYTES`.
 */
export function copyBytes(value: unknown, path: string, fail: Fail): Uint8Array<ArrayBuffer> {
  if (typeof value === "string") {
    return value === "" ? EMPTY_BYTES : encodeUtf8(checkText(value, path, fail));
  }
  if (value instanceof Uint8Array) {
    if (value.byteLength === 0) return EMPTY_BYTES;
    const copy = new Uint8Array(value.byteLength);
    copy.set(value);
    return copy;
  }
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  return fail(path, "a Uint8Array, an ArrayBuffer or a string", value);
}

/** Builds a frozen request from trusted-shape parts (already checked). */
export function sealRequest(
  protocol: string,
  action: string,
  target: string,
  headers: Pairs,
  body: Uint8Array<ArrayBuffer>,
): InteractionRequest {
  const request = { protocol, action, target, headers, body };
  new HeadSlot(request);
  return Valid.seal(request);
}

/** Validates a caller-supplied request-like object. */
export function toRequest(value: unknown, path: string): InteractionRequest {
  if (isValid(value)) return value as InteractionRequest;
  if (typeof value !== "object" || value === null) {
    return failValidation(path, "a request object", value);
  }
  const init = value as Record<string, unknown>;
  return sealRequest(
    checkText(init.protocol, join(path, "protocol"), failValidation),
    checkText(init.action, join(path, "action"), failValidation),
    checkText(init.target, join(path, "target"), failValidation),
    checkPairsInit(init.headers, join(path, "headers")),
    init.body === undefined
      ? EMPTY_BYTES
      : copyBytes(init.body, join(path, "body"), failValidation),
  );
}

/** Builds a frozen chunk from checked parts. */
export function sealChunk(
  data: Uint8Array<ArrayBuffer>,
  sequence: number,
  metadata: Pairs,
): ResponseChunk {
  return Valid.seal({ data, sequence, metadata });
}

/** The text behind a chunk read from a file, and its bytes once made. */
class TextSource extends Slots {
  #text: string | undefined;
  readonly #base64: boolean;
  #bytes: Uint8Array<ArrayBuffer> | undefined;

  constructor(target: object, text: string, base64: boolean) {
    super(target);
    this.#text = text;
    this.#base64 = base64;
  }

  /** The text of a UTF-8 chunk whose bytes have not been made yet. */
  static unread(chunk: object): string | undefined {
    if (!(#text in chunk)) return undefined;
    const source = chunk as TextSource;
    return source.#base64 ? undefined : source.#text;
  }

  static bytes(chunk: object): Uint8Array<ArrayBuffer> {
    const source = chunk as TextSource;
    if (source.#bytes === undefined) {
      source.#bytes = source.#base64 ? decodeBase64(source.#text!) : encodeUtf8(source.#text!);
      source.#text = undefined;
    }
    return source.#bytes;
  }
}

// One getter shared by every such chunk keeps their shape shared too (a
// getter written in an object literal is a new function per object, which
// made building them several times slower than encoding the bytes).
function textData(this: object): Uint8Array<ArrayBuffer> {
  return TextSource.bytes(this);
}

// Defines an enumerable, configurable getter, as `Object.defineProperty()`
// with such a descriptor does (freezing the chunk then makes it
// non-configurable), without reading a descriptor object: 150 ns per chunk
// against 360 ns on Deno, 150 against 220 on Node 24. Annex B of the
// language standard; every engine we run on has it. Taken once, here.
const defineGetter = (Object.prototype as {
  __defineGetter__(this: object, key: string, getter: () => unknown): void;
}).__defineGetter__;

/**
 * A chunk read from a cassette file whose bytes are made from its text on the
 * first read of `data` (ADR 0050): UTF-8 text, or base64 when `base64` is
 * set. The parser has already checked the text (well-formed, or canonical
 * base64), so making the bytes cannot fail; every later read returns the
 * same bytes. `data` is an own, enumerable property, as on other chunks.
 */
export function sealTextChunk(
  text: string,
  base64: boolean,
  sequence: number,
  metadata: Pairs,
): ResponseChunk {
  const chunk = {} as { data: Uint8Array<ArrayBuffer>; sequence: number; metadata: Pairs };
  defineGetter.call(chunk, "data", textData);
  chunk.sequence = sequence;
  chunk.metadata = metadata;
  new TextSource(chunk, text, base64);
  return Valid.seal(chunk);
}

/**
 * The text of a chunk read from a file as UTF-8 text whose bytes have not been
 * made yet, else `undefined`. An adapter that hands the bytes on as a copy
 * can encode this text instead: one pass, and the cassette keeps no bytes.
 */
export function unreadText(chunk: ResponseChunk): string | undefined {
  return TextSource.unread(chunk);
}

/**
 * Reads blob files (ADR 0041). The core never touches the file system: a
 * store that loads blob references hands one of these to the chunks it builds.
 */
export interface BlobReader {
  /** The folder the blobs live in; two readers of one folder are interchangeable. */
  readonly folder: string;
  /**
   * The verified bytes, read synchronously; throws `BlobError`. With
   * `lend`, into a buffer from `borrowBytes()` (ADR 0055).
   */
  readSync(ref: BlobRef, lend?: boolean): Uint8Array<ArrayBuffer>;
  /** The verified bytes, read with promises; rejects with `BlobError`. `lend` as for `readSync()`. */
  read(ref: BlobRef, lend?: boolean): Promise<Uint8Array<ArrayBuffer>>;
  /**
   * Hands the bytes to `visit` in order, each piece a fresh buffer of at
   * most 1 MiB read synchronously, then checks their size and hash: a file
   * that is not what `ref` names throws `BlobError`, after `visit` may have
   * seen some of it. `visit` returning `false` stops the reading there.
   */
  eachSync(ref: BlobRef, visit: (piece: Uint8Array<ArrayBuffer>) => boolean | void): void;
  /** `eachSync()` with promises: a promise `visit` returns is awaited before the next piece. */
  each(ref: BlobRef, visit: (piece: Uint8Array<ArrayBuffer>) => unknown): Promise<void>;
}

const readers = new WeakMap<ResponseChunk, BlobReader>();

/** A chunk whose bytes stay in a blob file: each read of `data` reads and verifies it. */
export function sealBlobChunk(
  blob: BlobRef,
  reader: BlobReader,
  sequence: number,
  metadata: Pairs,
): ResponseChunk {
  const frozenBlob = Object.freeze({ sha256: blob.sha256, size: blob.size });
  const chunk: ResponseChunk = Valid.seal({
    get data(): Uint8Array<ArrayBuffer> {
      return reader.readSync(frozenBlob);
    },
    sequence,
    metadata,
    blob: frozenBlob,
  });
  readers.set(chunk, reader);
  return chunk;
}

/** The reader behind a blob chunk, if it is one. */
export function blobReaderOf(chunk: ResponseChunk): BlobReader | undefined {
  return readers.get(chunk);
}

const bodyReaders = new WeakMap<InteractionRequest, BlobReader>();

/**
 * A request whose body stays in a blob file: each read of `body` reads and
 * verifies it. Its parts are checked already, as for `sealRequest()`.
 */
export function sealBlobRequest(
  protocol: string,
  action: string,
  target: string,
  headers: Pairs,
  blob: BlobRef,
  reader: BlobReader,
): InteractionRequest {
  const frozenBlob = Object.freeze({ sha256: blob.sha256, size: blob.size });
  const request = {
    protocol,
    action,
    target,
    headers,
    get body(): Uint8Array<ArrayBuffer> {
      return reader.readSync(frozenBlob);
    },
    bodyBlob: frozenBlob,
  };
  new HeadSlot(request);
  const sealed = Valid.seal(request);
  bodyReaders.set(sealed, reader);
  readBodyInPieces(sealed, (visit) => reader.eachSync(frozenBlob, visit));
  return sealed;
}

/**
 * A checked request with another head (its parts checked by the caller) and
 * the same body: a body kept in a blob file stays there, unread.
 */
export function withHead(
  request: InteractionRequest,
  protocol: string,
  action: string,
  target: string,
  headers: Pairs,
): InteractionRequest {
  const reader = bodyReaders.get(request);
  return reader === undefined
    ? sealRequest(protocol, action, target, headers, request.body)
    : sealBlobRequest(protocol, action, target, headers, request.bodyBlob!, reader);
}

/**
 * Whether a request whose body is kept in a blob file holds UTF-8 text: the
 * file is read in pieces, up to the first byte that is not. Anything that
 * redacts or rewrites text asks this before reading such a body whole, so a
 * big binary upload is never held in memory. Bodies in memory: `true` (the
 * caller decodes them as it always does).
 */
export function mayBeText(request: InteractionRequest): boolean {
  const pieces = bodyPiecesOf(request);
  if (pieces === undefined) return true;
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let text = true;
  pieces((piece) => {
    try {
      decoder.decode(piece, { stream: true });
      return true;
    } catch {
      text = false;
      return false;
    }
  });
  if (!text) return false;
  try {
    decoder.decode();
    return true;
  } catch {
    return false;
  }
}

/** The reader behind a request whose body is in a blob file, if it is one. */
export function bodyReaderOf(request: InteractionRequest): BlobReader | undefined {
  return bodyReaders.get(request);
}

/** The bytes of a chunk, or of a request's body; a blob file is read synchronously. */
export function heldBytes(holder: ResponseChunk | InteractionRequest): Uint8Array<ArrayBuffer> {
  return "body" in holder ? holder.body : holder.data;
}

/** `heldBytes()`, with a blob file read with promises. */
export async function heldBytesAsync(
  holder: ResponseChunk | InteractionRequest,
): Promise<Uint8Array<ArrayBuffer>> {
  if (!("body" in holder)) return (await materializeAsync(holder)).data;
  const reader = bodyReaders.get(holder);
  return reader === undefined ? holder.body : await reader.read(holder.bodyBlob!);
}

/** The request's body size in bytes, without reading a blob. */
export function bodySize(request: InteractionRequest): number {
  return request.bodyBlob?.size ?? request.body.length;
}

/** Whether the chunk holds no bytes, without reading a blob or making bytes from text. */
export function isEmptyChunk(chunk: ResponseChunk): boolean {
  if (chunk.blob !== undefined) return chunk.blob.size === 0;
  const text = TextSource.unread(chunk);
  return text === undefined ? chunk.data.length === 0 : text.length === 0;
}

/** The chunk's size in bytes, without reading a blob. */
export function chunkSize(chunk: ResponseChunk): number {
  return chunk.blob?.size ?? chunk.data.length;
}

/**
 * A blob chunk read once into memory (verified); any other chunk as it is.
 * `lend` reads into a borrowed buffer (ADR 0055).
 */
export function materialize(chunk: ResponseChunk, lend = false): ResponseChunk {
  const reader = readers.get(chunk);
  return reader === undefined
    ? chunk
    : sealChunk(reader.readSync(chunk.blob!, lend), chunk.sequence, chunk.metadata);
}

/**
 * What replay iterates for an interaction (ADR 0001): its chunks in a private
 * array that is not frozen, because V8 iterates frozen arrays about three
 * times slower than plain ones. The array never leaves the library (callers
 * get an iterator over it, which does not expose it), so the cassette stays
 * immutable to them. `blobs` says whether some chunk must be read from its
 * blob file when reached.
 */
export interface PlayList {
  readonly chunks: readonly ResponseChunk[];
  readonly blobs: boolean;
}

/**
 * What replay needs to know about an interaction: whether some chunk is in a
 * blob file (known when it is built), and its play list (made on its first
 * replay through the cassette's index).
 */
class PlaySlot extends Slots {
  readonly #blobs: boolean;
  #list: PlayList | undefined = undefined;

  constructor(interaction: object, blobs: boolean) {
    super(interaction);
    this.#blobs = blobs;
  }

  static install(interaction: object, chunks: readonly ResponseChunk[]): void {
    new PlaySlot(interaction, anyBlob(chunks));
  }

  static blobs(interaction: object): boolean {
    return #blobs in interaction
      ? (interaction as PlaySlot).#blobs
      : anyBlob((interaction as Interaction).responseChunks);
  }

  static get(interaction: object): PlayList | undefined {
    return #list in interaction ? (interaction as PlaySlot).#list : undefined;
  }

  static set(interaction: object, list: PlayList): void {
    if (#list in interaction) (interaction as PlaySlot).#list = list;
  }
}

/** Whether some chunk's bytes are in a blob file. */
function anyBlob(chunks: readonly ResponseChunk[]): boolean {
  for (let i = 0; i < chunks.length; i++) if (chunks[i]!.blob !== undefined) return true;
  return false;
}

/** The interaction's play list, built on its first replay. */
export function playListOf(interaction: Interaction): PlayList {
  let list = PlaySlot.get(interaction);
  if (list === undefined) {
    list = { chunks: interaction.responseChunks.slice(), blobs: PlaySlot.blobs(interaction) };
    PlaySlot.set(interaction, list);
  }
  return list;
}

function* readEachWith(
  chunks: readonly ResponseChunk[],
  reads: Reads,
): Generator<ResponseChunk, void, undefined> {
  for (const chunk of chunks) yield materialize(chunk, reads.lend);
}

function readEach(chunks: readonly ResponseChunk[]): Generator<ResponseChunk, void, undefined> {
  const reads: Reads = { lend: false };
  return withReads(readEachWith(chunks, reads), reads);
}

/** A play list's chunks for synchronous replay: blob chunks read when reached. */
export function playChunks(list: PlayList): IterableIterator<ResponseChunk> {
  return list.blobs ? readEach(list.chunks) : list.chunks.values();
}

/**
 * An interaction's chunks for synchronous replay: blob chunks read when
 * reached. Brokers replay most interactions once, so this iterates the frozen
 * list itself rather than making a play list first.
 */
export function replayChunks(interaction: Interaction): IterableIterator<ResponseChunk> {
  return PlaySlot.blobs(interaction)
    ? readEach(interaction.responseChunks)
    : interaction.responseChunks.values();
}

/** The asynchronous twin of `materialize()`. */
export async function materializeAsync(chunk: ResponseChunk, lend = false): Promise<ResponseChunk> {
  const reader = readers.get(chunk);
  return reader === undefined
    ? chunk
    : sealChunk(await reader.read(chunk.blob!, lend), chunk.sequence, chunk.metadata);
}

/** Validates a caller-supplied chunk, or wraps a bare piece of bytes at `position`. */
export function toChunk(value: unknown, position: number, path: string): ResponseChunk {
  if (isValid(value)) return value as ResponseChunk;
  if (typeof value === "string" || value instanceof Uint8Array || value instanceof ArrayBuffer) {
    return sealChunk(copyBytes(value, path, failValidation), position, EMPTY_PAIRS);
  }
  if (typeof value !== "object" || value === null) {
    return failValidation(path, "a chunk, a Uint8Array or a string", value);
  }
  const init = value as Record<string, unknown>;
  return sealChunk(
    copyBytes(init.data, join(path, "data"), failValidation),
    checkSequence(init.sequence, join(path, "sequence"), failValidation),
    checkPairsInit(init.metadata, join(path, "metadata")),
  );
}

/** Key names used in error paths: the TypeScript names or the cassette file's. */
export interface Naming {
  readonly responseChunks: string;
  readonly fingerprint: string;
}

/** Paths for values built in code. */
export const CODE_NAMING: Naming = { responseChunks: "responseChunks", fingerprint: "fingerprint" };

/**
 * The chunk rules: at least one chunk, sequences exactly 0..n-1. Breaches
 * throw, or go to `problems` when given (collecting mode, ADR 0031), where a
 * chunk or sequence that already failed its own check is skipped.
 */
export function checkChunks(
  chunks: readonly ResponseChunk[],
  chunksPath: string,
  problems?: Error[],
): void {
  if (chunks.length === 0) {
    breach(new InteractionValidationError(chunksPath, "at least one chunk", "none"), problems);
  }
  for (let i = 0; i < chunks.length; i++) {
    const sequence = chunks[i]!.sequence;
    if (sequence !== i && typeof sequence === "number") {
      breach(
        new InteractionValidationError(`${chunksPath}[${i}].sequence`, String(i), String(sequence)),
        problems,
      );
    }
  }
}

/**
 * The request's fingerprint, after checking it against the one a file
 * claims (if any); a mismatch throws, or goes to `problems` when given.
 */
export function checkFingerprint(
  request: InteractionRequest,
  claimedFingerprint: string | undefined,
  path: string,
  naming: Naming,
  problems?: Error[],
): string {
  const fingerprint = computeFingerprint(request);
  if (claimedFingerprint !== undefined && claimedFingerprint !== fingerprint) {
    breach(
      new InteractionValidationError(
        join(path, naming.fingerprint),
        `the request's fingerprint ${fingerprint}`,
        claimedFingerprint,
      ),
      problems,
    );
  }
  return fingerprint;
}

/** Whether there is at least one chunk and the sequences are exactly 0..n-1. */
export function inSequence(chunks: readonly ResponseChunk[]): boolean {
  if (chunks.length === 0) return false;
  for (let i = 0; i < chunks.length; i++) if (chunks[i]!.sequence !== i) return false;
  return true;
}

/**
 * Applies the interaction rules (chunks non-empty, sequences exactly 0..n-1,
 * fingerprint equal to the request's) and freezes the result. With
 * `problems`, every breach is collected and `invalid()` is returned if there
 * was one. A caller that has already computed the request's fingerprint
 * passes it as `known`.
 */
export function sealInteraction(
  request: InteractionRequest,
  chunks: readonly ResponseChunk[],
  metadata: Pairs,
  claimedFingerprint: string | undefined,
  path: string,
  naming: Naming,
  problems?: Error[],
  known?: string,
): Interaction {
  const before = problems?.length;
  // The rules are checked inline; the check functions, which build the paths
  // of their errors, run only when one is broken.
  if (!inSequence(chunks)) checkChunks(chunks, join(path, naming.responseChunks), problems);
  const fingerprint = known !== undefined &&
      (claimedFingerprint === undefined || claimedFingerprint === known)
    ? known
    : checkFingerprint(request, claimedFingerprint, path, naming, problems);
  if (problems !== undefined && problems.length !== before) return invalid();
  return sealCheckedInteraction(
    request,
    Object.isFrozen(chunks) ? chunks : Object.freeze(chunks.slice()),
    metadata,
    fingerprint,
  );
}

/**
 * `sealInteraction()` for a caller that has checked the rules itself: the
 * chunks are frozen and `inSequence()`, and `fingerprint` is the request's.
 */
export function sealCheckedInteraction(
  request: InteractionRequest,
  chunks: readonly ResponseChunk[],
  metadata: Pairs,
  fingerprint: string,
): Interaction {
  const interaction = { request, fingerprint, responseChunks: chunks, metadata };
  PlaySlot.install(interaction, chunks);
  return Valid.seal(interaction);
}

/** Validates a caller-supplied interaction-like object. */
export function toInteraction(value: unknown, path: string): Interaction {
  if (isValid(value)) return value as Interaction;
  if (typeof value !== "object" || value === null) {
    return failValidation(path, "an interaction object", value);
  }
  const init = value as Record<string, unknown>;
  const chunksPath = join(path, "responseChunks");
  if (!Array.isArray(init.responseChunks)) {
    return failValidation(chunksPath, "an array of chunks", init.responseChunks);
  }
  const chunks = init.responseChunks.map((chunk: unknown, i: number) =>
    toChunk(chunk, i, `${chunksPath}[${i}]`)
  );
  const claimed = init.fingerprint;
  if (claimed !== undefined && typeof claimed !== "string") {
    return failValidation(join(path, "fingerprint"), "a string", claimed);
  }
  return sealInteraction(
    toRequest(init.request, join(path, "request")),
    chunks,
    checkPairsInit(init.metadata, join(path, "metadata")),
    claimed,
    path,
    CODE_NAMING,
  );
}

/**
 * The fingerprint index behind `Cassette.index`: a `Map` whose mutators throw,
 * so the frozen cassette around it stays immutable.
 */
export class FingerprintIndex extends Map<string, readonly number[]> {
  /** Indexes every interaction by fingerprint, positions ascending. */
  static of(interactions: readonly Interaction[]): FingerprintIndex {
    return new FingerprintIndex(interactions, undefined);
  }

  /** `base` plus the last of `interactions`, which extend `base`'s by one. */
  static appended(base: FingerprintIndex, interactions: readonly Interaction[]): FingerprintIndex {
    return new FingerprintIndex(interactions, base);
  }

  // The indexed interactions, and the play list of the first one of each
  // fingerprint, filled on first replay (private: freezing leaves it writable,
  // and nothing outside can see it change).
  readonly #interactions: readonly Interaction[];
  readonly #first = new Map<string, PlayList>();

  // Fills the map itself (its own set() throws), without an intermediate one.
  private constructor(interactions: readonly Interaction[], base: FingerprintIndex | undefined) {
    super();
    if (base === undefined) {
      for (let i = 0; i < interactions.length; i++) {
        const key = interactions[i]!.fingerprint;
        const list = super.get(key) as number[] | undefined;
        if (list === undefined) super.set(key, [i]);
        else list.push(i);
      }
    } else {
      for (const [key, list] of base) super.set(key, list);
      const position = interactions.length - 1;
      const key = interactions[position]!.fingerprint;
      super.set(key, [...(base.get(key) ?? []), position]);
    }
    for (const list of super.values()) if (!Object.isFrozen(list)) Object.freeze(list);
    this.#interactions = interactions;
    Object.freeze(this);
  }

  /** The play list of the first interaction with fingerprint `key`, if any. */
  firstPlayList(key: string): PlayList | undefined {
    const cached = this.#first.get(key);
    if (cached !== undefined) return cached;
    const position = super.get(key)?.[0];
    if (position === undefined) return undefined;
    const list = playListOf(this.#interactions[position]!);
    this.#first.set(key, list);
    return list;
  }

  override set(): this {
    throw new TypeError("Cannot modify a cassette index: it is read-only");
  }

  override delete(): boolean {
    throw new TypeError("Cannot modify a cassette index: it is read-only");
  }

  override clear(): void {
    throw new TypeError("Cannot modify a cassette index: it is read-only");
  }
}

/** Freezes valid interactions into a cassette. */
export function sealCassette(
  interactions: readonly Interaction[],
  indexOf: (frozen: readonly Interaction[]) => FingerprintIndex = FingerprintIndex.of,
): Cassette {
  const frozen = Object.isFrozen(interactions) ? interactions : Object.freeze(interactions.slice());
  return Object.freeze({ interactions: frozen, index: indexOf(frozen) });
}

/** Throws unless `value` is a cassette built by this library. */
export function checkCassette(value: unknown): Cassette {
  if (
    typeof value !== "object" || value === null ||
    !((value as { index?: unknown }).index instanceof FingerprintIndex)
  ) {
    return failValidation(
      "cassette",
      "a cassette from createCassette() or parseCassette()",
      value,
    );
  }
  return value as Cassette;
}
