// Bodies in HAR: base64 text, side files (`_file`), Polly.js's raw
// compressed chunks, and form bodies given only as `params`.
import { Buffer } from "node:buffer";
import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from "node:zlib";
import { encodeUtf8 } from "../../core/_bytes.ts";
import { describe } from "../../core/_check.ts";
import { HarFormatError } from "./har_format_error.ts";

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decodes base64 as producers write it: standard alphabet, padding
 * optional, line breaks allowed. Anything else is an error, never bytes
 * made up from garbage.
 */
export function decodeBase64(value: string, path: string): Uint8Array<ArrayBuffer> {
  const compact = value.replace(/[\r\n\t ]/g, "");
  const unpadded = compact.replace(/=+$/, "");
  if (!BASE64.test(compact) || unpadded.length % 4 === 1) {
    throw new HarFormatError(path, `expected base64, got ${describe(value)}`);
  }
  const decoded = Buffer.from(unpadded, "base64");
  const bytes = new Uint8Array(decoded.byteLength);
  bytes.set(decoded);
  return bytes;
}

/** Reads a side file by the name a HAR gives it. */
export type ReadFile = (name: string) => Uint8Array;

/**
 * A side file's bytes (`_file`, as Playwright writes with `content:
 * "attach"`). The name must be a plain file name beside the HAR: no folder,
 * no `..`, nothing absolute, no control character, so a HAR from elsewhere
 * cannot make the reader open another file.
 */
export function sideFile(
  name: unknown,
  path: string,
  readFile: ReadFile | undefined,
): Uint8Array<ArrayBuffer> {
  if (typeof name !== "string") {
    throw new HarFormatError(path, `expected a file name, got ${describe(name)}`);
  }
  // deno-lint-ignore no-control-regex
  if (name === "" || name === "." || name === ".." || /[/\\:\u0000-\u001f]/.test(name)) {
    throw new HarFormatError(
      path,
      `expected a plain file name beside the HAR, got ${
        JSON.stringify(name)
      } (side files are read only from the HAR's own folder)`,
    );
  }
  if (readFile === undefined) {
    throw new HarFormatError(
      path,
      `the body is in the side file ${
        JSON.stringify(name)
      }, and no readFile option was given to read it`,
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = readFile(name);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HarFormatError(path, `cannot read the side file ${JSON.stringify(name)}: ${reason}`, {
      cause: error,
    });
  }
  if (!(bytes instanceof Uint8Array)) {
    throw new HarFormatError(
      path,
      `readFile must return a Uint8Array for ${JSON.stringify(name)}, got ${describe(bytes)}`,
    );
  }
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return copy;
}

/**
 * Undoes content codings (gzip, deflate, br), last applied first; `undefined`
 * when one is unknown or the bytes do not decode.
 */
export function decodeCodings(
  bytes: Uint8Array,
  applied: readonly string[],
): Uint8Array<ArrayBuffer> | undefined {
  let current: Uint8Array = bytes;
  try {
    for (const coding of [...applied].reverse()) {
      if (coding === "gzip" || coding === "x-gzip") current = gunzipSync(current);
      else if (coding === "br") current = brotliDecompressSync(current);
      else if (coding === "deflate") {
        // Servers send zlib-wrapped deflate as the standard says, or raw deflate.
        try {
          current = inflateSync(current);
        } catch {
          current = inflateRawSync(current);
        }
      } else return undefined;
    }
  } catch {
    return undefined;
  }
  const out = new Uint8Array(current.byteLength);
  out.set(current);
  return out;
}

/**
 * Polly.js's node-http adapter keeps a content-encoded body as it came: the
 * text is a JSON array of base64 pieces (with `encoding: "base64"`). The
 * pieces joined, or `undefined` when the text is not that.
 */
export function pollyEncodedChunks(
  text: string,
  path: string,
): Uint8Array<ArrayBuffer> | undefined {
  if (!text.startsWith("[")) return undefined;
  let pieces: unknown;
  try {
    pieces = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(pieces) || !pieces.every((piece) => typeof piece === "string")) {
    return undefined;
  }
  const decoded = pieces.map((piece, i) => decodeBase64(piece as string, `${path}[${i}]`));
  return new Uint8Array(Buffer.concat(decoded));
}

/** A form parameter of `postData.params`. */
export interface FormParam {
  readonly name: string;
  readonly value: string;
  readonly fileName: string | undefined;
  readonly contentType: string | undefined;
}

const BOUNDARY = /;\s*boundary="?([^";]+)"?/i;

/**
 * The body a form sent, rebuilt from `postData.params` when a producer left
 * out the text: URL-encoded, or multipart with the boundary of the MIME
 * type. `undefined` for other types (or multipart without a boundary).
 */
export function formBody(
  mimeType: string,
  params: readonly FormParam[],
): Uint8Array<ArrayBuffer> | undefined {
  const type = mimeType.split(";")[0]!.trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") {
    return encodeUtf8(
      new URLSearchParams(params.map(({ name, value }): [string, string] => [name, value]))
        .toString(),
    );
  }
  const boundary = BOUNDARY.exec(mimeType)?.[1];
  if (type !== "multipart/form-data" || boundary === undefined) return undefined;
  const quote = (value: string) => value.replace(/"/g, "%22").replace(/\r?\n/g, " ");
  let body = "";
  for (const param of params) {
    body += `--${boundary}\r\nContent-Disposition: form-data; name="${quote(param.name)}"`;
    if (param.fileName !== undefined) body += `; filename="${quote(param.fileName)}"`;
    body += "\r\n";
    if (param.contentType !== undefined) body += `Content-Type: ${param.contentType}\r\n`;
    body += `\r\n${param.value}\r\n`;
  }
  return encodeUtf8(`${body}--${boundary}--\r\n`);
}
