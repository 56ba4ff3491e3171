// serve() on Node (and any runtime with node:http): an http.Server bridged to
// the web handler, streaming response bodies with backpressure.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Listening, WebHandler } from "./_listen.ts";

function bodyless(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/** Resolves when the response can take more data, or is gone. */
function drained(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      response.off("drain", done);
      response.off("close", done);
      resolve();
    };
    response.on("drain", done);
    response.on("close", done);
  });
}

async function readBody(
  request: IncomingMessage,
): Promise<Uint8Array<ArrayBuffer> | undefined> {
  const pieces: Uint8Array[] = [];
  for await (const piece of request) pieces.push(piece as Uint8Array);
  if (pieces.length === 0) return undefined;
  const body = new Uint8Array(pieces.reduce((total, piece) => total + piece.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    body.set(piece, offset);
    offset += piece.length;
  }
  return body;
}

async function bridge(
  handler: WebHandler,
  base: string,
  incoming: IncomingMessage,
  outgoing: ServerResponse,
): Promise<void> {
  const controller = new AbortController();
  outgoing.on("close", () => {
    if (!outgoing.writableFinished) controller.abort(new Error("The client closed the connection"));
  });
  let response: Response;
  try {
    const method = incoming.method ?? "GET";
    const headers = new Headers();
    const raw = incoming.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i]!, raw[i + 1]!);
    const body = await readBody(incoming);
    const init: RequestInit = { method, headers, signal: controller.signal };
    if (!bodyless(method) && body !== undefined) init.body = body;
    response = await handler(new Request(new URL(incoming.url ?? "/", base), init));
  } catch (error) {
    if (!outgoing.headersSent) {
      outgoing.writeHead(400, { "content-type": "text/plain; charset=utf-8" });
    }
    outgoing.end(`Bad Request\n${error instanceof Error ? error.message : String(error)}\n`);
    return;
  }
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of response.headers) {
    headers[name] = name === "set-cookie" ? response.headers.getSetCookie() : value;
  }
  if (response.statusText === "") outgoing.writeHead(response.status, headers);
  else outgoing.writeHead(response.status, response.statusText, headers);
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
      if (!outgoing.write(value)) await drained(outgoing);
    }
    outgoing.end();
  } catch (error) {
    // The stream failed after the status was sent: all that is left is to cut the connection.
    outgoing.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Starts `handler` with `node:http`. */
export async function listenNode(
  handler: WebHandler,
  hostname: string,
  port: number,
): Promise<Listening> {
  const http = await import("node:http");
  let base = "";
  const server = http.createServer((incoming, outgoing) => {
    void bridge(handler, base, incoming, outgoing);
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
  base = `http://${hostname.includes(":") ? `[${hostname}]` : hostname}:${actual}`;
  return {
    port: actual,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
