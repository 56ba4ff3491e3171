// The machine-readable explanation a replay server gives with a miss: the
// request as it was matched, and the recorded interactions nearest to it.
import { decodeUtf8, toBase64 } from "../../core/_bytes.ts";
import { bodySize } from "../../core/_model.ts";
import { HTTP_PROTOCOL, STATUS_CODE_KEY } from "../_mapping.ts";
import type { Cassette, Interaction, InteractionRequest, Pairs } from "../../core/types.ts";

/** The first line of a miss response's body, as the ancestor's adapter answers. */
export const MISS_TEXT = "Interaction Not Found";

/** How many nearest interactions an explanation lists. */
const NEAREST = 3;
/** Bodies longer than this are cut in an explanation. */
const BODY_LIMIT = 64 * 1024;
/** Targets are compared on at most this many characters, so a miss costs little. */
const COMPARE_LIMIT = 256;
/** At most this many candidates of one tier get an edit distance. */
const CANDIDATE_LIMIT = 2000;

type BodyView =
  | { readonly text: string; readonly truncated?: true }
  | { readonly base64: string; readonly truncated?: true }
  | { readonly blob: string; readonly size: number };

/** A body for an explanation; one kept in a blob file (recorded, or spooled) is named, not read. */
function bodyViewOf(request: InteractionRequest): BodyView {
  const blob = request.bodyBlob;
  return blob === undefined ? bodyView(request.body) : { blob: blob.sha256, size: blob.size };
}

/**
 * Whether a recorded body holds the request's bytes. A body in a blob file
 * is read only when the sizes agree (so no more than the request's own body
 * is read); one that cannot be read counts as different.
 */
function sameBody(request: InteractionRequest, recorded: InteractionRequest): boolean {
  const blob = recorded.bodyBlob;
  const own = request.bodyBlob;
  // Two blob files are the same bytes exactly when their hashes are.
  if (blob !== undefined && own !== undefined) return blob.sha256 === own.sha256;
  if (blob === undefined && own === undefined) return sameBytes(request.body, recorded.body);
  if (bodySize(recorded) !== bodySize(request)) return false;
  try {
    return sameBytes(request.body, recorded.body);
  } catch {
    return false;
  }
}

function bodyView(body: Uint8Array): BodyView {
  const cut = body.length > BODY_LIMIT;
  const shown = cut ? body.subarray(0, BODY_LIMIT) : body;
  // A cut may split a UTF-8 sequence: drop up to three trailing bytes to find text.
  for (let trim = 0; trim <= (cut ? 3 : 0); trim++) {
    const text = decodeUtf8(shown.subarray(0, shown.length - trim));
    if (text !== undefined) return cut ? { text, truncated: true } : { text };
  }
  return cut ? { base64: toBase64(shown), truncated: true } : { base64: toBase64(shown) };
}

function pathOf(target: string): { origin: string; path: string } {
  try {
    const url = new URL(target);
    return { origin: url.origin, path: url.pathname };
  } catch {
    const query = target.indexOf("?");
    return { origin: "", path: query === -1 ? target : target.slice(0, query) };
  }
}

/** Levenshtein distance on the first `COMPARE_LIMIT` characters. */
function distance(left: string, right: string): number {
  const a = left.slice(0, COMPARE_LIMIT);
  const b = right.slice(0, COMPARE_LIMIT);
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function samePairs(left: Pairs, right: Pairs): boolean {
  return left.length === right.length &&
    left.every(([key, value], i) => key === right[i]![0] && value === right[i]![1]);
}

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  return true;
}

/** What differs between the request and a recorded one. */
function differences(request: InteractionRequest, recorded: InteractionRequest): string[] {
  const found: string[] = [];
  if (request.action !== recorded.action) found.push("method");
  if (request.target !== recorded.target) found.push("target");
  if (!samePairs(request.headers, recorded.headers)) found.push("headers");
  if (!sameBody(request, recorded)) found.push("body");
  return found;
}

/**
 * Tier of a recorded request: 0 same method, origin and path; 1 same origin
 * and path; 2 same method and origin; 3 anything else.
 */
function tierOf(request: InteractionRequest, recorded: InteractionRequest): number {
  const want = pathOf(request.target);
  const have = pathOf(recorded.target);
  const samePath = want.origin === have.origin && want.path === have.path;
  const sameMethod = request.action === recorded.action;
  if (samePath) return sameMethod ? 0 : 1;
  return sameMethod && want.origin === have.origin ? 2 : 3;
}

function describeInteraction(
  request: InteractionRequest,
  interaction: Interaction,
  index: number,
): Record<string, unknown> {
  const status = interaction.responseChunks[0]?.metadata.find(([key]) => key === STATUS_CODE_KEY);
  return {
    index,
    method: interaction.request.action,
    target: interaction.request.target,
    headers: interaction.request.headers,
    body: bodyViewOf(interaction.request),
    fingerprint: interaction.fingerprint,
    status: status === undefined ? 200 : Number(status[1]),
    differs: differences(request, interaction.request),
  };
}

/** The nearest recorded HTTP interactions to a request, best first. */
function nearest(cassette: Cassette, request: InteractionRequest): Record<string, unknown>[] {
  const tiers: number[][] = [[], [], [], []];
  cassette.interactions.forEach((interaction, index) => {
    if (interaction.request.protocol !== HTTP_PROTOCOL) return;
    tiers[tierOf(request, interaction.request)]!.push(index);
  });
  const chosen: number[] = [];
  const want = `${request.action} ${request.target}`;
  for (const tier of tiers) {
    if (chosen.length >= NEAREST) break;
    const ranked = tier.slice(0, CANDIDATE_LIMIT).map((index) => {
      const recorded = cassette.interactions[index]!.request;
      return { index, cost: distance(want, `${recorded.action} ${recorded.target}`) };
    }).sort((a, b) => a.cost - b.cost || a.index - b.index);
    for (const { index } of ranked.slice(0, NEAREST - chosen.length)) chosen.push(index);
  }
  return chosen.map((index) => describeInteraction(request, cassette.interactions[index]!, index));
}

/** The body of a miss response: the ancestor's text, a newline, then JSON. */
export function missBody(
  cassette: Cassette,
  request: InteractionRequest,
  fingerprint: string,
): string {
  const explanation = {
    error: MISS_TEXT,
    request: {
      method: request.action,
      target: request.target,
      headers: request.headers,
      body: bodyViewOf(request),
      fingerprint,
    },
    nearest: nearest(cassette, request),
  };
  return `${MISS_TEXT}\n${JSON.stringify(explanation, null, 2)}\n`;
}
