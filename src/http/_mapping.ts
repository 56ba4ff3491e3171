// The HTTP <-> interaction mapping shared by @x/replay/fetch and
// @x/replay/server (ADR 0030): how a web `Request` becomes an
// `InteractionRequest`, how a live `Response` becomes chunks, and how
// recorded chunks become a streamed `Response` again.
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { describe } from "../core/_check.ts";
import { InteractionValidationError } from "../core/errors.ts";
import {
  type BlobReader,
  bodyReaderOf,
  isEmptyChunk,
  sealBlobRequest,
  sealChunk,
  sealRequest,
  unreadText,
} from "../core/_model.ts";
import { createChunk } from "../core/create_chunk.ts";
import { createRequest } from "../core/create_request.ts";
import { EMPTY_BYTES, encodeUtf8 } from "../core/_bytes.ts";
import { pushStream } from "../core/_push_stream.ts";
import type { BlobRef, InteractionRequest, Pairs, ResponseChunk } from "../core/types.ts";

/** The protocol of every HTTP interaction. */
export const HTTP_PROTOCOL = "http";
/** Chunk 0's metadata key for the status code (the ancestor's key). */
export const STATUS_CODE_KEY = "status_code";
/** Chunk 0's metadata key for the status text. */
export const STATUS_TEXT_KEY = "status_text";
/** The prefix of chunk 0's metadata keys that hold response headers. */
export const HEADER_PREFIX = "header:";

/**
 * Headers that describe one connection, not the resource: never recorded,
 * never replayed. `content-length` is handled separately.
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
]);

/** Request headers that are not forwarded upstream: the fetch implementation sets them. */
const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, "host", "content-length"]);

/** Content codings that fetch decodes in Deno, Node and Bun alike. */
const DECODED_CODINGS: ReadonlySet<string> = new Set(["gzip", "x-gzip", "deflate", "br"]);

/** Statuses whose response has no body, so `new Response()` refuses one. */
export const NULL_BODY_STATUSES: ReadonlySet<number> = new Set([101, 103, 204, 205, 304]);

/** What the live call needs beyond the matched request: every header, the signal, redirects. */
export interface LiveContext {
  /** All request headers, not only the matched ones (minus the ones fetch sets itself). */
  readonly headers: Headers;
  /** Aborts the live call. */
  readonly signal: AbortSignal | undefined;
  /** The caller's redirect mode. */
  readonly redirect: RequestInit["redirect"] | undefined;
  /** A body still arriving, sent as it comes (ADR 0053); the request's own `body` is then empty. */
  readonly body?: ArrivingBody | undefined;
}

/** A request body the live call sends as it arrives, with its length when declared. */
export interface ArrivingBody {
  readonly stream: ReadableStream<Uint8Array>;
  readonly length: number | undefined;
}

/**
 * The interaction requests built by the adapters, mapped to what their live
 * call needs. Brokers hand the live responder the very request object they
 * were given, so the responder finds here the headers that took no part in
 * matching (credentials above all) without them ever entering a cassette.
 * Weak keys: an entry lives as long as its request.
 */
export const liveContexts: WeakMap<InteractionRequest, LiveContext> = new WeakMap();

/** Checks `matchHeaders` and returns the names, lower-cased. */
export function headerNames(names: unknown, action: string): ReadonlySet<string> {
  if (names === undefined) return new Set();
  if (
    typeof names !== "object" || names === null ||
    typeof (names as Iterable<unknown>)[Symbol.iterator] !== "function" ||
    typeof names === "string"
  ) {
    throw new TypeError(
      `Cannot ${action}: matchHeaders must be an array of header names, got ${describe(names)}`,
    );
  }
  const set = new Set<string>();
  for (const name of names as Iterable<unknown>) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        `Cannot ${action}: matchHeaders must hold non-empty strings, got ${describe(name)}`,
      );
    }
    set.add(name.toLowerCase());
  }
  return set;
}

/** The absolute URL without its fragment: an HTTP interaction's target. */
export function targetOf(url: string | URL): string {
  const parsed = new URL(url);
  parsed.hash = "";
  return parsed.href;
}

/**
 * The request headers needed later, read before the body (Bun forgets a
 * `FormData` body's content type once the body has been read): all of them
 * when the request may go live, else only the matched ones and the content
 * type.
 */
export function readHeaders(
  headers: Headers,
  match: ReadonlySet<string>,
  all: boolean,
): [string, string][] {
  const entries: [string, string][] = [];
  for (const [name, value] of headers) {
    if (all || match.has(name) || name === "content-type") entries.push([name, value]);
  }
  return entries;
}

/** What the live call needs besides the headers, or `undefined` when it cannot happen. */
export interface LiveOptions {
  readonly signal: AbortSignal | undefined;
  readonly redirect: RequestInit["redirect"] | undefined;
  readonly body?: ArrivingBody | undefined;
}

const byName = ([a]: readonly [string, string], [b]: readonly [string, string]): number =>
  a < b ? -1 : a > b ? 1 : 0;

/** A request body kept in a file: its blob reference and the reader of its folder. */
export interface BlobBody {
  readonly ref: BlobRef;
  readonly reader: BlobReader;
}

/**
 * Builds the interaction request for an HTTP request from its method, target,
 * headers (from `readHeaders()`, names lower-cased) and body (bytes, or a
 * file it was spooled to); only the `match` names are kept. With `live`, remembers what a live call needs.
 * `bodyIsOwned` says that nothing else holds `body` (a server's buffer of a
 * request it read): the request then keeps it rather than a copy.
 */
export function toInteractionRequest(
  method: string,
  target: string,
  headers: [string, string][],
  body: Uint8Array<ArrayBuffer> | BlobBody,
  match: ReadonlySet<string>,
  live: LiveOptions | undefined,
  bodyIsOwned = false,
): InteractionRequest {
  const file = body instanceof Uint8Array ? undefined : body;
  // A spooled body is kept byte for byte (the server holds forms in memory).
  const stableBody = file === undefined
    ? stableMultipart(headers, body as Uint8Array<ArrayBuffer>)
    : EMPTY_BYTES;
  const matched = match.size === 0 ? [] : headers.filter(([name]) => match.has(name));
  // Sorted by name as the Fetch standard iterates them; Bun keeps insertion order.
  if (matched.length > 1) matched.sort(byName);
  const checked = createRequest({
    protocol: HTTP_PROTOCOL,
    action: method.toUpperCase(),
    target,
    headers: matched,
    body: bodyIsOwned ? EMPTY_BYTES : stableBody,
  });
  // createRequest() checks every part; an owned body is not copied.
  const request = file !== undefined
    ? sealBlobRequest(
      checked.protocol,
      checked.action,
      checked.target,
      checked.headers,
      file.ref,
      file.reader,
    )
    : bodyIsOwned && stableBody.length > 0
    ? sealRequest(checked.protocol, checked.action, checked.target, checked.headers, stableBody)
    : checked;
  if (live !== undefined) {
    const forwarded = new Headers();
    for (const [name, value] of headers) {
      if (!NOT_FORWARDED.has(name)) forwarded.append(name, value);
    }
    liveContexts.set(request, {
      headers: forwarded,
      signal: live.signal,
      redirect: live.redirect,
      body: live.body,
    });
  }
  return request;
}

const MULTIPART_FORM = /^multipart\/form-data\s*;(?:.*;)?\s*boundary="?([^";]+)"?/i;

/**
 * Replaces the random boundary that fetch generates for a `FormData` body
 * with one derived from the content, in the body and in the content type
 * (changed in `headers` in place), so the same form gives the same bytes on
 * every run and can be matched. The result is still a valid multipart body:
 * a boundary never occurs inside the parts, and the new one is a hash of them.
 */
export function stableMultipart(
  headers: [string, string][],
  body: Uint8Array<ArrayBuffer>,
): Uint8Array<ArrayBuffer> {
  if (body.length === 0) return body;
  const at = headers.findIndex(([name]) => name === "content-type");
  const type = at === -1 ? undefined : headers[at]![1];
  const found = type === undefined ? null : MULTIPART_FORM.exec(type);
  if (found === null) return body;
  const old = Buffer.from(`--${found[1]!}`, "latin1");
  const source = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const positions: number[] = [];
  for (let i = source.indexOf(old); i !== -1; i = source.indexOf(old, i + old.length)) {
    positions.push(i);
  }
  if (positions.length === 0) return body;
  const hash = createHash("sha256");
  let from = 0;
  for (const position of positions) {
    hash.update(source.subarray(from, position));
    from = position + old.length;
  }
  hash.update(source.subarray(from));
  const boundary = `x-replay-${hash.digest("hex").slice(0, 32)}`;
  const replacement = Buffer.from(`--${boundary}`, "latin1");
  const out = new Uint8Array(body.length + positions.length * (replacement.length - old.length));
  let write = 0;
  from = 0;
  for (const position of positions) {
    out.set(source.subarray(from, position), write);
    write += position - from;
    out.set(replacement, write);
    write += replacement.length;
    from = position + old.length;
  }
  out.set(source.subarray(from), write);
  headers[at] = ["content-type", type!.replace(found[1]!, boundary)];
  return out;
}

/** The content codings named by `content-encoding` values, in the order applied, less `identity`. */
export function codingsOf(values: Iterable<string>): string[] {
  const codings: string[] = [];
  for (const value of values) {
    for (const coding of value.split(",")) {
      const name = coding.trim().toLowerCase();
      if (name !== "" && name !== "identity") codings.push(name);
    }
  }
  return codings;
}

/** Whether every coding is one that fetch decodes (and `decodeBody()` can). */
export function isDecodable(codings: readonly string[]): boolean {
  return codings.length > 0 && codings.every((coding) => DECODED_CODINGS.has(coding));
}

/** One header line as it came: a name and its value. */
export type HeaderLine = readonly [name: string, value: string];

/** Leading and trailing spaces and tabs, which are not part of a header value. */
export const OUTER_WHITESPACE: RegExp = /^[\t ]+|[\t ]+$/g;

/**
 * Chunk 0's metadata for a response from its status, status text and header
 * lines (ADR 0030): `status_code`, `status_text`, then one
 * `header:<lower-case name>` pair per line, sorted by name with the lines of
 * one name in the order they came. Left out: hop-by-hop headers and the
 * headers that `connection` names; with `decoded` (the recorded bytes are
 * decoded ones), `content-encoding` and `content-length`.
 */
export function headerMetadata(
  status: number,
  statusText: string,
  lines: Iterable<HeaderLine>,
  decoded: boolean,
): Pairs {
  const pairs: [string, string][] = [
    [STATUS_CODE_KEY, String(status)],
    [STATUS_TEXT_KEY, statusText],
  ];
  const entries: [string, string][] = [];
  const named = new Set<string>();
  for (const [rawName, rawValue] of lines) {
    const name = rawName.toLowerCase();
    const value = rawValue.replace(OUTER_WHITESPACE, "");
    if (name === "connection") {
      for (const token of value.split(",")) named.add(token.trim().toLowerCase());
    }
    if (HOP_BY_HOP.has(name)) continue;
    if (decoded && (name === "content-encoding" || name === "content-length")) continue;
    entries.push([name, value]);
  }
  // A stable sort by name keeps the lines of one name in their order.
  entries.sort(byName);
  for (const [name, value] of entries) {
    if (!named.has(name)) pairs.push([`${HEADER_PREFIX}${name}`, value]);
  }
  return pairs;
}

/**
 * Chunk 0's metadata for a fetch `Response`, as `headerMetadata()` gives it.
 * Fetch joins repeated header lines with ", " (all but `set-cookie`, whose
 * values it keeps apart), so a fetch response yields one line per name;
 * `content-encoding` and `content-length` are left out when fetch has decoded
 * the body, because the recorded bytes are the decoded ones.
 */
export function responseMetadata(response: Response): Pairs {
  const encoding = response.headers.get("content-encoding");
  const decoded = encoding !== null && isDecodable(codingsOf([encoding]));
  const lines: HeaderLine[] = [];
  let cookiesDone = false;
  for (const [name, value] of response.headers) {
    if (name !== "set-cookie") {
      lines.push([name, value]);
      continue;
    }
    // Bun iterates set-cookie last, and some runtimes once per value.
    if (cookiesDone) continue;
    cookiesDone = true;
    const cookies = typeof response.headers.getSetCookie === "function"
      ? response.headers.getSetCookie()
      : [value];
    for (const cookie of cookies) lines.push(["set-cookie", cookie]);
  }
  return headerMetadata(response.status, response.statusText, lines, decoded);
}

/**
 * A live body as chunks: chunk 0 carries the metadata and the first piece
 * the body delivers (empty data when the body is empty), then one chunk per
 * further piece. Stopping early ends the body's iterator, which cancels it.
 * With `owned`, the pieces are buffers the library allocated for this body
 * alone, kept as they are rather than copied (ADR 0001 copies what callers
 * hand over).
 */
export async function* bodyChunks(
  metadata: Pairs,
  body: AsyncIterable<Uint8Array> | null,
  owned = false,
): AsyncGenerator<ResponseChunk, void, undefined> {
  if (body === null) {
    yield createChunk(new Uint8Array(0), 0, metadata);
    return;
  }
  // Checked and frozen once, as createChunk() would.
  const checked = createChunk(new Uint8Array(0), 0, metadata).metadata;
  let sequence = 0;
  for await (const piece of body) {
    const pairs = sequence === 0 ? checked : EMPTY;
    yield owned
      ? sealChunk(piece as Uint8Array<ArrayBuffer>, sequence, pairs)
      : createChunk(piece, sequence, pairs);
    sequence++;
  }
  if (sequence === 0) yield createChunk(new Uint8Array(0), 0, metadata);
}

/**
 * The live response as chunks: chunk 0 carries the metadata and the first
 * piece the body stream delivers (empty data when the body is empty), then
 * one chunk per further piece. Stopping early cancels the body.
 */
export function responseChunks(
  response: Response,
): AsyncGenerator<ResponseChunk, void, undefined> {
  return bodyChunks(
    responseMetadata(response),
    response.body === null ? null : readPieces(response.body),
  );
}

/** A body stream's pieces; stopping early cancels the stream. */
async function* readPieces(
  body: ReadableStream<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  const reader = body.getReader();
  let done = false;
  try {
    for (;;) {
      const piece = await reader.read();
      if (piece.done) {
        done = true;
        return;
      }
      yield piece.value;
    }
  } finally {
    if (!done) reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

const EMPTY: Pairs = Object.freeze([]);

const STOPPED = new Error("The body stream was cancelled");

/**
 * The body of a request kept in a blob file as a stream that reads the file
 * a piece at a time, as it is pulled (the file is checked once read, and a
 * bad one errors the stream); `undefined` for a body in memory.
 */
function blobBodyStream(request: InteractionRequest): ReadableStream<Uint8Array> | undefined {
  const reader = bodyReaderOf(request);
  const ref = request.bodyBlob;
  if (reader === undefined || ref === undefined) return undefined;
  const pass = pushStream();
  reader.each(ref, async (piece) => {
    // A reader that cancelled stops the reading of the file too.
    if (!pass.open) throw STOPPED;
    await pass.give(piece);
  }).then(() => pass.end(), (error: unknown) => pass.fail(error));
  return pass.stream;
}

/** What the live call of an interaction request sends besides its body. */
export function liveParts(request: InteractionRequest): LiveContext {
  return liveContexts.get(request) ??
    {
      headers: new Headers(request.headers.map(([k, v]) => [k, v])),
      signal: undefined,
      redirect: undefined,
    };
}

/**
 * The body the live call sends as a stream: one still arriving (ADR 0053),
 * or one kept in a blob file; `undefined` for a body in memory.
 */
export function liveBody(request: InteractionRequest): ArrivingBody | undefined {
  const arriving = liveContexts.get(request)?.body;
  if (arriving !== undefined) return arriving;
  const stream = blobBodyStream(request);
  return stream === undefined ? undefined : { stream, length: request.bodyBlob!.size };
}

/** The request init for the live call of an interaction request. */
export function liveInit(request: InteractionRequest): RequestInit {
  const context = liveParts(request);
  const init: RequestInit & { duplex?: "half" } = {
    method: request.action,
    headers: context.headers,
  };
  const body = liveBody(request);
  if (body !== undefined) {
    // A body still arriving, or kept in a blob file (a spooled upload), is
    // sent as a stream, with its length when known (Deno's fetch sends any
    // stream chunked).
    if (body.length !== undefined) {
      const headers = new Headers(context.headers);
      headers.set("content-length", String(body.length));
      init.headers = headers;
    }
    init.body = body.stream;
    init.duplex = "half";
  } else if (request.body.length > 0) init.body = request.body.slice();
  if (context.signal !== undefined) init.signal = context.signal;
  if (context.redirect !== undefined) init.redirect = context.redirect;
  return init;
}

/**
 * A chunk's value for a metadata key, or `undefined`. Indexed, without
 * destructuring: every replay reads chunk 0's frozen pairs, and V8 walks a
 * frozen array through the iterator protocol far slower than by index.
 */
function metadataValue(chunk: ResponseChunk, key: string): string | undefined {
  const metadata = chunk.metadata;
  for (let i = 0; i < metadata.length; i++) {
    const pair = metadata[i]!;
    if (pair[0] === key) return pair[1];
  }
  return undefined;
}

/** The status code recorded on chunk 0; 200 when none is (as the ancestor). */
export function statusOf(chunk: ResponseChunk | undefined): number {
  const text = chunk === undefined ? undefined : metadataValue(chunk, STATUS_CODE_KEY);
  if (text === undefined) return 200;
  const status = Number(text);
  if (!Number.isInteger(status) || status < 200 || status > 599 || text.trim() !== text) {
    throw new RangeError(
      `Cannot replay HTTP response: status_code must be an integer from 200 to 599, got ${
        JSON.stringify(text)
      }`,
    );
  }
  return status;
}

/** Header names (RFC 9110 tokens). */
export const TOKEN: RegExp = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What every runtime accepts in a header value and a status text (RFC 9110 field-value, reason-phrase). */
const FIELD_TEXT = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The header lines a recorded response is replayed with: one per
 * `header:<name>` pair of chunk 0's metadata, in their order, names
 * lower-cased, less hop-by-hop headers (and `content-length` with
 * `dropLength`). A name or value that no runtime would send is an
 * `InteractionValidationError` naming the pair, the same on every runtime.
 * The lines are worked out on every call, into a fresh array: most chunks
 * are replayed once per loaded cassette, and remembering them per chunk cost
 * more than it saved (a `WeakMap` entry and a frozen array per response).
 */
export function recordedHeaderLines(
  chunk0: ResponseChunk | undefined,
  dropLength: boolean,
): HeaderLine[] {
  const lines: HeaderLine[] = [];
  if (chunk0 === undefined) return lines;
  const metadata = chunk0.metadata;
  for (let i = 0; i < metadata.length; i++) {
    const pair = metadata[i]!;
    const key = pair[0];
    if (!key.startsWith(HEADER_PREFIX)) continue;
    const name = key.slice(HEADER_PREFIX.length).toLowerCase();
    if (!TOKEN.test(name)) {
      throw new InteractionValidationError(
        `responseChunks[0].metadata[${i}]`,
        'a header name, "header:" then letters, digits or !#$%&\'*+.^_`|~-',
        JSON.stringify(key),
      );
    }
    const raw = pair[1];
    const value = hasOuterWhitespace(raw) ? raw.replace(OUTER_WHITESPACE, "") : raw;
    if (!FIELD_TEXT.test(value)) {
      throw new InteractionValidationError(
        `responseChunks[0].metadata[${i}]`,
        `a value for header ${
          JSON.stringify(name)
        } without control characters (CR, LF, NUL, …) or characters above U+00FF`,
        JSON.stringify(raw),
      );
    }
    if (HOP_BY_HOP.has(name) || (dropLength && name === "content-length")) continue;
    lines.push([name, value]);
  }
  return lines;
}

/** Whether a value starts or ends with a space or a tab (most recorded values do not). */
function hasOuterWhitespace(value: string): boolean {
  if (value.length === 0) return false;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(value.length - 1);
  return first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09;
}

/** The status text recorded on chunk 0, checked as `recordedHeaderLines()` checks values. */
export function recordedStatusText(chunk0: ResponseChunk | undefined): string {
  const metadata = chunk0?.metadata ?? EMPTY;
  for (let i = 0; i < metadata.length; i++) {
    const pair = metadata[i]!;
    if (pair[0] !== STATUS_TEXT_KEY) continue;
    const value = pair[1];
    if (!FIELD_TEXT.test(value)) {
      throw new InteractionValidationError(
        `responseChunks[0].metadata[${i}]`,
        "a status text of visible characters, spaces and tabs",
        JSON.stringify(value),
      );
    }
    return value;
  }
  return "";
}

/** Status, status text and headers from chunk 0's metadata, less what is not replayed. */
function responseInit(chunk0: ResponseChunk | undefined, dropLength: boolean): ResponseInit {
  const status = statusOf(chunk0);
  // The checked lines as they are: `new Response()` copies them into its own `Headers`.
  const headers = recordedHeaderLines(chunk0, dropLength) as [string, string][];
  return { status, statusText: recordedStatusText(chunk0), headers };
}

/** Options for `openResponse()`. */
export interface OpenResponseOptions {
  /** The request's method: a `HEAD` response has no body. */
  readonly method: string;
  /** Aborts the response: before it opens, the call rejects; after, the body errors. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Leave out `content-length` (a server lets its runtime frame the stream;
   * a recorded length may not fit bytes recorded by other means).
   */
  readonly dropLength: boolean;
  /** Called with a function that ends the body stream, while the stream is open. */
  readonly track?: ((end: (reason: unknown) => void) => () => void) | undefined;
  /**
   * Called when the body is given up before its end (cancelled, aborted or
   * ended by `track`): stops the live call behind it at once, rather than when
   * its next piece arrives.
   */
  readonly onCancel?: ((reason: unknown) => void) | undefined;
  /** Called once the whole body has been delivered (or there is none). */
  readonly onDone?: (() => void) | undefined;
  /**
   * `false` when the body is read only by the library's own server, which
   * writes each piece to its socket unchanged: the chunks' bytes are then
   * handed out as they are, not copied.
   *
   * @default {true}
   */
  readonly copy?: boolean | undefined;
  /**
   * The URL the response answers for, which its `url` then gives, as a
   * fetched response's does (`new Response()` alone gives `""`).
   */
  readonly url?: string | undefined;
}

/** A live call's signal, and how to abort it or stop following the caller's. */
export interface LiveSignal {
  /** Aborted by the caller's signal or by `cancel`. */
  readonly signal: AbortSignal;
  /** Aborts the live call: the consumer gave up the body. */
  readonly cancel: (reason: unknown) => void;
  /** Stops listening to the caller's signal: the response is complete. */
  readonly dispose: () => void;
}

/**
 * The signal of a live call: aborted by the caller's signal, or by `cancel`
 * when the consumer gives up the body. `dispose` detaches it from the
 * caller's signal, which may be long-lived and shared by many requests.
 */
export function liveSignal(signal: AbortSignal | undefined): LiveSignal {
  const controller = new AbortController();
  const detach = new AbortController();
  if (signal !== undefined) {
    if (signal.aborted) controller.abort(signal.reason);
    else {
      signal.addEventListener("abort", () => controller.abort(signal.reason), {
        once: true,
        signal: detach.signal,
      });
    }
  }
  return {
    signal: controller.signal,
    cancel: (reason) => {
      detach.abort();
      controller.abort(reason);
    },
    dispose: () => detach.abort(),
  };
}

/** Rejects with the signal's reason once it aborts; never settles otherwise. */
function aborted(signal: AbortSignal): { promise: Promise<never>; dispose: () => void } {
  let dispose = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    dispose = () => signal.removeEventListener("abort", onAbort);
  });
  return { promise, dispose };
}

/** `iterator.next()` for sync and async iterators, raced against the signal. */
async function next(
  iterator: Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>,
  signal: AbortSignal | undefined,
): Promise<IteratorResult<ResponseChunk>> {
  if (signal === undefined) return await iterator.next();
  if (signal.aborted) throw signal.reason;
  const abort = aborted(signal);
  try {
    return await Promise.race([iterator.next(), abort.promise]);
  } finally {
    abort.dispose();
  }
}

/**
 * `next()`, without a trip through the microtask queue when the iterator is
 * synchronous (a synchronous broker's chunks are in memory: nothing to race
 * the signal against).
 */
function nextNow(
  iterator: Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>,
  signal: AbortSignal | undefined,
): IteratorResult<ResponseChunk> | Promise<IteratorResult<ResponseChunk>> {
  if (Symbol.asyncIterator in iterator) return next(iterator, signal);
  if (signal?.aborted) throw signal.reason;
  const result = iterator.next();
  return isPromise(result) ? next({ next: () => result }, signal) : result;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/** Ends an iterator without waiting for it, ignoring its own failure. */
function stop(iterator: Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>): void {
  try {
    const result = iterator.return?.();
    if (isPromise(result)) result.then(undefined, () => undefined);
  } catch {
    // The iterator failed while closing; the caller already has its answer.
  }
}

// A chunk parsed from a file keeps its text until its bytes are first read
// (ADR 0050): the consumer's copy is then encoded from that text, in one pass,
// and the cassette is spared bytes of its own.

/** A copy of the chunk's bytes for the consumer. */
function copyOf(chunk: ResponseChunk): Uint8Array<ArrayBuffer> {
  const text = unreadText(chunk);
  return text === undefined ? chunk.data.slice() : encodeUtf8(text);
}

/** The chunk's bytes for a consumer that never changes them (see `OpenResponseOptions.copy`). */
export function bytesOf(chunk: ResponseChunk): Uint8Array<ArrayBuffer> {
  const text = unreadText(chunk);
  return text === undefined ? chunk.data : encodeUtf8(text);
}

const isContentType = ([name]: readonly [string, string]): boolean => name === "content-type";

/**
 * The body of a one-chunk response: the text itself where the recorded
 * headers name a content type (a string body would otherwise add
 * `text/plain`), else a copy of the bytes.
 */
function wholeBody(chunk: ResponseChunk, init: ResponseInit): string | Uint8Array<ArrayBuffer> {
  const text = unreadText(chunk);
  return text !== undefined && (init.headers as [string, string][]).some(isContentType)
    ? text
    : copyOf(chunk);
}

/** What `new Response()` takes as a body. */
type ResponseBody = ConstructorParameters<typeof Response>[0];

/** `Response`, extended with the URL it answers for. */
type LocatedResponseClass = new (body: ResponseBody, init: ResponseInit, url: string) => Response;

/** The runtime's `Response` that `located` extends. */
let locatedBase: typeof Response | undefined;
let located: LocatedResponseClass | undefined;

/**
 * `new Response(body, init)`, answering for `url` when given one. The URL
 * lives in a private field that a `url` getter of a subclass reads: defining
 * an own `url` on each response instead cost about 5 % of a replayed `fetch`
 * call on Node 24 (a runtime call, and a shape of its own for every
 * response). The subclass extends whatever `Response` is global at the call,
 * as `new Response()` would, and a clone answers for the same URL.
 */
function responseFor(body: ResponseBody, init: ResponseInit, url: string | undefined): Response {
  if (url === undefined) return new Response(body, init);
  if (locatedBase !== Response) {
    locatedBase = Response;
    located = locatedClass(Response);
  }
  return new located!(body, init, url);
}

function locatedClass(Base: typeof Response): LocatedResponseClass {
  class LocatedResponse extends Base {
    readonly #url: string;
    constructor(body: ResponseBody, init: ResponseInit, url: string) {
      super(body, init);
      this.#url = url;
    }
    /** The URL `response` answers for, if it is one of these. */
    static urlOf(response: Response): string | undefined {
      return #url in response ? (response as LocatedResponse).#url : undefined;
    }
  }
  const proto = Base.prototype;
  const baseUrl = Object.getOwnPropertyDescriptor(proto, "url");
  Object.defineProperties(LocatedResponse.prototype, {
    url: {
      configurable: true,
      enumerable: baseUrl?.enumerable ?? true,
      get(this: Response): string {
        return LocatedResponse.urlOf(this) ?? (baseUrl?.get?.call(this) as string);
      },
    },
    clone: {
      configurable: true,
      writable: true,
      value(this: Response): Response {
        const copy = proto.clone.call(this);
        const url = LocatedResponse.urlOf(this);
        return url === undefined || copy.url === url
          ? copy
          : Object.defineProperty(copy, "url", { value: url });
      },
    },
  });
  return LocatedResponse;
}

/**
 * Turns recorded (or live) chunks into a `Response` whose body is a
 * pull-based stream: each read takes one chunk from the iterator, so nothing
 * is read ahead of the consumer. Each chunk's bytes are copied before they
 * are handed out, so the cassette's buffers never reach user code (unless
 * `copy` is `false`: no user code reads the body).
 */
export async function openResponse(
  iterator: Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>,
  options: OpenResponseOptions,
): Promise<Response> {
  const signal = options.signal;
  let first: IteratorResult<ResponseChunk>;
  try {
    const step = nextNow(iterator, signal);
    first = isPromise(step) ? await step : step;
  } catch (error) {
    options.onCancel?.(error);
    stop(iterator);
    throw error;
  }
  const chunk0 = first.done ? undefined : first.value;
  let init: ResponseInit;
  let peeked: IteratorResult<ResponseChunk> | undefined;
  const pending = chunk0 === undefined || isEmptyChunk(chunk0) ? undefined : chunk0;
  try {
    init = responseInit(chunk0, options.dropLength);
    if (NULL_BODY_STATUSES.has(init.status!) || options.method.toUpperCase() === "HEAD") {
      // No body to stream: drain what is left so a streaming recording completes.
      if (!first.done) {
        for (let result = await next(iterator, signal); !result.done;) {
          result = await next(iterator, signal);
        }
      }
      options.onDone?.();
      return responseFor(null, init, options.url);
    }
    if (!first.done && !(Symbol.asyncIterator in iterator)) {
      // A synchronous broker's chunks are already in memory: looking one ahead
      // costs nothing, and a one-chunk answer (most JSON APIs) then gets a
      // plain body of known length instead of a stream.
      peeked = (iterator as Iterator<ResponseChunk>).next();
      if (peeked.done) {
        const response = responseFor(
          pending === undefined ? null : wholeBody(pending, init),
          init,
          options.url,
        );
        options.onDone?.();
        return response;
      }
    }
  } catch (error) {
    // A bad recording (status, header) or a failing iterator: stop the live side too.
    options.onCancel?.(error);
    stop(iterator);
    throw error;
  }
  const piece = options.copy === false ? bytesOf : copyOf;
  let unsent = pending;
  let finished = first.done === true;
  let cleanup = (): void => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller): void {
      if (finished) {
        options.onDone?.();
        controller.close();
        return;
      }
      const end = (reason: unknown): void => {
        if (finished) return;
        finished = true;
        cleanup();
        options.onCancel?.(reason);
        stop(iterator);
        controller.error(reason);
      };
      const untrack = options.track?.(end);
      const onAbort = (): void => end(signal!.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      cleanup = () => {
        signal?.removeEventListener("abort", onAbort);
        untrack?.();
      };
    },
    async pull(controller): Promise<void> {
      if (unsent !== undefined) {
        controller.enqueue(piece(unsent));
        unsent = undefined;
        return;
      }
      for (;;) {
        if (finished) return;
        let result: IteratorResult<ResponseChunk>;
        try {
          if (peeked === undefined) result = await iterator.next();
          else {
            result = peeked;
            peeked = undefined;
          }
        } catch (error) {
          if (finished) return;
          finished = true;
          cleanup();
          options.onCancel?.(error);
          throw error;
        }
        if (finished) return;
        if (result.done) {
          finished = true;
          cleanup();
          options.onDone?.();
          controller.close();
          return;
        }
        // An empty piece carries nothing to deliver; the next one may.
        if (isEmptyChunk(result.value)) continue;
        controller.enqueue(piece(result.value));
        return;
      }
    },
    cancel(reason): void {
      if (finished) return;
      finished = true;
      cleanup();
      options.onCancel?.(reason);
      stop(iterator);
    },
  }, { highWaterMark: 0 });
  try {
    return responseFor(body, init, options.url);
  } catch (error) {
    // An invalid recorded status text or header: nothing will read the body.
    finished = true;
    cleanup();
    options.onCancel?.(error);
    stop(iterator);
    throw error;
  }
}
