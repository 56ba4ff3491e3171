// The live call of createFetchResponder({ client: "node:http" }): node:http
// (or node:https), which Deno, Node and Bun all provide, because it shows what
// fetch hides: each header line as the upstream sent it, the reason phrase,
// and the body's bytes before any content decoding (ADR 0030).
import type { IncomingMessage } from "node:http";
import {
  bodyChunks,
  codingsOf,
  type HeaderLine,
  headerMetadata,
  isDecodable,
  liveParts,
} from "../_mapping.ts";
import type { InteractionRequest, ResponseChunk } from "../../core/types.ts";

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
  const body = request.body;
  if (body.length > 0 || BODY_METHODS.has(request.action)) {
    outgoing["content-length"] = String(body.length);
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
    // The body is held once (bounded by the server's body limit) and written as it is.
    call.end(body.length > 0 ? body : undefined);
  });
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
 * and `content-length`, as sent). Redirects are not followed: a proxy hands
 * them to its client.
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
  if (decode) { for (const coding of [...codings].reverse()) body = await undo(body, coding); }
  yield* bodyChunks(metadata, body);
}
