// The cassette file model (interposition 0.6's JSON layout) and its mapping
// to and from frozen values. JSON and YAML share it; only the syntax differs.
import { decodeUtf8, encodeUtf8, fromBase64, toBase64 } from "../core/_bytes.ts";
import {
  checkPairArray,
  checkSequence,
  checkText,
  EMPTY_PAIRS,
  type Fail,
} from "../core/_check.ts";
import {
  type BlobReader,
  type Naming,
  sealBlobChunk,
  sealCassette,
  sealChunk,
  sealInteraction,
  sealRequest,
} from "../core/_model.ts";
import type { Cassette, Pairs, ResponseChunk } from "../core/types.ts";

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
 * Validates a parsed document and builds the frozen cassette. Shape and type
 * problems go to `fail`; data-rule breaches (fingerprint, chunk order) throw
 * `InteractionValidationError`.
 */
export function fromDocument(
  document: unknown,
  fail: Fail,
  blobs?: BlobReader,
): Cassette {
  const root = isRecord(document)
    ? document
    : fail("", 'an object with an "interactions" array', document);
  const list = root.interactions;
  if (!Array.isArray(list)) return fail("interactions", "an array", list);
  const interactions = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const path = `interactions[${i}]`;
    const item = readObject(list[i], path, fail);
    const rawRequest = readObject(item.request, `${path}.request`, fail);
    const request = sealRequest(
      checkText(rawRequest.protocol, `${path}.request.protocol`, fail),
      checkText(rawRequest.action, `${path}.request.action`, fail),
      checkText(rawRequest.target, `${path}.request.target`, fail),
      readPairs(rawRequest.headers, `${path}.request.headers`, fail),
      rawRequest.body === undefined
        ? new Uint8Array(0)
        : readData(rawRequest.body, `${path}.request.body`, fail),
    );
    const rawFingerprint = readObject(item.fingerprint, `${path}.fingerprint`, fail).value;
    if (typeof rawFingerprint !== "string" || !HEX_FINGERPRINT.test(rawFingerprint)) {
      return fail(`${path}.fingerprint.value`, "64 lowercase hex characters", rawFingerprint);
    }
    const rawChunks = item.response_chunks;
    if (!Array.isArray(rawChunks)) return fail(`${path}.response_chunks`, "an array", rawChunks);
    const chunks: ResponseChunk[] = new Array(rawChunks.length);
    for (let j = 0; j < rawChunks.length; j++) {
      const chunkPath = `${path}.response_chunks[${j}]`;
      const rawChunk = readObject(rawChunks[j], chunkPath, fail);
      const sequence = checkSequence(rawChunk.sequence, `${chunkPath}.sequence`, fail);
      const metadata = readPairs(rawChunk.metadata, `${chunkPath}.metadata`, fail);
      chunks[j] = readChunk(rawChunk.data, sequence, metadata, `${chunkPath}.data`, fail, blobs);
    }
    interactions[i] = sealInteraction(
      request,
      Object.freeze(chunks),
      readPairs(item.metadata, `${path}.metadata`, fail),
      rawFingerprint,
      path,
      FILE_NAMING,
    );
  }
  return sealCassette(Object.freeze(interactions));
}
