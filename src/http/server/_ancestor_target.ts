// Targets for a cassette whose HTTP targets are all bare paths, the style of
// interposition-http-adapter 0.4 (ADR 0030, 0025). That server runs under
// an ASGI server, whose scope holds the path percent-decoded (`/café` for a
// client's `/caf%C3%A9`) and the query as the client sent it; the target is
// that path, plus `?query` when there is one. Here the incoming URL has
// been through the WHATWG parser, which percent-encodes what the client
// sent raw, so the target is rebuilt the way the ancestor saw it.
import { HTTP_PROTOCOL } from "../_mapping.ts";
import type { Cassette } from "../../core/types.ts";

const decoder = new TextDecoder();
const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

/** Percent-decodes `%XX` escapes whose byte `decode(byte)` accepts, as UTF-8 (bad sequences become U+FFFD). */
function percentDecode(text: string, decode: (byte: number) => boolean): string {
  if (!text.includes("%")) return text;
  const out: string[] = [];
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) out.push(decoder.decode(new Uint8Array(bytes)));
    bytes = [];
  };
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "%" && HEX_PAIR.test(text.slice(i + 1, i + 3))) {
      const byte = Number.parseInt(text.slice(i + 1, i + 3), 16);
      if (decode(byte)) {
        bytes.push(byte);
        i += 2;
        continue;
      }
    }
    flush();
    out.push(text[i]!);
  }
  flush();
  return out.join("");
}

const everyByte = (): boolean => true;

/**
 * The bytes WHATWG's query encoding escapes that a client may have sent raw
 * (space, `"`, `'`, `<`, `>` and everything beyond ASCII): a query compared
 * with these decoded matches whichever spelling was recorded.
 */
const reencoded = (byte: number): boolean =>
  byte >= 0x80 || byte === 0x20 || byte === 0x22 || byte === 0x27 || byte === 0x3c ||
  byte === 0x3e;

/** A bare target with its query's re-encodable escapes decoded: two spellings of one query meet. */
function looseKey(target: string): string {
  const at = target.indexOf("?");
  return at === -1
    ? target
    : `${target.slice(0, at + 1)}${percentDecode(target.slice(at + 1), reencoded)}`;
}

/**
 * Whether a cassette is in the ancestor's style: it has HTTP interactions
 * and every HTTP target is a bare path.
 */
export function hasBarePathTargets(cassette: Cassette): boolean {
  let paths = 0;
  for (const { request } of cassette.interactions) {
    if (request.protocol !== HTTP_PROTOCOL) continue;
    if (!request.target.startsWith("/")) return false;
    paths++;
  }
  return paths > 0;
}

/**
 * How the server names the target of an incoming URL for a cassette of bare
 * paths: the percent-decoded path (a decoded `#` ends it, as the ancestor's
 * URL parser ends it there) and the query; when the cassette holds the same
 * query spelled with those characters raw or escaped, the recorded spelling.
 */
export function ancestorTargets(cassette: Cassette): (url: URL) => string {
  const recorded = new Set<string>();
  const byLooseKey = new Map<string, string>();
  for (const { request } of cassette.interactions) {
    if (request.protocol !== HTTP_PROTOCOL) continue;
    recorded.add(request.target);
    const key = looseKey(request.target);
    if (!byLooseKey.has(key)) byLooseKey.set(key, request.target);
  }
  return (url) => {
    const path = percentDecode(url.pathname, everyByte);
    const fragment = path.indexOf("#");
    const target = fragment === -1 ? `${path}${url.search}` : path.slice(0, fragment);
    if (recorded.has(target)) return target;
    return byLooseKey.get(looseKey(target)) ?? target;
  };
}
