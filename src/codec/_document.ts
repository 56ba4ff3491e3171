// The cassette file model (interposition 0.6's JSON layout) and its mapping
// to and from frozen values. JSON and YAML share it; only the syntax differs.
import { decodeUtf8, encodeUtf8, fromBase64, toBase64 } from "../core/_bytes.ts";
import {
  checkPairArray,
  checkSequence,
  checkText,
  EMPTY_PAIRS,
  type Fail,
  invalid,
  isInvalid,
} from "../core/_check.ts";
import {
  type BlobReader,
  checkChunks,
  checkFingerprint,
  type Naming,
  sealBlobChunk,
  sealCassette,
  sealChunk,
  sealInteraction,
  sealRequest,
} from "../core/_model.ts";
import type { Cassette, Interaction, Pairs, ResponseChunk } from "../core/types.ts";

/**
 * Bytes as written in a file: UTF-8 text as a string, anything else as
 * `{"base64": …}`, and chunk data kept in a blob file (ADR 0041) as
 * `{"blob": "<sha256>", "size": n}`.
 */
export type DataField =
  | string
  | { readonly base64: string }
  | { readonly blob: string; readonly size: number };

/** How chunk data is written: a field for chunks kept elsewhere, `undefined` to inline. */
export type DataOf = (chunk: ResponseChunk) => DataField | undefined;

/** Key names in file paths, for error messages. */
const FILE_NAMING: Naming = { responseChunks: "response_chunks", fingerprint: "fingerprint.value" };

const HEX_FINGERPRINT = /^[0-9a-f]{64}$/;

/** The bytes as a file writes them. */
export function encodeData(bytes: Uint8Array): DataField {
  const text = decodeUtf8(bytes);
  return text === undefined ? { base64: toBase64(bytes) } : text;
}

/**
 * The plain object a cassette file holds, keys in the order they are written.
 * `dataOf` may put chunk data elsewhere (blob references); by default, and
 * where it returns `undefined`, the bytes are written inline.
 */
export function toDocument(cassette: Cassette, dataOf?: DataOf): unknown {
  return {
    interactions: cassette.interactions.map((interaction) => ({
      request: {
        protocol: interaction.request.protocol,
        action: interaction.request.action,
        target: interaction.request.target,
        headers: interaction.request.headers,
        body: encodeData(interaction.request.body),
      },
      fingerprint: { value: interaction.fingerprint },
      response_chunks: interaction.responseChunks.map((chunk) => ({
        data: dataOf?.(chunk) ?? encodeData(chunk.data),
        sequence: chunk.sequence,
        metadata: chunk.metadata,
      })),
      metadata: interaction.metadata,
    })),
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function readData(value: unknown, path: string, fail: Fail): Uint8Array<ArrayBuffer> {
  if (typeof value === "string") return encodeUtf8(checkText(value, path, fail));
  if (isRecord(value) && typeof value.base64 === "string") {
    return fromBase64(value.base64) ??
      fail(`${path}.base64`, "canonical padded base64", value.base64);
  }
  return fail(path, 'UTF-8 text (a string) or bytes as {"base64": "…"}', value);
}

const BLOB_KEYS = "blob,size";

/** Chunk data: inline bytes, or a blob reference when the file has a blob folder. */
function readChunk(
  value: unknown,
  sequence: number,
  metadata: Pairs,
  path: string,
  fail: Fail,
  blobs: BlobReader | undefined,
): ResponseChunk {
  if (!isRecord(value) || !("blob" in value)) {
    return sealChunk(readData(value, path, fail), sequence, metadata);
  }
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
  return sealBlobChunk({ sha256: value.blob, size }, blobs, sequence, metadata);
}

function readPairs(value: unknown, path: string, fail: Fail): Pairs {
  return value === undefined ? EMPTY_PAIRS : checkPairArray(value, path, fail);
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
}

/**
 * Validates a parsed document and builds the frozen cassette. Shape and type
 * problems go to `fail`; data-rule breaches (fingerprint, chunk order) throw
 * `InteractionValidationError`. With `collected`, checking goes on after a
 * problem and the cassette holds only the valid interactions.
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
  if (collected !== undefined) collected.interactions = list.length;
  const problems = collected?.problems;
  const interactions = new Array(list.length);
  let kept = 0;
  for (let i = 0; i < list.length; i++) {
    const interaction = readInteraction(list[i], `interactions[${i}]`, fail, blobs, problems);
    if (problems === undefined || !isInvalid(interaction)) interactions[kept++] = interaction;
  }
  interactions.length = kept;
  return sealCassette(Object.freeze(interactions));
}

/** One interaction of a document; `invalid()` in collecting mode when it has problems. */
function readInteraction(
  value: unknown,
  path: string,
  fail: Fail,
  blobs: BlobReader | undefined,
  problems: Error[] | undefined,
): Interaction {
  const start = problems?.length;
  const item = readObject(value, path, fail);
  if (isInvalid(item)) return item as never;
  const rawRequest = readObject(item.request, `${path}.request`, fail);
  const request = isInvalid(rawRequest) ? rawRequest as never : sealRequest(
    checkText(rawRequest.protocol, `${path}.request.protocol`, fail),
    checkText(rawRequest.action, `${path}.request.action`, fail),
    checkText(rawRequest.target, `${path}.request.target`, fail),
    readPairs(rawRequest.headers, `${path}.request.headers`, fail),
    rawRequest.body === undefined
      ? new Uint8Array(0)
      : readData(rawRequest.body, `${path}.request.body`, fail),
  );
  const requestValid = problems?.length === start;
  const fingerprintObject = readObject(item.fingerprint, `${path}.fingerprint`, fail);
  let rawFingerprint: string | undefined;
  if (!isInvalid(fingerprintObject)) {
    const claimed = fingerprintObject.value;
    rawFingerprint = typeof claimed === "string" && HEX_FINGERPRINT.test(claimed)
      ? claimed
      : fail(`${path}.fingerprint.value`, "64 lowercase hex characters", claimed);
  }
  const chunksPath = `${path}.response_chunks`;
  const rawChunks = item.response_chunks;
  let chunks: ResponseChunk[] | undefined;
  if (!Array.isArray(rawChunks)) fail(chunksPath, "an array", rawChunks);
  else {
    chunks = new Array(rawChunks.length);
    for (let j = 0; j < rawChunks.length; j++) {
      const chunkPath = `${chunksPath}[${j}]`;
      const rawChunk = readObject(rawChunks[j], chunkPath, fail);
      if (isInvalid(rawChunk)) {
        chunks[j] = rawChunk as never;
        continue;
      }
      const sequence = checkSequence(rawChunk.sequence, `${chunkPath}.sequence`, fail);
      const metadata = readPairs(rawChunk.metadata, `${chunkPath}.metadata`, fail);
      chunks[j] = readChunk(rawChunk.data, sequence, metadata, `${chunkPath}.data`, fail, blobs);
    }
  }
  const metadata = readPairs(item.metadata, `${path}.metadata`, fail);
  if (problems !== undefined && problems.length !== start) {
    // The interaction cannot be built, but the rules that its valid parts
    // allow are still checked, so fixing one problem never reveals another.
    if (chunks !== undefined) checkChunks(chunks, chunksPath, problems);
    if (requestValid && rawFingerprint !== undefined && !isInvalid(rawFingerprint)) {
      checkFingerprint(request, rawFingerprint, path, FILE_NAMING, problems);
    }
    return invalid();
  }
  return sealInteraction(
    request,
    Object.freeze(chunks!),
    metadata,
    rawFingerprint,
    path,
    FILE_NAMING,
    problems,
  );
}
