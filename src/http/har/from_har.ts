import { checkOptions, describe } from "../../core/_check.ts";
import { encodeUtf8 } from "../../core/_bytes.ts";
import { formatOffset, OFFSET_KEY } from "../../core/_timing.ts";
import { createCassette } from "../../core/create_cassette.ts";
import { createChunk } from "../../core/create_chunk.ts";
import { createInteraction } from "../../core/create_interaction.ts";
import { createRequest } from "../../core/create_request.ts";
import type { Cassette, Interaction, Pairs } from "../../core/types.ts";
import {
  codingsOf,
  headerNames,
  HTTP_PROTOCOL,
  readHeaders,
  targetOf,
  toInteractionRequest,
} from "../_mapping.ts";
import {
  decodeBase64,
  decodeCodings,
  formBody,
  type FormParam,
  pollyEncodedChunks,
  type ReadFile,
  sideFile,
} from "./_body.ts";
import {
  headerValue,
  headMetadata,
  headOf,
  isHeadKey,
  type ResponseHead,
  sameHead,
} from "./_head.ts";
import {
  array,
  type HarObject,
  isObject,
  nameValues,
  number,
  object,
  optionalNumber,
  optionalText,
  pairs,
  text,
} from "./_read.ts";
import { HarFormatError } from "./har_format_error.ts";

/** An entry `fromHar()` left out, and why. */
export interface HarSkip {
  /** The entry, e.g. `log.entries[4]`. */
  readonly path: string;
  /** Why it cannot be replayed, e.g. `status 0: no response (a failed or blocked request)`. */
  readonly reason: string;
}

/** Options for `fromHar()`. */
export interface FromHarOptions {
  /**
   * Request header names (any case) that take part in matching, as in
   * `createReplayFetch()`: they are kept in the interaction requests. Other
   * request headers of the HAR (cookies, credentials, user agents) are left
   * out. Entries written by `toHar()` keep their own headers whatever this
   * says.
   *
   * @default {[]}
   */
  readonly matchHeaders?: readonly string[] | undefined;
  /**
   * Reads a side file, given the name a HAR's `_file` field holds (Playwright
   * writes bodies beside the HAR with `content: "attach"`). The name has
   * been checked to be a plain file name (no folder, no `..`); the reader
   * should still refuse links. Without it, an entry with a side file throws.
   *
   * @default {undefined}
   */
  readonly readFile?: ((name: string) => Uint8Array) | undefined;
  /**
   * Told about each entry that cannot be replayed and is left out: a
   * request that got no response (status 0 or -1, as browsers and
   * Playwright write failed and blocked requests) or an interim one (1xx,
   * such as a WebSocket upgrade).
   *
   * @default {undefined} (skipped silently)
   */
  readonly onSkip?: ((skip: HarSkip) => void) | undefined;
}

/** What one conversion needs besides the entry. */
interface Context {
  readonly match: ReadonlySet<string>;
  readonly readFile: ReadFile | undefined;
  readonly onSkip: ((skip: HarSkip) => void) | undefined;
}

/**
 * Reads a HAR 1.2 file (from browser devtools, Playwright's `recordHar`,
 * Polly.js's `recording.har`, mitmproxy, Charles, or `toHar()`) as a
 * cassette, one interaction per entry, so it replays through
 * `createReplayFetch()` and the server.
 *
 * Each entry maps as a recording through `fetch` would have made it (ADR
 * 0030, 0034): protocol `"http"`, the method, the URL without its fragment,
 * the `matchHeaders` request headers (none by default), the body
 * (`postData.text`, its `_file`, or its `params` rebuilt as a form);
 * chunk 0 holds `status_code`, `status_text`, each response header as
 * `header:<name>` (lower-cased, repeated lines kept apart) and the body
 * (`content.text`, base64 when `encoding` says so, or `content._file`).
 * HAR bodies are decoded, so `content-encoding` and a `content-length` that
 * does not fit are left out; Polly.js's raw compressed pieces are decoded.
 * A redirect without a `location` header gets one from `redirectURL`. The
 * entry's start becomes `recorded_at`, its timings chunk 0's `offset_ms`.
 * Polly.js's repeated requests (`_id`, `_order`) keep their order, so
 * `playback: "sequential"` replays them in turn. Entries written by
 * `toHar()` come back exactly as they were (chunk boundaries, timing,
 * headers, metadata), unless their HAR fields were edited.
 *
 * @param text The HAR file's text.
 * @param options Matched request headers, a side-file reader, and what to do with skipped entries.
 * @returns The frozen cassette.
 * @throws {HarFormatError} When the text is not JSON, a value has the wrong
 * shape, a side file is unsafe or cannot be read, or `toHar()`'s extension
 * fields contradict the entry.
 * @throws {TypeError} When `text` is not a string, `options` not an object,
 * or `matchHeaders` not an array of names.
 *
 * @example Replay a HAR through fetch
 * ```ts
 * import { createBroker } from "@x/replay";
 * import { createReplayFetch } from "@x/replay/fetch";
 * import { fromHar } from "@x/replay/har";
 * import assert from "node:assert/strict";
 *
 * const har = JSON.stringify({
 *   log: {
 *     version: "1.2",
 *     creator: { name: "WebInspector", version: "537.36" },
 *     entries: [{
 *       startedDateTime: "2026-01-05T10:00:00.000Z",
 *       time: 42,
 *       request: { method: "GET", url: "https://api.example.com/users/1", headers: [] },
 *       response: {
 *         status: 200,
 *         statusText: "OK",
 *         headers: [{ name: "Content-Type", value: "application/json" }],
 *         content: { size: 8, mimeType: "application/json", text: '{"id":1}' },
 *       },
 *       timings: { send: 1, wait: 40, receive: 1 },
 *     }],
 *   },
 * });
 * const fetch = createReplayFetch(createBroker({ cassette: fromHar(har) }));
 * const response = await fetch("https://api.example.com/users/1");
 * assert.equal(response.headers.get("content-type"), "application/json");
 * assert.deepEqual(await response.json(), { id: 1 });
 * ```
 */
export function fromHar(text: string, options?: FromHarOptions): Cassette {
  if (typeof text !== "string") {
    throw new TypeError(`Cannot read HAR: expected text, got ${describe(text)}`);
  }
  checkOptions(options, "read HAR");
  const readFile = options?.readFile;
  if (readFile !== undefined && typeof readFile !== "function") {
    throw new TypeError(`Cannot read HAR: readFile must be a function, got ${describe(readFile)}`);
  }
  const onSkip = options?.onSkip;
  if (onSkip !== undefined && typeof onSkip !== "function") {
    throw new TypeError(`Cannot read HAR: onSkip must be a function, got ${describe(onSkip)}`);
  }
  const context: Context = {
    match: headerNames(options?.matchHeaders, "read HAR"),
    readFile,
    onSkip,
  };
  let document: unknown;
  try {
    document = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HarFormatError("", `Cannot read HAR: invalid JSON: ${reason}`, { cause: error });
  }
  const log = object(object(document, "HAR").log, "log");
  const entries = array(log.entries, "log.entries");
  const interactions: Interaction[] = [];
  for (const index of playbackOrder(entries)) {
    const interaction = readEntry(entries[index], `log.entries[${index}]`, context);
    if (interaction !== undefined) interactions.push(interaction);
  }
  return createCassette(interactions);
}

/**
 * The entries' positions in the order they become interactions: the file's,
 * except that the entries Polly.js gave one `_id` take its slots in the
 * order of their `_order`, so the n-th occurrence of a request is the n-th
 * recording of it.
 */
function playbackOrder(entries: readonly unknown[]): number[] {
  const order = entries.map((_, index) => index);
  const groups = new Map<string, number[]>();
  entries.forEach((entry, index) => {
    if (
      !isObject(entry) || typeof entry._id !== "string" ||
      optionalNumber(entry._order) === undefined
    ) {
      return;
    }
    const group = groups.get(entry._id);
    if (group === undefined) groups.set(entry._id, [index]);
    else group.push(index);
  });
  for (const slots of groups.values()) {
    if (slots.length < 2) continue;
    const byOrder = [...slots].sort((a, b) =>
      ((entries[a] as HarObject)._order as number) - ((entries[b] as HarObject)._order as number) ||
      a - b
    );
    slots.forEach((slot, i) => (order[slot] = byOrder[i]!));
  }
  return order;
}

function readEntry(value: unknown, path: string, context: Context): Interaction | undefined {
  const entry = object(value, path);
  const request = object(entry.request, `${path}.request`);
  const response = object(entry.response, `${path}.response`);
  const status = number(response.status, `${path}.response.status`);
  if (entry._replay !== undefined) {
    return ownEntry(entry, request, response, status, path, context);
  }
  if (!Number.isInteger(status) || status < 200 || status > 599) {
    const reason = status <= 0
      ? `status ${status}: no response (a failed or blocked request)`
      : status < 200
      ? `status ${status}: an interim response (such as a WebSocket upgrade), which cannot be replayed`
      : `status ${status}: not an HTTP status`;
    context.onSkip?.({ path, reason });
    return undefined;
  }
  return foreignEntry(entry, request, response, status, path, context);
}

/** An entry from another producer, mapped as a recording through fetch would have made it. */
function foreignEntry(
  entry: HarObject,
  request: HarObject,
  response: HarObject,
  status: number,
  path: string,
  context: Context,
): Interaction {
  const method = text(request.method, `${path}.request.method`);
  const url = text(request.url, `${path}.request.url`);
  let target: string;
  try {
    target = targetOf(url);
  } catch {
    throw new HarFormatError(
      `${path}.request.url`,
      `expected an absolute URL, got ${describe(url)}`,
    );
  }
  const requestHeaders = nameValues(request.headers, `${path}.request.headers`);
  const postData = request.postData === undefined || request.postData === null
    ? undefined
    : object(request.postData, `${path}.request.postData`);
  const body = postData === undefined
    ? new Uint8Array(0)
    : foreignPostData(postData, `${path}.request.postData`, context);
  // The headers a fetch adapter would have read: the matched ones, and the
  // content type (for a multipart boundary), from postData when not sent.
  const wanted = new Headers();
  for (const [name, value] of requestHeaders) {
    const lower = name.toLowerCase();
    if (lower.startsWith(":") || !(context.match.has(lower) || lower === "content-type")) continue;
    try {
      wanted.append(lower, value);
    } catch {
      throw new HarFormatError(
        `${path}.request.headers`,
        `expected a valid header, got ${JSON.stringify(name)}: ${JSON.stringify(value)}`,
      );
    }
  }
  const mimeType = optionalText(postData?.mimeType, `${path}.request.postData.mimeType`);
  if (!wanted.has("content-type") && body.length > 0 && mimeType !== undefined && mimeType !== "") {
    try {
      wanted.set("content-type", mimeType);
    } catch {
      // Not a valid header value: only a fetch client would have sent it, and it could not.
    }
  }
  const interactionRequest = toInteractionRequest(
    method,
    target,
    readHeaders(wanted, context.match, true),
    body,
    context.match,
    undefined,
  );

  const head = foreignHead(response, status, path);
  const contentPath = `${path}.response.content`;
  const content = object(response.content, contentPath);
  let headers = head.headers;
  const encoding = headerValue(headers, "content-encoding");
  const applied = encoding === undefined ? [] : codingsOf([encoding]);
  const withoutCoding = (): (readonly [string, string])[] =>
    headers.filter(([name]) => name !== "content-encoding" && name !== "content-length");
  // HAR holds decoded bodies, except Polly.js's raw compressed pieces.
  const raw =
    applied.length > 0 && content.encoding === "base64" && typeof content.text === "string"
      ? pollyEncodedChunks(content.text, `${contentPath}.text`)
      : undefined;
  let responseBody: Uint8Array<ArrayBuffer>;
  if (raw === undefined) {
    responseBody = contentBytes(content, contentPath, context);
    if (applied.length > 0) headers = withoutCoding();
  } else {
    // Decoded as fetch would decode them; a coding we cannot undo stays, with its header.
    const decoded = decodeCodings(raw, applied);
    responseBody = decoded ?? raw;
    if (decoded !== undefined) headers = withoutCoding();
  }
  const length = headerValue(headers, "content-length");
  if (length !== undefined && length.trim() !== String(responseBody.length)) {
    headers = headers.filter(([name]) => name !== "content-length");
  }
  const redirect = optionalText(response.redirectURL, `${path}.response.redirectURL`);
  if (status >= 300 && status < 400 && redirect && headerValue(headers, "location") === undefined) {
    headers = [...headers, ["location", redirect]];
  }
  // Sorted by name as a recording sorts them (a stable sort keeps repeated lines in order).
  const sorted = [...headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const metadata = headMetadata({ ...head, headers: sorted });
  const offset = entryTime(entry);
  if (offset !== undefined) metadata.push([OFFSET_KEY, formatOffset(offset)]);
  const started = optionalText(entry.startedDateTime, `${path}.startedDateTime`);
  const time = started === undefined ? Number.NaN : Date.parse(started);
  return createInteraction(interactionRequest, [createChunk(responseBody, 0, metadata)], {
    metadata: Number.isNaN(time) ? [] : [["recorded_at", new Date(time).toISOString()]],
  });
}

/** The status line and headers of another producer's response: names lower-cased, pseudo-headers out. */
function foreignHead(response: HarObject, status: number, path: string): ResponseHead {
  const headers = nameValues(response.headers, `${path}.response.headers`)
    .map(([name, value]): [string, string] => [name.toLowerCase(), value])
    // HTTP/2 pseudo-headers (`:status`) are not headers a response can carry.
    .filter(([name]) => !name.startsWith(":"));
  const statusText = optionalText(response.statusText, `${path}.response.statusText`) ?? "";
  return { status, statusText, headers };
}

/** How long the response took to arrive whole: the sum of the timings that happened, else `time`. */
function entryTime(entry: HarObject): number | undefined {
  const timings = isObject(entry.timings) ? entry.timings : {};
  let total = 0;
  let any = false;
  // `ssl` is part of `connect`.
  for (const key of ["blocked", "dns", "connect", "send", "wait", "receive"]) {
    const value = optionalNumber(timings[key]);
    if (value !== undefined && value >= 0) {
      total += value;
      any = true;
    }
  }
  if (any && total > 0) return total;
  const time = optionalNumber(entry.time);
  return time !== undefined && time >= 0 ? time : any ? total : undefined;
}

/** A response body: `text` (base64 when `encoding` says so), a side file, or nothing. */
function contentBytes(content: HarObject, path: string, context: Context): Uint8Array<ArrayBuffer> {
  if (content._file !== undefined && content.text === undefined) {
    return sideFile(content._file, `${path}._file`, context.readFile);
  }
  const body = optionalText(content.text, `${path}.text`);
  if (body === undefined) return new Uint8Array(0);
  const encoding = optionalText(content.encoding, `${path}.encoding`);
  return encoding === "base64" ? decodeBase64(body, `${path}.text`) : encodeUtf8(body);
}

/** The body of another producer's request. */
function foreignPostData(
  postData: HarObject,
  path: string,
  context: Context,
): Uint8Array<ArrayBuffer> {
  if (postData._file !== undefined && !postData.text) {
    return sideFile(postData._file, `${path}._file`, context.readFile);
  }
  const body = optionalText(postData.text, `${path}.text`) ?? "";
  if (body !== "") return encodeUtf8(body);
  const params = postData.params === undefined ? [] : array(postData.params, `${path}.params`);
  if (params.length === 0) return new Uint8Array(0);
  const form: FormParam[] = params.map((item, i) => {
    const param = object(item, `${path}.params[${i}]`);
    return {
      name: text(param.name, `${path}.params[${i}].name`),
      value: optionalText(param.value, `${path}.params[${i}].value`) ?? "",
      fileName: optionalText(param.fileName, `${path}.params[${i}].fileName`),
      contentType: optionalText(param.contentType, `${path}.params[${i}].contentType`),
    };
  });
  const mimeType = optionalText(postData.mimeType, `${path}.mimeType`) ?? "";
  const rebuilt = formBody(mimeType, form);
  if (rebuilt === undefined) {
    throw new HarFormatError(
      `${path}.params`,
      `cannot rebuild a body of type ${JSON.stringify(mimeType)} from params (only ` +
        "application/x-www-form-urlencoded and multipart/form-data with a boundary)",
    );
  }
  return rebuilt;
}

/** An entry written by `toHar()`: every value as it was in the cassette. */
function ownEntry(
  entry: HarObject,
  request: HarObject,
  response: HarObject,
  status: number,
  path: string,
  context: Context,
): Interaction {
  const extension = object(entry._replay, `${path}._replay`);
  const method = text(request.method, `${path}.request.method`);
  const target = extension.target === undefined
    ? text(request.url, `${path}.request.url`)
    : text(extension.target, `${path}._replay.target`);
  const headers = nameValues(request.headers, `${path}.request.headers`);
  let body: Uint8Array<ArrayBuffer> = new Uint8Array(0);
  if (request.postData !== undefined) {
    const postData = object(request.postData, `${path}.request.postData`);
    const given = optionalText(postData.text, `${path}.request.postData.text`) ?? "";
    body = extension.postDataEncoding === "base64"
      ? decodeBase64(given, `${path}.request.postData.text`)
      : encodeUtf8(given);
  }
  const responseBody = contentBytes(
    object(response.content, `${path}.response.content`),
    `${path}.response.content`,
    context,
  );
  const chunkPath = `${path}._replay.chunks`;
  const layout = array(extension.chunks, chunkPath).map((item, i) => {
    const chunk = object(item, `${chunkPath}[${i}]`);
    const size = number(chunk.size, `${chunkPath}[${i}].size`);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new HarFormatError(`${chunkPath}[${i}].size`, `expected a byte count, got ${size}`);
    }
    return { size, metadata: pairs(chunk.metadata ?? [], `${chunkPath}[${i}].metadata`) };
  });
  if (layout.length === 0) {
    throw new HarFormatError(chunkPath, "expected at least one chunk, got none");
  }
  const total = layout.reduce((sum, chunk) => sum + chunk.size, 0);
  if (total !== responseBody.length) {
    throw new HarFormatError(
      chunkPath,
      `the chunk sizes add up to ${total} bytes but the body has ${responseBody.length} ` +
        "(was the body edited? remove _replay.chunks to import it as one chunk)",
    );
  }
  // Chunk 0's metadata as stored, unless the HAR's status or headers were
  // edited since: then those win, and the rest of the stored metadata stays.
  const head: ResponseHead = {
    status,
    statusText: optionalText(response.statusText, `${path}.response.statusText`) ?? "",
    headers: nameValues(response.headers, `${path}.response.headers`),
  };
  const stored = layout[0]!.metadata;
  const first: Pairs = sameHead(headOf(stored), head)
    ? stored
    : [...headMetadata(head), ...stored.filter(([key]) => !isHeadKey(key))];
  let offset = 0;
  const chunks = layout.map((chunk, i) => {
    const data = responseBody.subarray(offset, offset + chunk.size);
    offset += chunk.size;
    return createChunk(data, i, i === 0 ? first : chunk.metadata);
  });
  const metadata = extension.metadata === undefined
    ? []
    : pairs(extension.metadata, `${path}._replay.metadata`);
  return createInteraction(
    createRequest({ protocol: HTTP_PROTOCOL, action: method, target, headers, body }),
    chunks,
    { metadata },
  );
}
