// The replay-mode path of interceptHttp() on Node (ADR 0051): a request made
// with `http.request`/`get` or `https.request`/`get` gets an agent of ours,
// which hands Node's own `ClientRequest` a socket that never connects. The
// bytes the client writes are read by Node's HTTP parser (the one its server
// uses), the broker answers from the cassette, and the recorded response is
// written back as HTTP/1.1 bytes for the client's own parser to read. No web
// `Request` or `Response` is built on the way. Recording, passthrough
// predicates and `new http.ClientRequest()` keep to @mswjs/interceptors.
import { Buffer } from "node:buffer";
import http from "node:http";
import https from "node:https";
import module from "node:module";
import { Duplex } from "node:stream";
import { isEmptyChunk } from "../../core/_model.ts";
import type { ResponseChunk } from "../../core/types.ts";
import {
  bytesOf,
  NULL_BODY_STATUSES,
  OUTER_WHITESPACE,
  recordedHeaderLines,
  recordedStatusText,
  statusOf,
} from "../_mapping.ts";
import { clientRequestUrl, type Passes } from "./_passthrough.ts";

/** The recorded chunks of one answer, as a broker's `replay()` gives them. */
export type Chunks = Iterator<ResponseChunk> | AsyncIterator<ResponseChunk>;

/** What the socket path needs from interceptHttp(). */
export interface SocketReplayOptions {
  /** Whether a request made now takes this path (else it goes to the function patched before). */
  readonly enabled: () => boolean;
  /** The passthrough rules that look at the URL only. */
  readonly passes: Passes;
  /**
   * Looks one request up: its method, absolute URL, header lines (names
   * lower-cased, repeated names joined as fetch joins them, sorted) and
   * body. Throws on a miss.
   */
  readonly answer: (
    method: string,
    url: string,
    headers: [string, string][],
    body: Uint8Array<ArrayBuffer>,
  ) => Chunks;
  /** The error a client is failed with, for an error from `answer()` or from the chunks. */
  readonly explain: (error: unknown) => unknown;
  /** Told about each request from its last byte until its answer's head is out or it fails (`stop()` waits for them). */
  readonly track: (closed: Promise<void>) => void;
  /**
   * `http.request` and `https.request` as they were before interception:
   * the `ClientRequest` they build is Node's own (behind any wrapper that
   * was there before, such as a tracing library's).
   */
  readonly before: { readonly http: RequestFunction; readonly https: RequestFunction };
}

/** Node's HTTP parser, as `_http_common` exports it (the parts used here). */
interface Parser {
  initialize(type: number, resource: object): void;
  execute(data: Uint8Array): number | Error;
  finish(): number | Error | undefined;
  remove?(): void;
  free(): void;
  [key: number]: unknown;
}
interface ParserClass {
  new (): Parser;
  readonly REQUEST: number;
  readonly kOnHeaders: number;
  readonly kOnHeadersComplete: number;
  readonly kOnBody: number;
  readonly kOnMessageComplete: number;
}

/** `http.request` or `https.request`. */
export type RequestFunction = (...args: unknown[]) => http.ClientRequest;

/** The agent a request asked for, kept on the options Node hands to `addRequest()`. */
const ASKED_AGENT = Symbol("x-replay asked agent");

/**
 * Puts the socket path in front of `request` and `get` of `node:http` and
 * `node:https` (whatever is there now, @mswjs/interceptors' functions, stays
 * behind it for every request the path does not take). Returns the function
 * that puts back what was there.
 */
export function installSocketReplay(options: SocketReplayOptions): () => void {
  const require = module.createRequire(import.meta.url);
  const HTTPParser = (require("node:_http_common") as { HTTPParser: ParserClass }).HTTPParser;
  const restores = [
    install(http, http.Agent, "http:", options.before.http, options, HTTPParser),
    install(https, https.Agent, "https:", options.before.https, options, HTTPParser),
  ];
  return () => {
    for (const restore of restores) restore();
  };
}

function install(
  target: typeof http | typeof https,
  Base: typeof http.Agent,
  protocol: "http:" | "https:",
  nodeRequest: RequestFunction,
  options: SocketReplayOptions,
  HTTPParser: ParserClass,
): () => void {
  const slots = target as unknown as { request: RequestFunction; get: RequestFunction };
  const behind = { request: slots.request, get: slots.get };
  /** One agent per keep-alive setting, so the request head says what it would have said. */
  const agents = new Map<boolean, http.Agent>();
  const agentFor = (keepAlive: boolean): http.Agent => {
    let agent = agents.get(keepAlive);
    if (agent === undefined) {
      agent = replayAgent(Base, protocol, keepAlive, options, HTTPParser);
      agents.set(keepAlive, agent);
    }
    return agent;
  };
  const globalAgentOf = (): http.Agent => target.globalAgent as http.Agent;

  function request(this: unknown, ...args: unknown[]): http.ClientRequest {
    const given = options.enabled()
      ? withAgent(args, protocol, agentFor, globalAgentOf)
      : undefined;
    if (given === undefined) return behind.request.apply(this, args);
    return nodeRequest.apply(target, given);
  }
  function get(this: unknown, ...args: unknown[]): http.ClientRequest {
    const given = options.enabled()
      ? withAgent(args, protocol, agentFor, globalAgentOf)
      : undefined;
    if (given === undefined) return behind.get.apply(this, args);
    const sent = nodeRequest.apply(target, given);
    sent.end();
    return sent;
  }
  slots.request = request;
  slots.get = get;
  return () => {
    if (slots.request === request) slots.request = behind.request;
    if (slots.get === get) slots.get = behind.get;
  };
}

/**
 * The arguments with our agent in place of the one asked for (which is kept
 * for passthrough), or `undefined` when the request is not for this path:
 * options that bring their own `createConnection`, or arguments Node would
 * refuse (left to the function behind, to refuse as Node does).
 */
function withAgent(
  args: unknown[],
  protocol: string,
  agentFor: (keepAlive: boolean) => http.Agent,
  globalAgentOf: () => http.Agent,
): unknown[] | undefined {
  const [input, second, third] = args;
  let given: Record<PropertyKey, unknown> | undefined;
  let callback: unknown;
  let url: unknown;
  if (typeof input === "string" || input instanceof URL) {
    url = input;
    if (typeof second === "function") callback = second;
    else if (second === undefined || second === null) callback = third;
    else if (typeof second === "object") {
      given = second as Record<PropertyKey, unknown>;
      callback = third;
    } else return undefined;
  } else if (typeof input === "object" && input !== null) {
    given = input as Record<PropertyKey, unknown>;
    callback = second;
  } else return undefined;
  if (given !== undefined && typeof given.createConnection === "function") return undefined;
  const asked = given?.agent;
  // An agent of the other protocol: Node refuses the request, and so does the function behind.
  const askedProtocol = (asked as { protocol?: unknown } | null | undefined)?.protocol;
  if (typeof askedProtocol === "string" && askedProtocol !== protocol) return undefined;
  // As Node reads `agent`: `false` is a new default agent, `null` or none the global one.
  const effective = asked === false
    ? undefined
    : asked === undefined || asked === null
    ? globalAgentOf()
    : asked;
  const keepAlive = (effective as { keepAlive?: unknown } | undefined)?.keepAlive === true;
  const options = { ...given, agent: agentFor(keepAlive), [ASKED_AGENT]: asked };
  const out: unknown[] = url === undefined ? [options] : [url, options];
  if (typeof callback === "function") out.push(callback);
  return out;
}

/** An agent of one protocol whose `addRequest()` hands out a replay socket. */
function replayAgent(
  Base: typeof http.Agent,
  protocol: "http:" | "https:",
  keepAlive: boolean,
  options: SocketReplayOptions,
  HTTPParser: ParserClass,
): http.Agent {
  class ReplayAgent extends Base {
    constructor() {
      super({ keepAlive });
    }
  }
  const prototype = ReplayAgent.prototype as unknown as {
    addRequest(request: http.ClientRequest, connection: Record<PropertyKey, unknown>): void;
  };
  prototype.addRequest = function (request, connection) {
    const url = clientRequestUrl(protocol, request, connection);
    if (options.passes({ method: request.method, url, headers: NO_HEADERS })) {
      // Untouched: the agent the request asked for (or Node's default) connects it.
      const asked = connection[ASKED_AGENT];
      const agent = asked === undefined || asked === null
        ? ((protocol === "https:" ? https : http).globalAgent as http.Agent)
        : asked === false
        ? new Base()
        : asked as http.Agent;
      (agent as unknown as typeof prototype).addRequest(request, { ...connection, agent });
      return;
    }
    const socket = new ReplaySocket(protocol, HTTPParser, options, request, url);
    request.onSocket(socket as never);
    // As Node's agent does for a request's own `timeout` option.
    const timeout = (request as { timeout?: unknown }).timeout;
    if (typeof timeout === "number") socket.setTimeout(timeout);
  };
  return new ReplayAgent();
}

/** Parsers kept for the next socket (Node pools its own the same way). */
const IDLE_PARSERS: Parser[] = [];
const MAX_IDLE_PARSERS = 16;
/** What URL-only passthrough rules are shown as headers. */
const NO_HEADERS = new Headers();
/** A recorded response's head, worked out once per chunk 0 (chunks are immutable). */
interface Head {
  readonly status: number;
  /** The status line and the recorded header lines, each ending in CRLF. */
  readonly text: string;
  readonly hasLength: boolean;
}
const HEADS = new WeakMap<ResponseChunk, Head>();

const CRLF = Buffer.from("\r\n");
const LAST_CHUNK = Buffer.from("0\r\n\r\n");
const CONTINUE = Buffer.from("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * A socket that never connects. What the client writes is parsed as one
 * request; the answer is pushed for the client to read, one recorded chunk
 * per read, so a slow reader holds the rest in the cassette, not here.
 */
class ReplaySocket extends Duplex {
  /** Read by `ClientRequest` and by clients: the socket is ready at once. */
  readonly connecting = false;
  /** As @mswjs/interceptors' socket: TLS in name, with no certificate anyone checked. */
  readonly encrypted: boolean | undefined;
  readonly authorized: boolean | undefined;
  readonly #options: SocketReplayOptions;
  readonly #method: string;
  readonly #url: string;
  #parser: Parser | undefined;
  #keys: ParserClass;
  #rawHeaders: string[] = [];
  #pieces: Buffer[] = [];
  #chunks: Chunks | undefined;
  /** Set once the head is out: how the body is framed. */
  #framing: "chunked" | "length" | "none" | undefined;
  #reading = false;
  #done = false;
  #timeout = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Ends what `stop()` waits for: the answer's head is out, or the exchange failed. */
  #answered: (() => void) | undefined;

  constructor(
    protocol: string,
    HTTPParser: ParserClass,
    options: SocketReplayOptions,
    request: http.ClientRequest,
    url: string,
  ) {
    super({ allowHalfOpen: false });
    this.#options = options;
    this.#method = request.method.toUpperCase();
    this.#url = url;
    if (protocol === "https:") {
      this.encrypted = true;
      this.authorized = false;
    }
    const parser = IDLE_PARSERS.pop() ?? new HTTPParser();
    parser.initialize(HTTPParser.REQUEST, {});
    this.#keys = HTTPParser;
    parser[HTTPParser.kOnHeaders] = (headers: string[]) => {
      this.#rawHeaders.push(...headers);
    };
    parser[HTTPParser.kOnHeadersComplete] = (
      _major: number,
      _minor: number,
      headers: string[] | undefined,
    ) => {
      if (headers !== undefined) this.#rawHeaders.push(...headers);
      const raw = this.#rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        if (
          raw[i]!.toLowerCase() === "expect" && raw[i + 1]!.trim().toLowerCase() === "100-continue"
        ) {
          // The go-ahead, once the parser is done with this write: the client then writes its body.
          process.nextTick(() => this.#push(CONTINUE));
          break;
        }
      }
      return 0;
    };
    parser[HTTPParser.kOnBody] = (piece: Uint8Array) => {
      this.#pieces.push(Buffer.from(piece));
    };
    parser[HTTPParser.kOnMessageComplete] = () => {
      process.nextTick(() => this.#answer());
    };
    this.#parser = parser;
  }

  override _write(
    data: Uint8Array,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#touch();
    const parser = this.#parser;
    if (parser === undefined) {
      // Bytes after the request (a client that pipelines): there is no one to answer them.
      callback();
      return;
    }
    const result = parser.execute(data);
    callback(result instanceof Error ? result : null);
  }

  override _final(callback: (error?: Error | null) => void): void {
    callback();
  }

  override _read(): void {
    if (this.#framing !== undefined) void this.#pump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#answered?.();
    this.#free();
    this.#clearTimer();
    const chunks = this.#chunks;
    this.#chunks = undefined;
    if (chunks !== undefined && !this.#done) {
      this.#done = true;
      try {
        const result = chunks.return?.();
        if (result instanceof Promise) result.then(undefined, () => undefined);
      } catch {
        // The recording could not stop; the client has its answer either way.
      }
    }
    callback(error);
  }

  setTimeout(timeout: number, callback?: () => void): this {
    this.#timeout = timeout;
    if (callback !== undefined) this.once("timeout", callback);
    this.#clearTimer();
    if (timeout > 0) this.#touch();
    return this;
  }
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  /** Not connected anywhere, as a `net.Socket` without a connection says. */
  address(): Record<string, never> {
    return {};
  }
  /** As `net.Socket`'s: end the writing side, then close. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }
  getPeerCertificate(): Record<string, never> {
    return {};
  }
  getProtocol(): string | null {
    return this.encrypted === true ? "TLSv1.3" : null;
  }

  /** Restarts the idle timer (a socket timeout counts from the last byte either way). */
  #touch(): void {
    if (this.#timeout <= 0) return;
    if (this.#timer !== undefined) {
      this.#timer.refresh();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.emit("timeout");
    }, this.#timeout);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #free(): void {
    const parser = this.#parser;
    this.#parser = undefined;
    if (parser === undefined) return;
    const keys = this.#keys;
    parser[keys.kOnHeaders] = parser[keys.kOnHeadersComplete] = null;
    parser[keys.kOnBody] = parser[keys.kOnMessageComplete] = null;
    parser.remove?.();
    parser.free();
    // As Node's own client and server do: a freed parser is initialised again for the next message.
    if (IDLE_PARSERS.length < MAX_IDLE_PARSERS) IDLE_PARSERS.push(parser);
  }

  #push(data: Uint8Array): boolean {
    if (this.destroyed) return false;
    this.#touch();
    return this.push(data);
  }

  /** The whole request is in: look it up, then write the head and the first chunk. */
  #answer(): void {
    this.#free();
    if (this.destroyed) return;
    const headers = headerLinesOf(this.#rawHeaders);
    // The pieces are copies of what the client wrote: the request may keep them.
    const whole = this.#pieces.length === 1 ? this.#pieces[0]! : Buffer.concat(this.#pieces);
    const body = new Uint8Array(whole.buffer as ArrayBuffer, whole.byteOffset, whole.length);
    this.#pieces = [];
    this.#options.track(new Promise<void>((resolve) => (this.#answered = resolve)));
    try {
      this.#chunks = this.#options.answer(this.#method, this.#url, headers, body);
    } catch (error) {
      this.destroy(this.#options.explain(error) as Error);
      return;
    }
    void this.#pump();
  }

  /** Pushes until the reader has enough, or the answer ends. */
  async #pump(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    try {
      for (;;) {
        const chunks = this.#chunks;
        if (chunks === undefined || this.#done || this.destroyed) return;
        const step = chunks.next();
        const result = step instanceof Promise ? await step : step;
        if (this.destroyed || this.#done) return;
        if (result.done) {
          this.#done = true;
          this.#chunks = undefined;
          if (this.#framing === undefined) this.#push(this.#head(undefined));
          this.#answered?.();
          if (this.#framing === "chunked") this.#push(LAST_CHUNK);
          this.push(null);
          return;
        }
        const chunk = result.value;
        let out: Uint8Array | undefined;
        if (this.#framing === undefined) {
          const head = this.#head(chunk);
          out = this.#framing === "none" ? head : Buffer.concat([head, ...this.#framed(chunk)]);
        } else if (this.#framing !== "none") {
          const pieces = this.#framed(chunk);
          if (pieces.length > 0) out = Buffer.concat(pieces);
        }
        if (this.#answered !== undefined) {
          this.#answered();
          this.#answered = undefined;
        }
        if (out !== undefined && !this.#push(out)) return;
      }
    } catch (error) {
      this.#done = true;
      this.#chunks = undefined;
      this.destroy(this.#options.explain(error) as Error);
    } finally {
      this.#reading = false;
    }
  }

  /** The response head from chunk 0 (throws on a recorded status or header no runtime would send). */
  #head(chunk0: ResponseChunk | undefined): Uint8Array {
    let head = chunk0 === undefined ? undefined : HEADS.get(chunk0);
    if (head === undefined) {
      head = headOf(chunk0);
      if (chunk0 !== undefined) HEADS.set(chunk0, head);
    }
    // As `openResponse()`: these statuses and HEAD answer with no body (and so no framing).
    const hasBody = !NULL_BODY_STATUSES.has(head.status) && this.#method !== "HEAD";
    this.#framing = !hasBody ? "none" : head.hasLength ? "length" : "chunked";
    const text = this.#framing === "chunked"
      ? `${head.text}transfer-encoding: chunked\r\n\r\n`
      : `${head.text}\r\n`;
    return Buffer.from(text, "latin1");
  }

  /** One chunk's bytes as they go on the wire (nothing for an empty chunk). */
  #framed(chunk: ResponseChunk): Uint8Array[] {
    if (isEmptyChunk(chunk)) return [];
    const bytes = bytesOf(chunk);
    if (this.#framing === "length") return [bytes];
    return [Buffer.from(`${bytes.length.toString(16)}\r\n`, "latin1"), bytes, CRLF];
  }
}

/** Status line and header lines from chunk 0, as `openResponse()` reads them (ADR 0030). */
function headOf(chunk0: ResponseChunk | undefined): Head {
  const status = statusOf(chunk0);
  const statusText = recordedStatusText(chunk0) || http.STATUS_CODES[status] || "";
  let text = `HTTP/1.1 ${status} ${statusText}\r\n`;
  let hasLength = false;
  for (const [name, value] of recordedHeaderLines(chunk0, false)) {
    if (name === "content-length") hasLength = true;
    text += `${name}: ${value}\r\n`;
  }
  return { status, text, hasLength };
}

/**
 * Raw request header lines as fetch's `Headers` would list them: names
 * lower-cased, values trimmed, the values of a repeated name joined with
 * ", " in their order, sorted by name.
 */
function headerLinesOf(raw: readonly string[]): [string, string][] {
  const joined = new Map<string, string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!.replace(OUTER_WHITESPACE, "");
    const before = joined.get(name);
    joined.set(name, before === undefined ? value : `${before}, ${value}`);
  }
  return [...joined].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
