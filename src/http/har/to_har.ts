import { Buffer } from "node:buffer";
import { decodeUtf8, toBase64 } from "../../core/_bytes.ts";
import { checkCassette } from "../../core/_model.ts";
import { offsetOf } from "../../core/_timing.ts";
import type { Cassette, Interaction, Pairs } from "../../core/types.ts";
import { HTTP_PROTOCOL } from "../_mapping.ts";
import { headerValue, headOf } from "./_head.ts";

/** The `creator.version` of the HAR files written; a test keeps it equal to the package's. */
const CREATOR_VERSION = "0.1.0";

const EPOCH = "1970-01-01T00:00:00.000Z";
const LOCALHOST = "http://localhost";

/** `name=value` of each cookie header value (the part before the first `;`). */
function cookies(values: readonly string[]): { name: string; value: string }[] {
  return values.flatMap((header) =>
    header.split(";").slice(0, 1).map((part) => {
      const at = part.indexOf("=");
      return at === -1
        ? { name: part.trim(), value: "" }
        : { name: part.slice(0, at).trim(), value: part.slice(at + 1).trim() };
    })
  );
}

/**
 * The URL a HAR entry shows for a target: the target itself when it is an
 * absolute http(s) URL as the URL parser writes it, else one made from it
 * (a bare path under `http://localhost`, anything else escaped there), the target then kept in
 * `_replay.target`.
 */
function urlOf(target: string): string {
  try {
    const url = new URL(target);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href;
  } catch {
    // Not an absolute URL.
  }
  try {
    // A bare path reads as itself under localhost; `//host/x` would name another host.
    const url = new URL(target.startsWith("/") ? target : `/${target}`, LOCALHOST);
    if (url.origin === LOCALHOST) return url.href;
  } catch {
    // Not a path a URL can hold.
  }
  return `${LOCALHOST}/${encodeURIComponent(target)}`;
}

/** The body as HAR text: UTF-8 as it is, anything else as base64. */
function bodyText(bytes: Uint8Array): { text: string; base64: boolean } {
  const text = decodeUtf8(bytes);
  return text === undefined ? { text: toBase64(bytes), base64: true } : { text, base64: false };
}

function headerList(
  pairs: readonly (readonly [string, string])[],
): { name: string; value: string }[] {
  return pairs.map(([name, value]) => ({ name, value }));
}

function entryOf(interaction: Interaction, index: number): Record<string, unknown> {
  const { request, responseChunks, metadata } = interaction;
  if (request.protocol !== HTTP_PROTOCOL) {
    throw new RangeError(
      `Cannot write HAR: interactions[${index}] has protocol ${
        JSON.stringify(request.protocol)
      }, and HAR holds HTTP exchanges only`,
    );
  }
  const url = urlOf(request.target);
  const chunks = responseChunks.map((chunk) => chunk.data);
  const body = Buffer.concat(chunks);
  const size = body.length;
  const chunk0 = responseChunks[0]!;
  const head = headOf(chunk0.metadata);
  const contentType = headerValue(head.headers, "content-type");
  const content: Record<string, unknown> = { size, mimeType: contentType ?? "x-unknown" };
  if (size > 0) {
    const { text, base64 } = bodyText(body);
    content.text = text;
    if (base64) content.encoding = "base64";
  }
  // Read once: a body kept in a blob file is read from it on every access.
  const requestBody = request.body;
  const requestEntry: Record<string, unknown> = {
    method: request.action,
    url,
    httpVersion: "HTTP/1.1",
    cookies: cookies(
      request.headers.filter(([name]) => name.toLowerCase() === "cookie").map(([, value]) => value),
    ),
    headers: headerList(request.headers),
    queryString: [...new URL(url).searchParams].map(([name, value]) => ({ name, value })),
    headersSize: -1,
    bodySize: requestBody.length,
  };
  const extension: Record<string, unknown> = {};
  if (url !== request.target) extension.target = request.target;
  if (requestBody.length > 0) {
    const { text, base64 } = bodyText(requestBody);
    requestEntry.postData = {
      mimeType: headerValue(request.headers, "content-type") ?? "application/octet-stream",
      text,
      params: [],
    };
    if (base64) extension.postDataEncoding = "base64";
  }
  extension.metadata = metadata;
  // Sizes from the bytes read above: a blob chunk is read once.
  extension.chunks = responseChunks.map((chunk, i) => ({
    size: chunks[i]!.length,
    metadata: chunk.metadata,
  }));
  // Timing: time to the first chunk, then to the last (ADR 0022's offsets).
  const first = offsetOf(chunk0) ?? 0;
  const last = offsetOf(responseChunks[responseChunks.length - 1]!) ?? first;
  const receive = Math.max(0, last - first);
  const started = startOf(metadata);
  return {
    startedDateTime: started,
    time: first + receive,
    request: requestEntry,
    response: {
      status: head.status,
      statusText: head.statusText,
      httpVersion: "HTTP/1.1",
      cookies: cookies(
        head.headers.filter(([name]) => name.toLowerCase() === "set-cookie").map(([, value]) =>
          value
        ),
      ),
      headers: headerList(head.headers),
      content,
      redirectURL: headerValue(head.headers, "location") ?? "",
      headersSize: -1,
      bodySize: size,
    },
    cache: {},
    timings: { send: 0, wait: first, receive },
    _replay: extension,
  };
}

/** The entry's start: the interaction's `recorded_at` when it is a date, else the epoch. */
function startOf(metadata: Pairs): string {
  const stamp = metadata.find(([key]) => key === "recorded_at")?.[1];
  const time = stamp === undefined ? Number.NaN : Date.parse(stamp);
  return Number.isNaN(time) ? EPOCH : new Date(time).toISOString();
}

/**
 * Writes a cassette of HTTP interactions as HAR 1.2 text, to open in a
 * browser's devtools (Network panel, import), a HAR viewer, or to hand to
 * Playwright's `routeFromHAR`. One entry per interaction, in cassette order:
 * method, URL, the interaction's request headers and body; the status,
 * status text and headers of chunk 0's metadata (one HAR header per
 * `header:` entry), the whole body (UTF-8 text, or base64 with `encoding`),
 * `recorded_at` as `startedDateTime`, and the recorded offsets as timings.
 *
 * What HAR has no field for is kept in `_`-prefixed extension fields, which
 * HAR readers ignore and `fromHar()` reads back (`_replay`): each chunk's
 * size and metadata (so chunk boundaries and `offset_ms` timing survive),
 * the interaction's metadata, a target that is not an absolute URL (the
 * ancestor's bare paths), and whether a request body is base64. So
 * `fromHar(toHar(cassette))` is the same cassette, fingerprints included.
 * Blob chunks are read (ADR 0041): the HAR is self-contained.
 *
 * @param cassette The cassette; every interaction must have protocol `"http"`.
 * @returns The HAR text: JSON, two-space indented, with a final newline.
 * @throws {RangeError} When an interaction is not HTTP.
 * @throws {InteractionValidationError} When `cassette` is not a cassette.
 * @throws {BlobError} When a blob chunk's file is missing or altered.
 *
 * @example Export, and read back the same cassette
 * ```ts
 * import { createCassette, createChunk, createInteraction, createRequest, stringifyCassette } from "@x/replay";
 * import { fromHar, toHar } from "@x/replay/har";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "https://api.example.com/events" });
 * const cassette = createCassette([createInteraction(request, [
 *   createChunk("data: one\n\n", 0, [["status_code", "200"], ["header:content-type", "text/event-stream"], ["offset_ms", "12"]]),
 *   createChunk("data: two\n\n", 1, [["offset_ms", "35"]]),
 * ])]);
 * const har = JSON.parse(toHar(cassette));
 * assert.equal(har.log.entries[0].response.content.text, "data: one\n\ndata: two\n\n");
 * assert.deepEqual(har.log.entries[0].timings, { send: 0, wait: 12, receive: 23 });
 * assert.equal(stringifyCassette(fromHar(toHar(cassette))), stringifyCassette(cassette));
 * ```
 */
export function toHar(cassette: Cassette): string {
  const { interactions } = checkCassette(cassette);
  const entries = interactions.map(entryOf);
  const har = {
    log: {
      version: "1.2",
      creator: { name: "@x/replay", version: CREATOR_VERSION },
      pages: [],
      entries,
    },
  };
  return `${JSON.stringify(har, null, 2)}\n`;
}
