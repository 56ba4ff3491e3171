// The fingerprint computation, fed to SHA-256 piece by piece so a large body
// is never turned into one giant canonical string, and a body kept in a blob
// file is never read whole.
import * as crypto from "node:crypto";
import { toHex } from "./_bytes.ts";
import { isVerbatim, pythonJsonString } from "./_python_json.ts";
import { digestsMatch, lanesReady, maxLanesText } from "./_sha256_lanes.ts";
import { Slots } from "./_slots.ts";
import type { InteractionRequest } from "./types.ts";

// Bodies up to this many bytes are hashed in one call; larger ones in slices
// of this size. 16 KiB keeps each slice's hex text (32 KiB) out of V8's
// large-object space, which measurably slowed hashing of big bodies.
const SLICE = 16 * 1024;

// One-shot hashing where the runtime has it (Node >= 20.12, Deno, Bun): it
// skips creating a Hash object, which dominates the cost of small requests.
const oneShot = (crypto as { hash?: (algorithm: string, data: string, encoding: "hex") => string })
  .hash;

/**
 * Reads a body kept in a blob file piece by piece, in order, and checks the
 * file once every piece is read (throwing `BlobError` if it is not what the
 * request names). `visit` returning `false` stops the reading.
 */
export type BodyPieces = (visit: (piece: Uint8Array) => boolean | void) => void;

// Requests whose body is in a blob file (`sealBlobRequest()`): hashed from
// the file in pieces, so a big body is never read whole to be fingerprinted.
const blobBodies = new WeakMap<InteractionRequest, BodyPieces>();

// Their fingerprints, once computed. Unlike bytes in memory, such a body
// cannot change under the request: it is named by its SHA-256, a cassette's
// blob file that no longer holds those bytes fails every read, and a spooled
// body's file is this process's own (ADR 0053). One recording asks for
// its request's fingerprint four times (lookup, recording, stamping,
// redaction), and for a 1 GiB body each time costs seconds.
const blobFingerprints = new WeakMap<InteractionRequest, string>();

/** Marks `request` as one whose body `computeFingerprint()` reads through `pieces`. */
export function readBodyInPieces(request: InteractionRequest, pieces: BodyPieces): void {
  blobBodies.set(request, pieces);
}

/** A request's body in pieces when it is kept in a blob file, else `undefined`. */
export function bodyPiecesOf(request: InteractionRequest): BodyPieces | undefined {
  return request.bodyBlob === undefined ? undefined : blobBodies.get(request);
}

/**
 * SHA-256 hex of `json.dumps([protocol, action, target, headers, body_hex],
 * separators=(",", ":"), sort_keys=True)` (interposition's ADR 0002) for a
 * request whose shape is already known to be right.
 *
 * The text is pure ASCII (every code unit from 0x7f up is escaped, hex is
 * ASCII), so hashing it as UTF-8, the encoding every runtime hashes natively,
 * gives the bytes Python hashes. With `keep`, a sealed request remembers its
 * canonical head for the next call (`HeadSlot`).
 */
export function computeFingerprint(request: InteractionRequest, keep = false): string {
  const pieces = bodyPiecesOf(request);
  if (pieces !== undefined && request.bodyBlob!.size > SLICE) {
    const known = blobFingerprints.get(request);
    if (known !== undefined) return known;
    const hash = crypto.createHash("sha256");
    hash.update(HeadSlot.head(request, keep));
    pieces((piece) => {
      for (let start = 0; start < piece.length; start += SLICE) {
        hash.update(toHex(piece, start, Math.min(start + SLICE, piece.length)));
      }
    });
    hash.update('"]');
    const digest = hash.digest("hex");
    if (isImmutable(request)) blobFingerprints.set(request, digest);
    return digest;
  }
  const body = request.body;
  if (body.length <= SLICE) {
    return sha256OfText(wholeText(request, body, keep));
  }
  const hash = crypto.createHash("sha256");
  hash.update(HeadSlot.head(request, keep));
  for (let start = 0; start < body.length; start += SLICE) {
    hash.update(toHex(body, start, Math.min(start + SLICE, body.length)));
  }
  hash.update('"]');
  return hash.digest("hex");
}

/**
 * What a batch throws when a fingerprint it took on trust is not the
 * request's: the caller reads the document again without a batch, which
 * reports the problem exactly where and as it always has.
 */
export const WRONG_FINGERPRINT: unique symbol = Symbol("a claimed fingerprint is wrong");

// How many fingerprints wait before a batch checks them.
const BATCH = 1024;

/**
 * Claimed fingerprints taken on trust while a document is read, and checked
 * together, four at a time, by `digestsMatch()` (ADR 0056). Only where
 * that is faster than one `node:crypto` hash per request: on Deno.
 */
export class FingerprintBatch {
  #texts: string[] = [];
  #claims: string[] = [];

  /** A batch where batching pays, else `undefined`. */
  static create(): FingerprintBatch | undefined {
    return lanesPay() ? new FingerprintBatch() : undefined;
  }

  /**
   * Takes `claimed` as the fingerprint of `request`, to be checked later,
   * when it can be: the body is in memory and the canonical text short.
   * Throws `WRONG_FINGERPRINT` when a full batch holds a wrong one.
   */
  offer(request: InteractionRequest, claimed: unknown): boolean {
    if (typeof claimed !== "string" || claimed.length !== 64 || request.bodyBlob !== undefined) {
      return false;
    }
    const body = request.body;
    // Hex doubles the body: a longer one cannot fit the lanes' longest text.
    if (body.length > maxLanesText >>> 1) return false;
    const text = wholeText(request, body, false);
    if (text.length > maxLanesText) return false;
    this.#texts.push(text);
    this.#claims.push(claimed);
    if (this.#texts.length === BATCH) this.settle();
    return true;
  }

  /** Checks every fingerprint still waiting; throws `WRONG_FINGERPRINT` if one is wrong. */
  settle(): void {
    const texts = this.#texts;
    const claims = this.#claims;
    this.#texts = [];
    this.#claims = [];
    // Fewer than four would leave lanes empty: the native hash is quicker.
    const match = texts.length < 4 ? undefined : digestsMatch(texts, claims);
    if (match === true) return;
    if (match === false) throw WRONG_FINGERPRINT;
    for (let i = 0; i < texts.length; i++) {
      if (sha256OfText(texts[i]!) !== claims[i]) throw WRONG_FINGERPRINT;
    }
  }
}

/** Whether batches pay here: on Deno, where the lanes compile (ADR 0056). */
function lanesPay(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno === "object" && lanesReady();
}

/** The canonical text of a request whose body is in memory, as one string. */
function wholeText(request: InteractionRequest, body: Uint8Array, keep: boolean): string {
  return body.length === 0
    ? HeadSlot.closed(request, keep)
    : `${HeadSlot.head(request, keep)}${toHex(body, 0, body.length)}"]`;
}

/** SHA-256 hex of a short text. */
function sha256OfText(text: string): string {
  return oneShot === undefined
    ? crypto.createHash("sha256").update(text).digest("hex")
    : oneShot("sha256", text, "hex");
}

/**
 * The canonical head of a request built by the library (`sealRequest()`),
 * kept in private fields once computed: its strings and header pairs are
 * frozen, so the head cannot change, and a request replayed many times (a
 * test's fixture, a normalised request looked up by `match()` then
 * `replay()`) pays for building and escape-checking it once. Only `keep`
 * (`fingerprint()`, which lookups call) fills the fields: a parsed
 * cassette's own requests are fingerprinted once and need not hold their
 * heads. The body is not part of it: its bytes cannot be frozen, so they are
 * read on every call. Any other request-shaped object is computed afresh
 * every time.
 */
export class HeadSlot extends Slots {
  #head: string | undefined = undefined;
  // The whole canonical text when the body is empty: the head closed by `"]`.
  #closed: string | undefined = undefined;

  /** The canonical head, `[protocol,action,target,[headers],"`. */
  static head(request: InteractionRequest, keep: boolean): string {
    if (!(#head in request)) return canonicalHead(request);
    const slot = request as unknown as HeadSlot;
    if (slot.#head !== undefined) return slot.#head;
    const head = canonicalHead(request);
    if (keep && isImmutable(request)) slot.#head = head;
    return head;
  }

  /** The canonical text of the request with an empty body. */
  static closed(request: InteractionRequest, keep: boolean): string {
    if (!(#closed in request)) return `${canonicalHead(request)}"]`;
    const slot = request as unknown as HeadSlot;
    if (slot.#closed !== undefined) return slot.#closed;
    const closed = `${HeadSlot.head(request, false)}"]`;
    if (keep && isImmutable(request)) slot.#closed = closed;
    return closed;
  }
}

/** Whether nothing the head is made of can change (always so for sealed requests). */
function isImmutable(request: InteractionRequest): boolean {
  const headers = request.headers;
  if (!Object.isFrozen(request) || !Object.isFrozen(headers)) return false;
  for (let i = 0; i < headers.length; i++) if (!Object.isFrozen(headers[i])) return false;
  return true;
}

/**
 * The canonical text up to the body's hex: `[protocol,action,target,[headers],"`.
 * Most requests need no escaping at all; one check of all their strings
 * together (a string is verbatim exactly when each of its parts is) is
 * cheaper than one per string.
 */
function canonicalHead(request: InteractionRequest): string {
  const headers = request.headers;
  let raw = request.protocol + request.action + request.target;
  for (let i = 0; i < headers.length; i++) raw += headers[i]![0] + headers[i]![1];
  if (isVerbatim(raw)) {
    let head = `["${request.protocol}","${request.action}","${request.target}",[`;
    for (let i = 0; i < headers.length; i++) {
      head += `${i === 0 ? "" : ","}["${headers[i]![0]}","${headers[i]![1]}"]`;
    }
    return `${head}],"`;
  }
  let head = `[${pythonJsonString(request.protocol)},${pythonJsonString(request.action)},${
    pythonJsonString(request.target)
  },[`;
  for (let i = 0; i < headers.length; i++) {
    const [key, value] = headers[i]!;
    head += `${i === 0 ? "" : ","}[${pythonJsonString(key)},${pythonJsonString(value)}]`;
  }
  return `${head}],"`;
}
