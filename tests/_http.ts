// Helpers for the HTTP tests: real local servers on 127.0.0.1 (node:http,
// which Deno, Node and Bun all provide), a lock-step server-sent-event
// route, and a plain node:http client. No runtime-specific API.
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  request as httpRequest,
  type ServerResponse,
} from "node:http";
import { type ReplayServer, serve } from "@x/replay/server";

/** A request as a test server received it. */
export interface Received {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/** A route: answers one received request. */
export type Route = (
  received: Received,
  response: ServerResponse,
  request: IncomingMessage,
) => void | Promise<void>;

/** A running test server. */
export interface LiveServer {
  /** Its base URL without a trailing slash, e.g. `http://127.0.0.1:41234`. */
  readonly origin: string;
  /** Every request received so far. */
  readonly received: Received[];
  /** Closes the server and every connection to it. */
  close(): Promise<void>;
}

async function readAll(request: IncomingMessage): Promise<Uint8Array> {
  const pieces: Uint8Array[] = [];
  for await (const piece of request) pieces.push(piece as Uint8Array);
  return concat(pieces);
}

/** Joins byte arrays. */
export function concat(pieces: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out;
}

/** Starts a node:http server on 127.0.0.1 with a free port. */
export async function startServer(route: Route): Promise<LiveServer> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    // No Date header: the same response twice must have the same headers.
    response.sendDate = false;
    void (async () => {
      const body = await readAll(request);
      const entry: Received = {
        method: request.method ?? "",
        url: request.url ?? "",
        headers: request.headers,
        body,
      };
      received.push(entry);
      await route(entry, response, request);
    })().catch((error) => response.destroy(error));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  let closed: Promise<void> | undefined;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    close(): Promise<void> {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** A promise with its resolve function, to order events without timers. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

/** Creates a `Deferred`. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((settle) => (resolve = settle));
  return { promise, resolve };
}

/** The events of the test chat stream. */
export const EVENTS: readonly string[] = [
  'data: {"delta":"Record"}\n\n',
  'data: {"delta":" once,"}\n\n',
  'data: {"delta":" replay"}\n\n',
  'data: {"delta":" forever."}\n\n',
  "data: [DONE]\n\n",
];

/** Response headers of the test stream, beyond the content type. */
export const SSE_HEADERS: Readonly<Record<string, string | string[]>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
  "x-request-id": "req-42",
  "set-cookie": ["session=abc; Path=/", "theme=dark; Path=/"],
};

/**
 * A server-sent-event route. Before each event after the first it waits for
 * `gate(i)` (lock-step with the reader), or else for a short pause, so the
 * events leave as separate pieces.
 */
export function sseRoute(options?: {
  readonly events?: readonly string[];
  readonly gate?: (index: number) => Promise<void>;
  readonly closed?: Deferred<void>;
}): Route {
  const events = options?.events ?? EVENTS;
  return async (_received, response) => {
    response.on("close", () => options?.closed?.resolve());
    response.writeHead(200, "OK", SSE_HEADERS);
    for (let i = 0; i < events.length; i++) {
      if (i > 0) {
        await (options?.gate?.(i) ?? new Promise((resolve) => setTimeout(resolve, 5)));
      }
      if (response.destroyed) return;
      response.write(events[i]);
    }
    response.end();
  };
}

/** What the plain HTTP client got. */
export interface ClientResult {
  readonly status: number;
  readonly statusText: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Uint8Array;
}

/** A request with node:http's client, the way a program in any language would make it. */
export function plainRequest(
  url: string | URL,
  options?: {
    readonly method?: string;
    readonly headers?: Record<string, string>;
    readonly body?: string | Uint8Array;
    /** Called with each piece of the body as it arrives. */
    readonly onData?: (piece: Uint8Array) => void;
  },
): Promise<ClientResult> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: options?.method ?? "GET",
      headers: { connection: "close", ...options?.headers },
    }, (response) => {
      const pieces: Uint8Array[] = [];
      response.on("data", (piece: Uint8Array) => {
        pieces.push(piece);
        options?.onData?.(piece);
      });
      response.on("end", () =>
        resolve({
          status: response.statusCode ?? 0,
          statusText: response.statusMessage ?? "",
          headers: response.headers,
          body: concat(pieces),
        }));
      response.on("error", reject);
      response.on("aborted", () => reject(new Error("response aborted")));
    });
    request.on("error", reject);
    request.end(options?.body);
  });
}

const decoder = new TextDecoder();

/** UTF-8 text of bytes. */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Every piece a body stream delivers, in order. */
export async function pieces(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  if (body === null) return out;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

/** Response headers as sorted pairs, leaving out those that describe the connection. */
export function headerPairs(headers: Headers): [string, string][] {
  const skip = new Set(["connection", "keep-alive", "transfer-encoding", "date"]);
  return [...headers].filter(([name]) => !skip.has(name));
}

// Guards against a hang if streaming ever regresses; no assertion depends on time.
/** Test options that bound a streaming test's run time. */
export const GUARD = { timeout: 30_000 };

/** Runs `body` with a server (or anything closable) and always closes it. */
export async function closing<R extends { close(): Promise<void> }, T>(
  resource: Promise<R>,
  body: (resource: R) => Promise<T>,
): Promise<T> {
  const opened = await resource;
  try {
    return await body(opened);
  } finally {
    await opened.close();
  }
}

/** Runs `body` against a `serve()` server, which is closed after it, however it ends. */
export function withReplayServer<T>(
  options: Parameters<typeof serve>[0],
  body: (server: ReplayServer) => Promise<T>,
): Promise<T> {
  return closing(serve(options), body);
}
