// The light part of the interception test helpers: what a client saw, how
// headers are compared, a plain http.get, and which runtime runs the tests.
// No HTTP client packages here (some read host facts when they load, which
// Deno's test run does not grant): those are in _intercept.ts.
import http from "node:http";
import type { IncomingHttpHeaders } from "node:http";

/** What a client saw of one response. */
export interface Seen {
  readonly status: number;
  readonly statusText: string;
  /** Lower-case names, sorted; each value a list (set-cookie keeps its values apart). */
  readonly headers: Record<string, string[]>;
  /** The body as the client's stream delivered it. */
  readonly pieces: readonly Uint8Array[];
}

/** Response headers that describe one connection, which no replay promises to keep. */
const CONNECTION = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);

/** Headers from any client's shape (a Node headers object, a fetch `Headers`, undici's object). */
export function normalizeHeaders(
  headers: IncomingHttpHeaders | Headers | Record<string, unknown>,
): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (name: string, value: unknown): void => {
    const key = name.toLowerCase();
    if (CONNECTION.has(key) || value === undefined) return;
    (out[key] ??= []).push(...(Array.isArray(value) ? value.map(String) : [String(value)]));
  };
  if (typeof (headers as Headers).getSetCookie === "function") {
    for (const [name, value] of headers as Headers) if (name !== "set-cookie") add(name, value);
    for (const cookie of (headers as Headers).getSetCookie()) add("set-cookie", cookie);
  } else if (typeof (headers as { raw?: unknown }).raw === "function") {
    // node-fetch's Headers
    for (
      const [name, values] of Object.entries((headers as { raw(): Record<string, string[]> }).raw())
    ) {
      add(name, values);
    }
  } else {
    const plain = typeof (headers as { toJSON?: unknown }).toJSON === "function"
      ? (headers as { toJSON(): Record<string, unknown> }).toJSON()
      : headers as Record<string, unknown>;
    for (const [name, value] of Object.entries(plain)) add(name, value);
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** `http.get` by hand, through the module's default export. */
export function httpGet(url: string, options?: http.RequestOptions): Promise<Seen> {
  return new Promise((resolve, reject) => {
    http.get(url, options ?? {}, (response) => {
      const pieces: Uint8Array[] = [];
      response.on("data", (piece: Uint8Array) => pieces.push(piece));
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? "",
          headers: normalizeHeaders(response.headers),
          pieces,
        }));
      response.on("error", reject);
    }).on("error", reject);
  });
}

/** Which runtime runs the tests. */
export const RUNTIME: "Deno" | "Bun" | "Node" =
  (globalThis as { Deno?: unknown }).Deno !== undefined
    ? "Deno"
    : (globalThis as { Bun?: unknown }).Bun !== undefined
    ? "Bun"
    : "Node";
