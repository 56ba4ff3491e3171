/**
 * An ordered list of string key/value pairs. Order and repeated keys are kept,
 * because both change a request's fingerprint (HTTP headers, gRPC metadata).
 *
 * @example Usage
 * ```ts
 * import type { Pairs } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const headers: Pairs = [["accept", "text/plain"], ["x-trace", "1"], ["x-trace", "2"]];
 * assert.equal(headers.length, 3);
 * ```
 */
export type Pairs = readonly (readonly [string, string])[];

/**
 * Pairs as a caller may supply them: any iterable of `[key, value]` tuples
 * (an array of pairs, a `Map`, a fetch `Headers`) or a plain record.
 *
 * @example Usage
 * ```ts
 * import { createRequest, type PairsInit } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const headers: PairsInit = { accept: "text/plain" };
 * const request = createRequest({ protocol: "http", action: "GET", target: "/", headers });
 * assert.deepEqual(request.headers, [["accept", "text/plain"]]);
 * ```
 */
export type PairsInit = Iterable<readonly [string, string]> | Readonly<Record<string, string>>;

/**
 * Bytes as a caller may supply them. Strings are encoded as UTF-8; byte
 * inputs are copied, so later changes to the caller's buffer cannot reach a
 * cassette.
 *
 * @example Usage
 * ```ts
 * import { createChunk, type BytesInit } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const data: BytesInit = "héllo";
 * assert.equal(createChunk(data, 0).data.length, 6);
 * ```
 */
export type BytesInit = Uint8Array | ArrayBuffer | string;

/**
 * One outgoing request, protocol-agnostic. Build it with `createRequest()`.
 *
 * @example Usage
 * ```ts
 * import { createRequest, type InteractionRequest } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request: InteractionRequest = createRequest({
 *   protocol: "postgres",
 *   action: "SELECT",
 *   target: "users",
 *   body: "SELECT 1",
 * });
 * assert.ok(Object.isFrozen(request));
 * ```
 */
export interface InteractionRequest {
  /** Protocol name, e.g. `"http"`, `"grpc"`, `"mqtt"`. */
  readonly protocol: string;
  /** What is done, e.g. an HTTP method or an RPC name. */
  readonly action: string;
  /** What it is done to, e.g. a URL path or a topic. */
  readonly target: string;
  /** Ordered headers; order and duplicates are part of the fingerprint. */
  readonly headers: Pairs;
  /** Request body. Owned by the request: treat it as read-only. */
  readonly body: Uint8Array<ArrayBuffer>;
  /**
   * Set when the body lives in a blob file beside the cassette file instead
   * of in memory (stores with a `blobThreshold`, ADR 0041). Reading `body` on
   * such a request then reads the file and checks its SHA-256 each time.
   */
  readonly bodyBlob?: BlobRef | undefined;
}

/**
 * One piece of a recorded response. Build it with `createChunk()`.
 *
 * @example Usage
 * ```ts
 * import { createChunk, type ResponseChunk } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const chunk: ResponseChunk = createChunk("data: hi\n\n", 0, [["status_code", "200"]]);
 * assert.equal(chunk.sequence, 0);
 * ```
 */
export interface ResponseChunk {
  /** The bytes of this piece. Owned by the cassette: treat them as read-only. */
  readonly data: Uint8Array<ArrayBuffer>;
  /** Zero-based position of this chunk in its response. */
  readonly sequence: number;
  /** Free-form pairs, e.g. `["status_code", "200"]` on an HTTP response's first chunk. */
  readonly metadata: Pairs;
  /**
   * Set when the bytes live in a blob file beside the cassette file instead
   * of in memory (stores with a `blobThreshold`, ADR 0041). Reading `data` on
   * such a chunk then reads the file and checks its SHA-256 each time;
   * `replay()`, `replayAsync()` and brokers hand out chunks read once, with
   * `blob` unset.
   */
  readonly blob?: BlobRef | undefined;
}

/**
 * Where a chunk's bytes (or a request's body) are kept outside the cassette
 * file: the blob file is named by the SHA-256 of the bytes, so equal bytes
 * are stored once.
 *
 * @example Usage
 * ```ts
 * import { createCassette, createInteraction, createRequest, fileStore } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "big.json");
 * const store = fileStore(path, { createIfMissing: true, blobThreshold: 4 });
 * const request = createRequest({ protocol: "http", action: "GET", target: "/file" });
 * store.save(createCassette([createInteraction(request, ["hello"])]));
 * const [chunk] = store.load().interactions[0]!.responseChunks;
 * assert.deepEqual(chunk!.blob, {
 *   sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
 *   size: 5,
 * });
 * assert.equal(new TextDecoder().decode(chunk!.data), "hello");
 * ```
 */
export interface BlobRef {
  /** SHA-256 of the bytes, 64 lowercase hex characters; also the blob file's name. */
  readonly sha256: string;
  /** Number of bytes. */
  readonly size: number;
}

/**
 * A request, its fingerprint and the ordered chunks answered to it. Build it
 * with `createInteraction()`.
 *
 * @example Usage
 * ```ts
 * import { createInteraction, createRequest, type Interaction } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const interaction: Interaction = createInteraction(
 *   createRequest({ protocol: "http", action: "GET", target: "/" }),
 *   ["a", "b"],
 * );
 * assert.equal(interaction.responseChunks.length, 2);
 * ```
 */
export interface Interaction {
  /** The request as recorded. */
  readonly request: InteractionRequest;
  /** `fingerprint(request)`: 64 lowercase hex characters. */
  readonly fingerprint: string;
  /** At least one chunk, with sequences exactly `0..n-1`. */
  readonly responseChunks: readonly ResponseChunk[];
  /** Free-form pairs about the interaction, e.g. `["recorded_at", "…"]`. */
  readonly metadata: Pairs;
}

/**
 * An ordered, immutable list of interactions with a fingerprint index built
 * once at construction. Build it with `createCassette()` or `parseCassette()`.
 *
 * @example Usage
 * ```ts
 * import { createCassette, type Cassette } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const cassette: Cassette = createCassette();
 * assert.equal(cassette.interactions.length, 0);
 * assert.equal(cassette.index.size, 0);
 * ```
 */
export interface Cassette {
  /** Interactions in recorded order. */
  readonly interactions: readonly Interaction[];
  /**
   * Fingerprint to the positions (ascending) of every interaction with that
   * fingerprint. Read-only: its mutators throw.
   */
  readonly index: ReadonlyMap<string, readonly number[]>;
}

/**
 * A cassette file format: `"json"` (interposition 0.6's layout) or `"yaml"`
 * (the same model, easier to read).
 *
 * @example Usage
 * ```ts
 * import { createCassette, stringifyCassette, type CassetteFormat } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const format: CassetteFormat = "yaml";
 * assert.equal(stringifyCassette(createCassette(), { format }), "interactions: []\n");
 * ```
 */
export type CassetteFormat = "json" | "yaml";

/**
 * A pure function that rewrites a request before it is fingerprinted, so that
 * differences that do not matter (header case, query order, a rotating token)
 * do not break matching. Applied alike when recording and when replaying.
 * Normalisers must be idempotent: normalising twice equals normalising once.
 *
 * @example Usage
 * ```ts
 * import { createRequest, type Normalizer } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const ignoreBody: Normalizer = (request) => createRequest({ ...request, body: "" });
 * const request = createRequest({ protocol: "http", action: "GET", target: "/", body: "x" });
 * assert.equal(ignoreBody(request).body.length, 0);
 * ```
 */
export type Normalizer = (request: InteractionRequest) => InteractionRequest;
