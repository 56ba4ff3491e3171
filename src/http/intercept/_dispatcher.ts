// undici's global dispatcher, answered by the broker. npm's `undici`
// (`request`, `fetch`, `stream`, `pipeline`) and Node's own `fetch` send every
// request through the dispatcher kept on a global symbol unless given another
// one; @mswjs/interceptors does not see them. While intercepting, that symbol
// holds a dispatcher of ours: it turns undici's dispatch options into a web
// `Request`, has it answered like every other intercepted request, and plays
// the `Response` back through undici's handler callbacks. Requests that pass
// through go to the dispatcher that was there before, untouched.
import { Buffer } from "node:buffer";
import { HOP_BY_HOP } from "../_mapping.ts";
import type { PassthroughRequest } from "./_passthrough.ts";

/** The symbols undici keeps its global dispatcher under (version 1 is read, both are written). */
const SYMBOLS: readonly symbol[] = [
  Symbol.for("undici.globalDispatcher.1"),
  Symbol.for("undici.globalDispatcher.2"),
];

/** What undici passes to `dispatch()` (the fields used here). */
interface DispatchOptions {
  readonly origin?: string | URL;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: unknown;
  readonly body?: unknown;
  readonly query?: Record<string, unknown>;
  readonly upgrade?: unknown;
}

/** An undici dispatch handler, in the callback style of undici 6 or of undici 7. */
interface Handler {
  onConnect?(abort: (reason?: unknown) => void, context?: unknown): void;
  onResponseStarted?(): void;
  onHeaders?(
    status: number,
    headers: Buffer[],
    resume: () => void,
    statusText: string,
  ): boolean | void;
  onData?(chunk: Buffer): boolean | void;
  onComplete?(trailers: Buffer[] | null): void;
  onError?(error: unknown): void;
  onRequestStart?(controller: Controller, context: unknown): void;
  onResponseStart?(
    controller: Controller,
    status: number,
    headers: Record<string, string | string[]>,
    statusText: string,
  ): void;
  onResponseData?(controller: Controller, chunk: Buffer): void;
  onResponseEnd?(controller: Controller, trailers: Record<string, string | string[]>): void;
  onResponseError?(controller: Controller, error: unknown): void;
}

/** The controller undici 7 hands to new-style handlers. */
interface Controller {
  abort(reason?: unknown): void;
  pause(): void;
  resume(): void;
  readonly aborted: boolean;
  readonly paused: boolean;
  readonly reason: unknown;
}

/** How the dispatcher has a request answered. */
export interface DispatchRoute {
  /** Whether the request goes to the network untouched. */
  readonly passes: (request: PassthroughRequest) => boolean;
  /** Answers a request that does not pass; rejects for a miss. */
  readonly answer: (request: Request, signal: AbortSignal) => Promise<Response>;
}

/**
 * Puts a dispatcher that answers through `route` on undici's global symbols
 * and returns the dispatcher that was there before (or `undefined`) and a
 * function that puts it back. Nothing is installed when no undici has loaded
 * a dispatcher yet (Deno and Bun before npm's `undici` is imported): there
 * is then nothing to pass requests through to.
 */
export function installDispatcher(
  route: DispatchRoute,
): { readonly original: object | undefined; readonly restore: () => void } {
  const holder = globalThis as Record<symbol, unknown>;
  const original = holder[SYMBOLS[0]!];
  if (
    typeof original !== "object" || original === null ||
    typeof (original as { dispatch?: unknown }).dispatch !== "function"
  ) {
    return { original: undefined, restore: () => {} };
  }
  const forward = original as { dispatch(options: unknown, handler: unknown): boolean };
  const replaced = SYMBOLS.map((symbol) => [symbol, holder[symbol]] as const);
  const dispatcher = createDispatcher(route, forward);
  for (const symbol of SYMBOLS) holder[symbol] = dispatcher;
  return {
    original,
    restore: () => {
      for (const [symbol, value] of replaced) {
        // Someone who set their own dispatcher meanwhile keeps it.
        if (holder[symbol] === dispatcher) holder[symbol] = value;
      }
    },
  };
}

function createDispatcher(
  route: DispatchRoute,
  forward: { dispatch(options: unknown, handler: unknown): boolean },
): object {
  const dispatcher = {
    dispatch(options: DispatchOptions, handler: Handler): boolean {
      let url: string;
      let method: string;
      let headers: [string, string][];
      let passes: boolean;
      try {
        url = urlOf(options);
        method = (options.method ?? "GET").toUpperCase();
        headers = headerPairs(options.headers);
        passes = route.passes({ method, url, headers: new Headers(plainHeaders(headers)) });
      } catch (error) {
        fail(handler, error);
        return true;
      }
      if (passes) return forward.dispatch(options, handler);
      if (options.upgrade !== undefined && options.upgrade !== null || method === "CONNECT") {
        fail(
          handler,
          new TypeError(
            `Cannot intercept ${method} ${url}: undici upgrade and CONNECT requests cannot be replayed; list the host in passthrough`,
          ),
        );
        return true;
      }
      void answerThrough(route, handler, method, url, headers, options.body);
      return true;
    },
    close(): Promise<void> {
      return Promise.resolve();
    },
    destroy(): Promise<void> {
      return Promise.resolve();
    },
    // Some undici code paths register listeners on the dispatcher.
    on(): object {
      return dispatcher;
    },
    once(): object {
      return dispatcher;
    },
    off(): object {
      return dispatcher;
    },
    removeListener(): object {
      return dispatcher;
    },
  };
  return dispatcher;
}

/** Calls the handler's error callback in either style. */
function fail(handler: Handler, error: unknown): void {
  if (typeof handler.onError === "function") handler.onError(error);
  else handler.onResponseError?.(controllerStub(), error);
}

function controllerStub(): Controller {
  return {
    abort() {},
    pause() {},
    resume() {},
    aborted: true,
    paused: false,
    reason: undefined,
  };
}

/** The absolute URL of a dispatch, its query included. */
function urlOf(options: DispatchOptions): string {
  if (options.origin === undefined) {
    throw new TypeError("Cannot intercept undici request: it has no origin");
  }
  const path = options.path ?? "/";
  // A path is joined to the origin, not resolved against it: "//v1/x" is a
  // path on that host, not another host. An absolute URL (proxy style) is kept.
  const url = path.startsWith("/")
    ? new URL(`${new URL(String(options.origin)).origin}${path}`)
    : new URL(path, options.origin);
  if (options.query !== undefined && options.query !== null) {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(options.query)) {
      if (value === undefined || value === null) continue;
      for (const item of Array.isArray(value) ? value : [value]) {
        parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(item))}`);
      }
    }
    if (parts.length > 0) {
      url.search = `${url.search === "" ? "?" : `${url.search}&`}${parts.join("&")}`;
    }
  }
  url.hash = "";
  return url.href;
}

/**
 * Headers a `Request` built from undici's options must not carry: the
 * hop-by-hop ones, which describe undici's connection, `host` and
 * `content-length` (the `Request` frames its own body), and `expect`, which
 * undici itself refuses.
 */
const CONNECTION_HEADERS: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP,
  "host",
  "content-length",
  "expect",
]);

/** undici's header forms (an object, a flat array, an iterable of pairs) as pairs. */
function headerPairs(headers: unknown): [string, string][] {
  const pairs: [string, string][] = [];
  const add = (name: unknown, value: unknown): void => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
      for (const item of value) pairs.push([String(name), String(item)]);
    } else pairs.push([String(name), String(value)]);
  };
  if (headers === undefined || headers === null) return pairs;
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const [name, value] of headers as [unknown, unknown][]) add(name, value);
    } else {
      for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
    }
    return pairs;
  }
  if (typeof (headers as Iterable<unknown>)[Symbol.iterator] === "function") {
    for (const [name, value] of headers as Iterable<[unknown, unknown]>) add(name, value);
    return pairs;
  }
  for (const [name, value] of Object.entries(headers as Record<string, unknown>)) add(name, value);
  return pairs;
}

/** Pairs fit for a `Request`: names as bytes allow, connection headers left out. */
function plainHeaders(pairs: readonly [string, string][]): [string, string][] {
  return pairs.filter(([name]) => !CONNECTION_HEADERS.has(name.toLowerCase()));
}

/** The bytes of an undici request body (string, bytes, Blob, stream, async iterable), or a `FormData`. */
async function bodyOf(body: unknown): Promise<Uint8Array<ArrayBuffer> | FormData | null> {
  if (body === undefined || body === null) return null;
  if (typeof body === "string") return new TextEncoder().encode(body);
  if (body instanceof FormData) return body;
  if (ArrayBuffer.isView(body)) {
    const bytes = new Uint8Array(body.byteLength);
    bytes.set(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    return bytes;
  }
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  if (typeof (body as Blob).arrayBuffer === "function" && typeof (body as Blob).size === "number") {
    return new Uint8Array(await (body as Blob).arrayBuffer());
  }
  if (typeof (body as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function") {
    const pieces: Uint8Array[] = [];
    for await (const piece of body as AsyncIterable<unknown>) {
      pieces.push(
        typeof piece === "string" ? new TextEncoder().encode(piece) : new Uint8Array(
          (piece as ArrayBufferView).buffer,
          (piece as ArrayBufferView).byteOffset,
          (piece as ArrayBufferView).byteLength,
        ),
      );
    }
    return new Uint8Array(Buffer.concat(pieces));
  }
  throw new TypeError(
    "Cannot intercept undici request: its body is of a kind this adapter does not read",
  );
}

/** Raw response headers as undici's callbacks take them: a flat list of name and value bytes. */
function rawHeaders(headers: Headers): Buffer[] {
  const raw: Buffer[] = [];
  for (const [name, value] of headers) {
    if (name === "set-cookie") continue;
    raw.push(Buffer.from(name, "latin1"), Buffer.from(value, "latin1"));
  }
  for (const cookie of headers.getSetCookie()) {
    raw.push(Buffer.from("set-cookie", "latin1"), Buffer.from(cookie, "latin1"));
  }
  return raw;
}

/** Response headers as undici 7's new-style callbacks take them. */
function headerObject(headers: Headers): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of headers) if (name !== "set-cookie") out[name] = value;
  const cookies = headers.getSetCookie();
  if (cookies.length > 0) out["set-cookie"] = cookies;
  return out;
}

/** Answers one dispatch through the route and plays the response into the handler. */
async function answerThrough(
  route: DispatchRoute,
  handler: Handler,
  method: string,
  url: string,
  headers: [string, string][],
  body: unknown,
): Promise<void> {
  const controller = new AbortController();
  let settled = false;
  let paused = false;
  let wake: (() => void) | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const newStyle = typeof handler.onHeaders !== "function" &&
    typeof handler.onResponseStart === "function";
  const resume = (): void => {
    paused = false;
    wake?.();
    wake = undefined;
  };
  const error = (reason: unknown): void => {
    if (settled) return;
    settled = true;
    if (newStyle) handler.onResponseError?.(control, reason);
    else handler.onError?.(reason);
  };
  const abort = (reason?: unknown): void => {
    if (settled) return;
    const why = reason ?? new DOMException("The request was aborted", "AbortError");
    controller.abort(why);
    reader?.cancel(why).catch(() => undefined);
    error(why);
    resume();
  };
  const control: Controller = {
    abort,
    pause: () => (paused = true),
    resume,
    get aborted() {
      return controller.signal.aborted;
    },
    get paused() {
      return paused;
    },
    get reason() {
      return controller.signal.reason;
    },
  };
  try {
    if (newStyle) handler.onRequestStart?.(control, {});
    else handler.onConnect?.(abort, {});
    if (settled) return;
    const payload = await bodyOf(body);
    if (settled) return;
    const init: RequestInit = {
      method,
      headers: plainHeaders(headers),
      redirect: "manual",
      signal: controller.signal,
    };
    if (payload !== null && !(payload instanceof Uint8Array && payload.length === 0)) {
      if (method === "GET" || method === "HEAD") {
        throw new TypeError(
          `Cannot intercept ${method} ${url}: a ${method} request with a body cannot be replayed`,
        );
      }
      init.body = payload;
    }
    const response = await route.answer(new Request(url, init), controller.signal);
    if (settled) {
      await response.body?.cancel().catch(() => undefined);
      return;
    }
    if (newStyle) {
      handler.onResponseStart?.(
        control,
        response.status,
        headerObject(response.headers),
        response.statusText,
      );
    } else {
      handler.onResponseStarted?.();
      paused = handler.onHeaders?.(
        response.status,
        rawHeaders(response.headers),
        resume,
        response.statusText,
      ) === false;
    }
    if (response.body !== null) {
      reader = response.body.getReader();
      for (;;) {
        if (paused) await new Promise<void>((resolve) => (wake = resolve));
        if (settled) return;
        const piece = await reader.read();
        if (settled) return;
        if (piece.done) break;
        const chunk = Buffer.from(
          piece.value.buffer,
          piece.value.byteOffset,
          piece.value.byteLength,
        );
        if (newStyle) handler.onResponseData?.(control, chunk);
        else paused = handler.onData?.(chunk) === false;
      }
    }
    if (settled) return;
    settled = true;
    if (newStyle) handler.onResponseEnd?.(control, {});
    else handler.onComplete?.([]);
  } catch (reason) {
    error(reason);
  }
}
