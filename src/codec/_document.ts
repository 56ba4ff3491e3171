// The cassette file model (interposition 0.6's JSON layout) and its mapping
// to and from frozen values. JSON and YAML share it; only the syntax differs.
import {
  decodeBase64,
  decodeUtf8,
  EMPTY_BYTES,
  encodeUtf8,
  isCanonicalBase64,
  toBase64,
} from "../core/_bytes.ts";
import {
  checkSequence,
  checkText,
  claimPairArray,
  EMPTY_PAIRS,
  type Fail,
  invalid,
  isInvalid,
  isText,
  type SharedPairs,
  sharedPairs,
} from "../core/_check.ts";
import {
  type BlobReader,
  checkChunks,
  checkFingerprint,
  inSequence,
  type Naming,
  sealBlobChunk,
  sealBlobRequest,
  sealCassette,
  sealCheckedInteraction,
  sealInteraction,
  sealRequest,
  sealTextChunk,
  unreadText,
} from "../core/_model.ts";
import { computeFingerprint, FingerprintBatch, WRONG_FINGERPRINT } from "../core/_fingerprint.ts";
import { BlobError } from "../core/errors.ts";
import type {
  BlobRef,
  Cassette,
  Interaction,
  InteractionRequest,
  Pairs,
  ResponseChunk,
} from "../core/types.ts";

/**
 * Bytes as written in a file: UTF-8 text as a string, anything else as
 * `{"base64": …}`, and chunk data kept in a blob file (ADR 0041) as
 * `{"blob": "<sha256>", "size": n}`.
 */
export type DataField =
  | string
  | { readonly base64: string }
  | { readonly blob: string; readonly size: number };

/**
 * How chunk data and request bodies are written: a field for the ones kept
 * elsewhere (blob references), `undefined` to inline.
 */
export type DataOf = (holder: ResponseChunk | InteractionRequest) => DataField | undefined;

/** Key names in file paths, for error messages. */
const FILE_NAMING: Naming = { responseChunks: "response_chunks", fingerprint: "fingerprint.value" };

const HEX_FINGERPRINT = /^[0-9a-f]{64}$/;

/** The bytes as a file writes them. */
export function encodeData(bytes: Uint8Array): DataField {
  const text = decodeUtf8(bytes);
  return text === undefined ? { base64: toBase64(bytes) } : text;
}

/** Makes the field a file writes for a body or chunk's bytes (`encodeData()` by default). */
export type EncodeData = (bytes: Uint8Array) => unknown;

/**
 * The plain object a cassette file holds, keys in the order they are written.
 * `dataOf` may put chunk data elsewhere (blob references); by default, and
 * where it returns `undefined`, the bytes are written inline.
 */
export function toDocument(cassette: Cassette, dataOf?: DataOf): unknown {
  return {
    interactions: cassette.interactions.map((interaction) =>
      interactionDocument(interaction, dataOf, encodeData)
    ),
  };
}

/**
 * One interaction as the file holds it (`toDocument()`); `encode` makes the
 * inline data fields, so that a writer can put its own stand-in where bytes
 * are too big to hold as one string (`_json_pieces.ts`).
 */
export function interactionDocument(
  interaction: Interaction,
  dataOf: DataOf | undefined,
  encode: EncodeData,
): unknown {
  return {
    request: {
      protocol: interaction.request.protocol,
      action: interaction.request.action,
      target: interaction.request.target,
      headers: interaction.request.headers,
      body: dataOf?.(interaction.request) ?? encode(interaction.request.body),
    },
    fingerprint: { value: interaction.fingerprint },
    response_chunks: interaction.responseChunks.map((chunk) => ({
      // A chunk read from a file as text whose bytes were never made is
      // written from that text: the same field encodeData() would make from
      // its bytes, without making them (ADR 0050).
      data: dataOf?.(chunk) ?? unreadText(chunk) ?? encode(chunk.data),
      sequence: chunk.sequence,
      metadata: chunk.metadata,
    })),
    metadata: interaction.metadata,
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readData(value: unknown, path: string, fail: Fail): Uint8Array<ArrayBuffer> {
  if (typeof value === "string") return encodeUtf8(checkText(value, path, fail));
  return decodeBase64(readBase64(value, path, fail));
}

/** The text of `{"base64": …}` data, checked to be canonical. */
function readBase64(value: unknown, path: string, fail: Fail): string {
  if (isRecord(value) && typeof value.base64 === "string") {
    return isCanonicalBase64(value.base64)
      ? value.base64
      : fail(`${path}.base64`, "canonical padded base64", value.base64);
  }
  return fail(path, 'UTF-8 text (a string) or bytes as {"base64": "…"}', value);
}

const BLOB_KEYS = "blob,size";

/** Chunk data: inline bytes, or a blob reference when the file has a blob folder. */
function readChunk(
  value: unknown,
  sequence: number,
  metadata: Pairs,
  i: number,
  j: number,
  fail: Fail,
  blobs: BlobReader | undefined,
): ResponseChunk {
  // Inline data is checked now and turned into bytes on first use (ADR 0050).
  if (typeof value === "string") {
    return sealTextChunk(
      isText(value) ? value : checkText(value, chunkAt(i, j, ".data"), fail),
      false,
      sequence,
      metadata,
    );
  }
  const path = chunkAt(i, j, ".data");
  if (!isRecord(value) || !("blob" in value)) {
    return sealTextChunk(readBase64(value, path, fail), true, sequence, metadata);
  }
  const blob = readBlobRef(value, path, fail, blobs);
  return isInvalid(blob) ? blob as never : sealBlobChunk(blob, blobs!, sequence, metadata);
}

/**
 * A blob reference `{"blob": "<sha256>", "size": n}` at `path`, which needs
 * a blob folder (`blobs`): only files read through a store have one.
 */
function readBlobRef(
  value: Record<string, unknown>,
  path: string,
  fail: Fail,
  blobs: BlobReader | undefined,
): BlobRef {
  if (blobs === undefined) {
    return fail(
      path,
      "inline data (a blob reference can only be read from a cassette file, through fileStore() or journalStore())",
      value,
    );
  }
  if (Object.keys(value).sort().join() !== BLOB_KEYS) {
    return fail(path, 'a blob reference {"blob": "<sha256>", "size": <bytes>}', value);
  }
  if (typeof value.blob !== "string" || !HEX_FINGERPRINT.test(value.blob)) {
    return fail(`${path}.blob`, "a SHA-256 as 64 lowercase hex characters", value.blob);
  }
  const size = value.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 1) {
    return fail(`${path}.size`, "a positive integer", size);
  }
  return { sha256: value.blob, size };
}

function readObject(value: unknown, path: string, fail: Fail): Record<string, unknown> {
  return isRecord(value) ? value : fail(path, "an object", value);
}

/**
 * Collecting mode (ADR 0031): every problem of a document, instead of the
 * first. `fail` must then note its problem in `problems` and return
 * `invalid()`; the rules' breaches go there too.
 */
export interface Collected {
  /** The problems, in the order they were found (document order). */
  readonly problems: Error[];
  /** How many interactions the document lists (0 when it lists none or cannot be read). */
  interactions: number;
  /**
   * Where the value at an error path starts in the text, set by the YAML
   * parser once it holds the document (rule breaches carry no position of
   * their own); unset for JSON.
   */
  locate?: ((path: string) => { line: number; column: number } | undefined) | undefined;
}

/**
 * Validates a parsed document and builds the frozen cassette. Shape and type
 * problems go to `fail`; data-rule breaches (fingerprint, chunk order) throw
 * `InteractionValidationError`. With `collected`, checking goes on after a
 * problem and the cassette holds only the valid interactions. The document is
 * handed over: its pair arrays become the cassette's, frozen in place (a pair
 * array that YAML aliases share is valid, or not, for each place alike).
 */
export function fromDocument(
  document: unknown,
  fail: Fail,
  blobs?: BlobReader,
  collected?: Collected,
): Cassette {
  const root = isRecord(document)
    ? document
    : fail("", 'an object with an "interactions" array', document);
  if (isInvalid(root)) return invalid();
  const list = root.interactions;
  if (!Array.isArray(list)) return fail("interactions", "an array", list);
  if (collected === undefined) {
    let next = 0;
    try {
      return fromItems(() => next < list.length ? list[next++] : DONE, fail, blobs);
    } catch (error) {
      if (error !== WRONG_FINGERPRINT) throw error;
    }
    // A fingerprint taken on trust was wrong: read again, checking each as it comes.
    next = 0;
    return fromItems(() => next < list.length ? list[next++] : DONE, fail, blobs, false);
  }
  collected.interactions = list.length;
  const interactions: Interaction[] = [];
  const shared = sharedPairs();
  for (let i = 0; i < list.length; i++) {
    const interaction = readInteraction(list[i], i, fail, blobs, collected.problems, shared);
    if (!isInvalid(interaction)) interactions.push(interaction);
  }
  return sealCassette(Object.freeze(interactions));
}

/**
 * `fromDocument()` of `{"interactions": [...]}` whose items are handed over
 * one at a time: each call of `next` gives the next item's value, or `DONE`
 * after the last. The caller may build the items only when asked (and drop
 * them after), so that the whole document is never held at once. Not for
 * collecting mode: the first problem throws, as `fail` does. `batched` lets
 * fingerprints be checked in batches where that pays (ADR 0056); if one is
 * wrong this throws `WRONG_FINGERPRINT` instead, and the caller reads the
 * items again unbatched, for the exact error.
 */
export function fromItems(
  next: () => unknown,
  fail: Fail,
  blobs?: BlobReader,
  batched = true,
): Cassette {
  const interactions: Interaction[] = [];
  const shared = sharedPairs();
  const batch = batched ? FingerprintBatch.create() : undefined;
  try {
    for (let i = 0;; i++) {
      const value = next();
      if (value === DONE) break;
      interactions.push(readInteraction(value, i, fail, blobs, undefined, shared, batch));
    }
  } catch (error) {
    // A fingerprint still waiting may be wrong, and its problem come first.
    if (batch !== undefined && error !== WRONG_FINGERPRINT) batch.settle();
    throw error;
  }
  batch?.settle();
  return sealCassette(Object.freeze(interactions));
}

/** What `fromItems()`'s `next` gives after the last item. */
export const DONE: unique symbol = Symbol("no more items");

/**
 * The document's `i`-th interaction; `invalid()` in collecting mode when it
 * has problems. Each value is checked where it is read, and a path is built
 * only when a check fails, by the same check functions as ever, which then
 * throw or note the problem (valid files, the common case, build none:
 * ADR 0050).
 */
function readInteraction(
  value: unknown,
  i: number,
  fail: Fail,
  blobs: BlobReader | undefined,
  problems: Error[] | undefined,
  shared: SharedPairs,
  batch?: FingerprintBatch,
): Interaction {
  const start = problems?.length;
  const item = isRecord(value) ? value : readObject(value, at(i, ""), fail);
  if (isInvalid(item)) return item as never;
  const rawRequest = isRecord(item.request)
    ? item.request
    : readObject(item.request, at(i, ".request"), fail);
  let request: InteractionRequest;
  if (isInvalid(rawRequest)) request = rawRequest as never;
  else {
    const { protocol, action, target, headers, body } = rawRequest;
    const checkedProtocol = isText(protocol)
      ? protocol
      : checkText(protocol, at(i, ".request.protocol"), fail);
    const checkedAction = isText(action)
      ? action
      : checkText(action, at(i, ".request.action"), fail);
    const checkedTarget = isText(target)
      ? target
      : checkText(target, at(i, ".request.target"), fail);
    const checkedHeaders = headers === undefined
      ? EMPTY_PAIRS
      : claimPairArray(headers, undefined, fail, shared, HEADERS_SLOT) ??
        claimPairArray(headers, at(i, ".request.headers"), fail)!;
    if (typeof body === "object" && body !== null && "blob" in body) {
      // A body kept in a blob file (ADR 0041): read when the fingerprint is checked below.
      const blob = readBlobRef(
        body as Record<string, unknown>,
        at(i, ".request.body"),
        fail,
        blobs,
      );
      request = isInvalid(blob) ? blob as never : sealBlobRequest(
        checkedProtocol,
        checkedAction,
        checkedTarget,
        checkedHeaders,
        blob,
        blobs!,
      );
    } else {
      request = sealRequest(
        checkedProtocol,
        checkedAction,
        checkedTarget,
        checkedHeaders,
        body === undefined || body === ""
          ? EMPTY_BYTES
          : readData(body, at(i, ".request.body"), fail),
      );
    }
  }
  const requestValid = problems?.length === start;
  // The request's own fingerprint is computed once, here; a stored value
  // equal to it needs no format check (it is 64 lowercase hex characters).
  // With a batch, a claimed value that may be right is taken for now and
  // checked with others later (ADR 0056).
  const computed = requestValid
    ? request.bodyBlob === undefined
      ? batch !== undefined && isRecord(item.fingerprint) &&
          batch.offer(request, item.fingerprint.value)
        ? item.fingerprint.value as string
        : computeFingerprint(request)
      : blobFingerprint(request, at(i, ".request.body"), problems)
    : undefined;
  const fingerprintObject = isRecord(item.fingerprint)
    ? item.fingerprint
    : readObject(item.fingerprint, at(i, ".fingerprint"), fail);
  let rawFingerprint: string | undefined;
  if (!isInvalid(fingerprintObject)) {
    const claimed = fingerprintObject.value;
    rawFingerprint = (computed !== undefined && claimed === computed) ||
        (typeof claimed === "string" && HEX_FINGERPRINT.test(claimed))
      ? claimed as string
      : fail(at(i, ".fingerprint.value"), "64 lowercase hex characters", claimed);
  }
  const rawChunks = item.response_chunks;
  let chunks: ResponseChunk[] | undefined;
  if (!Array.isArray(rawChunks)) fail(at(i, ".response_chunks"), "an array", rawChunks);
  else {
    // A fresh array, not the document's own: YAML aliases can make one list
    // the chunks of several interactions, and it must still read as raw
    // chunks for each of them.
    chunks = new Array(rawChunks.length);
    for (let j = 0; j < rawChunks.length; j++) {
      const rawChunk: unknown = rawChunks[j];
      if (!isRecord(rawChunk)) {
        chunks[j] = readObject(rawChunk, chunkAt(i, j, ""), fail) as never;
        continue;
      }
      const { sequence, metadata, data } = rawChunk;
      chunks[j] = readChunk(
        data,
        isSequence(sequence) ? sequence : checkSequence(sequence, chunkAt(i, j, ".sequence"), fail),
        metadata === undefined
          ? EMPTY_PAIRS
          : claimPairArray(metadata, undefined, fail, shared, chunkSlot(j)) ??
            claimPairArray(metadata, chunkAt(i, j, ".metadata"), fail)!,
        i,
        j,
        fail,
        blobs,
      );
    }
  }
  const rawMetadata = item.metadata;
  const metadata = rawMetadata === undefined
    ? EMPTY_PAIRS
    : claimPairArray(rawMetadata, undefined, fail, shared, METADATA_SLOT) ??
      claimPairArray(rawMetadata, at(i, ".metadata"), fail)!;
  if (problems !== undefined && problems.length !== start) {
    // The interaction cannot be built, but the rules that its valid parts
    // allow are still checked, so fixing one problem never reveals another.
    if (chunks !== undefined) checkChunks(chunks, at(i, ".response_chunks"), problems);
    // (`computed` is unset when the request is not valid, or its body's blob unreadable.)
    if (computed !== undefined && rawFingerprint !== undefined && !isInvalid(rawFingerprint)) {
      checkFingerprint(request, rawFingerprint, at(i, ""), FILE_NAMING, problems);
    }
    return invalid();
  }
  // Valid files, the common case, build no path for the rules either.
  if (computed !== undefined && rawFingerprint === computed && inSequence(chunks!)) {
    return sealCheckedInteraction(request, Object.freeze(chunks!), metadata, computed);
  }
  return sealInteraction(
    request,
    Object.freeze(chunks!),
    metadata,
    rawFingerprint,
    at(i, ""),
    FILE_NAMING,
    problems,
    computed,
  );
}

/**
 * The fingerprint of a request whose body is in a blob file, which is read
 * for it (and verified) now. A blob that cannot be read throws its
 * `BlobError`, which names the file; collecting, it is noted as a problem
 * at the body's place instead, and the fingerprint is `undefined`.
 */
function blobFingerprint(
  request: InteractionRequest,
  path: string,
  problems: Error[] | undefined,
): string | undefined {
  try {
    return computeFingerprint(request);
  } catch (error) {
    if (problems === undefined || !(error instanceof BlobError)) throw error;
    problems.push(new Error(`${path}: ${error.message}`, { cause: error }));
    return undefined;
  }
}

// Where a pair list stands in an interaction, for claimPairArray(): lists in
// the same place of successive interactions are often equal (the same
// client's headers, the same kind of chunk).
const HEADERS_SLOT = 0;
const METADATA_SLOT = 1;

/** The slot of chunk `j`'s metadata: each of the first few has its own. */
function chunkSlot(j: number): number {
  return 2 + Math.min(j, 7);
}

/** The path of a value in the document's `i`-th interaction. */
function at(i: number, rest: string): string {
  return `interactions[${i}]${rest}`;
}

/** The path of a value in chunk `j` of the document's `i`-th interaction. */
function chunkAt(i: number, j: number, rest: string): string {
  return at(i, `.response_chunks[${j}]${rest}`);
}

/** Whether `checkSequence()` accepts a value, without building its path. */
function isSequence(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
