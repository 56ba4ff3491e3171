// serve() on node:http, which Deno, Node and Bun all provide (ADR 0036): an
// http.Server bridged to the handler, with request bodies streamed in,
// response bodies streamed out with backpressure, and recorded header lines
// and status text written as they were recorded.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { HeaderLine } from "../_mapping.ts";
import { drained } from "../_drained.ts";
import { giveBack } from "../../core/_recycled.ts";
import type { Answer } from "./_handler.ts";
import { failure } from "./_failure.ts";
import { urlHost } from "./_host.ts";

/** A listening server: the port it got and how to stop it. */
export interface Listening {
  /** The port, resolved when 0 was asked for. */
  readonly port: number;
  /** `http://<host>:<port>`, the base of the URLs it answers. */
  readonly origin: string;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

/** What the bridge needs besides the handler. */
export interface NodeServerOptions {
  /** Whether a request with this Host header is answered. */
  readonly allowHost: (host: string | undefined) => boolean;
  /** Receives the errors that cut a response short. */
  readonly onError: (error: unknown) => void;
  /** Whether an error ending a response stream is the server closing (not worth a log line). */
  readonly closing: () => boolean;
}

/** Whether the request has a body to read: any but GET and HEAD that announce one. */
function hasBody(incoming: IncomingMessage, method: string): boolean {
  if (method === "GET" || method === "HEAD") return false;
  const length = incoming.headers["content-length"];
  return incoming.headers["transfer-encoding"] !== undefined ||
    (length !== undefined && length !== "0");
}

/**
 * The request body as a web stream that reads only when pulled, so a body
 * the handler refuses (too large) is not held. Cancelling it discards the
 * rest as it arrives.
 */
function bodyStream(incoming: IncomingMessage): ReadableStream<Uint8Array> {
  let open = true;
  return new ReadableStream<Uint8Array>({
    start(controller): void {
      incoming.pause();
      incoming.on("data", (piece: Uint8Array) => {
        if (!open) return;
        controller.enqueue(new Uint8Array(piece.buffer, piece.byteOffset, piece.byteLength));
        if ((controller.desiredSize ?? 0) <= 0) incoming.pause();
      });
      incoming.once("end", () => {
        if (!open) return;
        open = false;
        controller.close();
      });
      incoming.once("close", () => {
        if (!open) return;
        open = false;
        controller.error(new Error("The client closed the connection before its body ended"));
      });
    },
    pull(): void {
      incoming.resume();
    },
    cancel(): void {
      open = false;
      incoming.resume();
    },
  }, { highWaterMark: 64 * 1024, size: (piece) => piece.byteLength });
}

/** A response's header lines from its `Headers` (joined, `set-cookie` apart). */
function linesOf(headers: Headers): HeaderLine[] {
  const lines: HeaderLine[] = [];
  for (const [name, value] of headers) {
    if (name !== "set-cookie") lines.push([name, value]);
  }
  for (const cookie of headers.getSetCookie()) lines.push(["set-cookie", cookie]);
  return lines;
}

async function write(
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  answer: Answer,
  options: NodeServerOptions,
): Promise<void> {
  const { response } = answer;
  // writeHead() takes mutable pairs: copied once, and free to take one more.
  const lines = (answer.lines ?? linesOf(response.headers)).map(([name, value]) => [name, value]);
  // A body the handler did not read (refused, or not needed) is not read
  // now either: the connection closes after this answer.
  if (!incoming.complete) lines.push(["connection", "close"]);
  if (response.statusText === "") outgoing.writeHead(response.status, lines);
  else outgoing.writeHead(response.status, response.statusText, lines);
  if (response.body === null || incoming.method === "HEAD") {
    await response.body?.cancel();
    outgoing.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (outgoing.destroyed) {
        await reader.cancel();
        return;
      }
      // Once the socket has taken a buffer read from a blob file, the next
      // blob read may fill it again (ADR 0055): nothing else refers to it.
      if (!outgoing.write(value, (error) => error == null && giveBack(value))) {
        await drained(outgoing);
      }
    }
    outgoing.end();
  } catch (error) {
    // The stream failed after the status was sent (a blob that cannot be
    // read, a recording that could not be saved, a live stream cut): all
    // that is left is to cut the connection, so the client sees a broken
    // response rather than a complete one.
    if (!options.closing() && !outgoing.destroyed) options.onError(error);
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

async function bridge(
  handler: (request: Request) => Promise<Answer>,
  base: string,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
  options: NodeServerOptions,
): Promise<void> {
  const host = incoming.headers.host;
  if (!options.allowHost(host)) {
    const refusal = new RangeError(
      `Host ${JSON.stringify(host)} is not one this server answers: it answers IP addresses, ` +
        "localhost and the names given as allowedHosts (x-replay serve --allowed-hosts <a,b>)",
    );
    await write(incoming, outgoing, {
      response: failure(403, "Forbidden Host", refusal, { host }),
      lines: undefined,
    }, options);
    return;
  }
  const controller = new AbortController();
  outgoing.on("close", () => {
    if (!outgoing.writableFinished) controller.abort(new Error("The client closed the connection"));
  });
  let answer: Answer;
  try {
    const method = incoming.method ?? "GET";
    const headers = new Headers();
    const raw = incoming.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
    const init: RequestInit & { duplex?: "half" } = { method, headers, signal: controller.signal };
    if (hasBody(incoming, method)) {
      init.body = bodyStream(incoming);
      init.duplex = "half";
    }
    answer = await handler(new Request(new URL(incoming.url ?? "/", base), init));
  } catch (error) {
    answer = { response: failure(400, "Bad Request", error), lines: undefined };
  }
  await write(incoming, outgoing, answer, options);
}

/** Starts `handler` with `node:http`. */
export async function listenNode(
  handler: (request: Request) => Promise<Answer>,
  hostname: string,
  port: number,
  options: NodeServerOptions,
): Promise<Listening> {
  const http = await import("node:http");
  let base = "";
  const server = http.createServer((incoming, outgoing) => {
    bridge(handler, base, incoming, outgoing, options).catch((error) => {
      if (!options.closing()) options.onError(error);
      outgoing.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const actual = typeof address === "object" && address !== null ? address.port : port;
  base = `http://${urlHost(hostname)}:${actual}`;
  return {
    port: actual,
    origin: base,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
