// Chunk 0's metadata as a HAR response head and back. The mapping of ADR
// 0030 (`status_code`, `status_text`, one `header:<name>` entry per header
// line) is read and written here only, so HAR follows it wherever it goes.
import { HEADER_PREFIX, STATUS_CODE_KEY, STATUS_TEXT_KEY } from "../_mapping.ts";
import type { Pairs } from "../../core/types.ts";

/** A response's status line and headers, as HAR holds them. */
export interface ResponseHead {
  readonly status: number;
  readonly statusText: string;
  /** In order, repeated names as separate lines. */
  readonly headers: readonly (readonly [string, string])[];
}

/**
 * What chunk 0's metadata says of the response: the first `status_code`
 * (200 when there is none or it is not an integer, as replay reads it), the
 * status text and every `header:` entry in order.
 */
export function headOf(metadata: Pairs): ResponseHead {
  let status: number | undefined;
  let statusText: string | undefined;
  const headers: (readonly [string, string])[] = [];
  for (const [key, value] of metadata) {
    if (key === STATUS_CODE_KEY) {
      if (status === undefined) {
        const parsed = Number(value);
        status = value.trim() !== "" && Number.isInteger(parsed) ? parsed : 200;
      }
    } else if (key === STATUS_TEXT_KEY) statusText ??= value;
    else if (key.startsWith(HEADER_PREFIX)) headers.push([key.slice(HEADER_PREFIX.length), value]);
  }
  return { status: status ?? 200, statusText: statusText ?? "", headers };
}

/** Whether a metadata key is one `headOf()` reads. */
export function isHeadKey(key: string): boolean {
  return key === STATUS_CODE_KEY || key === STATUS_TEXT_KEY || key.startsWith(HEADER_PREFIX);
}

/** Chunk 0's metadata for a response head, in the order a recording writes it. */
export function headMetadata(head: ResponseHead): [string, string][] {
  return [
    [STATUS_CODE_KEY, String(head.status)],
    [STATUS_TEXT_KEY, head.statusText],
    ...head.headers.map(([name, value]): [string, string] => [`${HEADER_PREFIX}${name}`, value]),
  ];
}

/** Whether two heads say the same. */
export function sameHead(a: ResponseHead, b: ResponseHead): boolean {
  return a.status === b.status && a.statusText === b.statusText &&
    a.headers.length === b.headers.length &&
    a.headers.every(([name, value], i) => b.headers[i]![0] === name && b.headers[i]![1] === value);
}

/** The first value of a header (any case), or `undefined`. */
export function headerValue(
  headers: readonly (readonly [string, string])[],
  name: string,
): string | undefined {
  for (const [key, value] of headers) if (key.toLowerCase() === name) return value;
  return undefined;
}
