// The live call of createFetchResponder({ client: "node:http" }): node:http
// (or node:https), which Deno, Node and Bun all provide, because it shows what
// fetch hides: each header line as the upstream sent it, the reason phrase,
// and the body's bytes before any content decoding (ADR 0030).
import type { ClientRequest, IncomingMessage } from "node:http";
import {
  bodyChunks,
  codingsOf,
  type HeaderLine,
  headerMetadata,
  isDecodable,
  liveBody,
  liveParts,
} from "../_mapping.ts";
import type { InteractionRequest, ResponseChunk } from "../../core/types.ts";
import { drained } from "../_drained.ts";

/**
 * A body announced at least this long (a download, not an event stream) is
 * recorded in chunks of this size: its piece boundaries (64 KiB socket reads)
 * mean nothing, and every chunk costs a hash and, above a store's blob
 * threshold, a file of its own.
 */
const DOWNLOAD_CHUNK = 1024 * 1024;

/** Methods whose requests carry a body, so an empty one is announced as `content-length: 0`. */
const BODY_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH"]);

/** The raw header lines of a node:http message. */
function linesOf(raw: readonly string[]): HeaderLine[] {
  const lines: HeaderLine[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) lines.push([raw[i]!, raw[i + 1]!]);
  return lines;
}

/** Sends the request and resolves with the response head, or rejects (network error, abort). */
async function send(url: URL, request: InteractionRequest): Promise<IncomingMessage> {
  const { headers, signal } = liveParts(request);
  const http = url.protocol === "https:" ? await import("node:https") : await import("node:http");
  const outgoing: Record<string, string> = {};
  for (const [name, value] of headers) outgoing[name] = value;
  // A body still arriving, or kept in a blob file (a spooled upload), is
  // written as it is read; one of unknown length goes chunked.
  const streamed = liveBody(request);
  const stream = streamed?.stream;
  const body = streamed === undefined ? request.body : undefined;
  const length = body === undefined ? streamed!.length : body.length;
  if (length !== undefined && (length > 0 || BODY_METHODS.has(request.action))) {
    outgoing["content-length"] = String(length);
  }
  return await new Promise<IncomingMessage>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const call = http.request(url, { method: request.action, headers: outgoing });
    const onAbort = (): void => {
      call.destroy(signal!.reason instanceof Error ? signal!.reason : new Error("Aborted"));
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    call.once("error", (error) => {
      signal?.removeEventListener("abort", onAbort);
      reject(error);
    });
    call.once("response", (response) => {
      signal?.removeEventListener("abort", onAbort);
      if (signal !== undefined) {
        // From here on, aborting ends the body instead.
        const onBodyAbort = (): void => {
          response.destroy(signal.reason instanceof Error ? signal.reason : new Error("Aborted"));
        };
        signal.addEventListener("abort", onBodyAbort, { once: true });
        response.once("close", () => signal.removeEventListener("abort", onBodyAbort));
      }
      resolve(response);
    });
    if (stream !== undefined) {
      writeStream(call, stream).catch((error: unknown) => {
        call.destroy(error instanceof Error ? error : new Error(String(error)));
      });
      return;
    }
    // A body in memory is held once (bounded by the server's body limit) and written as it is.
    call.end(body!.length > 0 ? body : undefined);
  });
}

/** Writes a request body stream with backpressure, then ends the request. */
async function writeStream(call: ClientRequest, stream: ReadableStream<Uint8Array>): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (call.destroyed) return;
      if (!call.write(value)) await drained(call);
    }
    call.end();
  } finally {
    if (call.destroyed) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/** The body's pieces, as `Uint8Array`s; stopping early destroys the source. */
async function* pieces(
  source: AsyncIterable<unknown> & { destroy(error?: Error): unknown },
): AsyncGenerator<Uint8Array, void, undefined> {
  let done = false;
  try {
    for await (const piece of source) {
      const bytes = piece as Uint8Array;
      yield new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
    done = true;
  } finally {
    if (!done) source.destroy();
  }
}

/** How many gathered chunks a download may be read ahead of its consumer. */
const READ_AHEAD = 4;

/**
 * The pieces joined into chunks of `size` bytes (the last one shorter), read
 * up to `READ_AHEAD` chunks ahead of the consumer: while a recording writes
 * one chunk to its blob file, the next ones keep arriving.
 */
async function* gathered(
  source: AsyncGenerator<Uint8Array, void, undefined>,
  size: number,
): AsyncGenerator<Uint8Array, void, undefined> {
  const ready: Uint8Array[] = [];
  let ended = false;
  let failed: { error: unknown } | undefined;
  let stopped = false;
  let wake: (() => void) | undefined;
  let room: (() => void) | undefined;
  const signal = (): void => {
    wake?.();
    wake = undefined;
  };
  const pump = async (): Promise<void> => {
    let buffer = new Uint8Array(size);
    let filled = 0;
    try {
      for await (const piece of source) {
        let at = 0;
        while (at < piece.length) {
          const taken = Math.min(size - filled, piece.length - at);
          buffer.set(piece.subarray(at, at + taken), filled);
          filled += taken;
          at += taken;
          if (filled === size) {
            ready.push(buffer);
            signal();
            buffer = new Uint8Array(size);
            filled = 0;
            while (ready.length >= READ_AHEAD && !stopped) {
              await new Promise<void>((resolve) => (room = resolve));
            }
            if (stopped) return;
          }
        }
      }
      if (filled > 0) ready.push(buffer.subarray(0, filled));
    } catch (error) {
      failed = { error };
    } finally {
      ended = true;
      signal();
    }
  };
  const pumping = pump();
  try {
    for (;;) {
      if (ready.length > 0) {
        const chunk = ready.shift()!;
        room?.();
        room = undefined;
        yield chunk;
        continue;
      }
      if (failed !== undefined) throw failed.error;
      if (ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stopped = true;
    room?.();
    if (!ended) await source.return(undefined);
    await pumping;
  }
}

/**
 * Undoes one content coding. "deflate" means zlib-wrapped deflate, but some
 * servers send it raw (fetch accepts both): the first byte tells them apart.
 */
async function undo(
  source: AsyncGenerator<Uint8Array, void, undefined>,
  coding: string,
): Promise<AsyncGenerator<Uint8Array, void, undefined>> {
  const zlib = await import("node:zlib");
  const { pipeline, Readable } = await import("node:stream");
  const first = await source.next();
  if (first.done) return source;
  let decoder: NodeJS.ReadWriteStream & AsyncIterable<unknown> & { destroy(): unknown };
  if (coding === "br") decoder = zlib.createBrotliDecompress();
  else if (coding !== "deflate") decoder = zlib.createGunzip();
  else if ((first.value[0]! & 0x0f) === 0x08) decoder = zlib.createInflate();
  else decoder = zlib.createInflateRaw();
  async function* replayed(): AsyncGenerator<Uint8Array, void, undefined> {
    yield first.value as Uint8Array;
    yield* source;
  }
  // pipeline() destroys both ends when either fails or the decoder is destroyed,
  // which ends the source generator and so the response.
  pipeline(Readable.from(replayed()), decoder, () => {});
  return pieces(decoder);
}

/**
 * The live answer to `request` at `url` over node:http(s), as chunks: the
 * metadata from the response's own header lines and reason phrase, the body
 * decoded unless `keepEncoding` (then recorded with its `content-encoding`
 * and `content-length`, as sent). A body announced at 1 MiB or more comes
 * in chunks of 1 MiB; any other keeps the pieces as they arrived. Redirects
 * are not followed: a proxy hands them to its client.
 */
export async function* nodeHttpChunks(
  url: URL,
  request: InteractionRequest,
  keepEncoding: boolean,
): AsyncGenerator<ResponseChunk, void, undefined> {
  const response = await send(url, request);
  const lines = linesOf(response.rawHeaders);
  const codings = codingsOf(
    lines.filter(([name]) => name.toLowerCase() === "content-encoding").map(([, value]) => value),
  );
  const decode = !keepEncoding && isDecodable(codings);
  const metadata = headerMetadata(
    response.statusCode ?? 0,
    response.statusMessage ?? "",
    lines,
    decode,
  );
  let body = pieces(response);
  if (decode) {
    for (const coding of [...codings].reverse()) body = await undo(body, coding);
  }
  const length = Number(response.headers["content-length"] ?? Number.NaN);
  if (length < DOWNLOAD_CHUNK || Number.isNaN(length)) {
    yield* bodyChunks(metadata, body);
    return;
  }
  // The gathered chunks are fresh buffers of this body's alone: no copy.
  yield* bodyChunks(metadata, gathered(body, DOWNLOAD_CHUNK), true);
}
