// HTTP/1.1 as bytes on a socket (node:net), for tests that must see what
// went over the wire: each header line, the status line, the framing. Any
// HTTP client would normalise some of it away.
import { connect, createServer, type Socket } from "node:net";
import { Buffer } from "node:buffer";

/** A response as it came over the wire. */
export interface RawResponse {
  /** The status line, e.g. `HTTP/1.1 200 OK`. */
  readonly statusLine: string;
  readonly status: number;
  /** Every header line, in order, names as sent. */
  readonly lines: readonly (readonly [string, string])[];
  /** The body, de-chunked when it was sent in chunks. */
  readonly body: Uint8Array;
  /** `"length"`, `"chunked"` or `"close"` (read until the connection closed). */
  readonly framing: "length" | "chunked" | "close";
  /** Whether the body was complete by its framing (all of content-length, or the last chunk). */
  readonly complete: boolean;
}

/** The values of the header lines named `name` (any case), in order. */
export function values(response: RawResponse, name: string): string[] {
  return response.lines.filter(([key]) => key.toLowerCase() === name).map(([, value]) => value);
}

function indexOfCrlf(bytes: Buffer, from: number): number {
  return bytes.indexOf("\r\n", from, "latin1");
}

/** Parses a whole response read until the connection closed. */
export function parseResponse(bytes: Buffer, head = false): RawResponse {
  const end = bytes.indexOf("\r\n\r\n", 0, "latin1");
  if (end === -1) {
    throw new Error(`no response head in ${JSON.stringify(bytes.toString("latin1"))}`);
  }
  const [statusLine, ...rest] = bytes.subarray(0, end).toString("latin1").split("\r\n");
  const lines = rest.map((line) => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon), line.slice(colon + 1).trim()] as const;
  });
  const status = Number(statusLine!.split(" ")[1]);
  const after = bytes.subarray(end + 4);
  const find = (name: string) => lines.find(([key]) => key.toLowerCase() === name)?.[1];
  const length = find("content-length");
  if (head || status === 204 || status === 304) {
    return {
      statusLine: statusLine!,
      status,
      lines,
      body: new Uint8Array(0),
      framing: "length",
      complete: true,
    };
  }
  if (find("transfer-encoding")?.toLowerCase() === "chunked") {
    const pieces: Buffer[] = [];
    let at = 0;
    let complete = false;
    for (;;) {
      const lineEnd = indexOfCrlf(after, at);
      if (lineEnd === -1) break;
      const size = parseInt(after.subarray(at, lineEnd).toString("latin1"), 16);
      if (Number.isNaN(size)) break;
      if (size === 0) {
        complete = after.indexOf("\r\n", lineEnd + 2, "latin1") !== -1;
        break;
      }
      if (lineEnd + 2 + size + 2 > after.length) {
        pieces.push(after.subarray(lineEnd + 2, Math.min(after.length, lineEnd + 2 + size)));
        break;
      }
      pieces.push(after.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    return {
      statusLine: statusLine!,
      status,
      lines,
      body: Buffer.concat(pieces),
      framing: "chunked",
      complete,
    };
  }
  if (length !== undefined) {
    const size = Number(length);
    return {
      statusLine: statusLine!,
      status,
      lines,
      body: after.subarray(0, size),
      framing: "length",
      complete: after.length >= size,
    };
  }
  return { statusLine: statusLine!, status, lines, body: after, framing: "close", complete: true };
}

/** Reads a socket to its end (or until it is reset). */
function readAll(socket: Socket): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const pieces: Buffer[] = [];
    socket.on("data", (piece: Buffer) => pieces.push(piece));
    socket.on("error", (error: NodeJS.ErrnoException) => {
      // A reset after the answer (a server that stops reading an upload) still leaves the answer.
      if (pieces.length > 0 && (error.code === "ECONNRESET" || error.code === "EPIPE")) {
        resolve(Buffer.concat(pieces));
      } else reject(error);
    });
    socket.on("close", () => resolve(Buffer.concat(pieces)));
  });
}

/**
 * Sends `head` (request line and header lines, without the blank line; a
 * `Connection: close` line is added) and then `body` pieces, and reads the
 * response until the server closes the connection.
 */
export async function rawRequest(
  url: URL | string,
  head: string,
  body: readonly (string | Uint8Array)[] = [],
  options?: { readonly head?: boolean },
): Promise<RawResponse> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ""));
  const done = readAll(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  socket.write(`${head}\r\nConnection: close\r\n\r\n`, "latin1");
  for (const piece of body) {
    if (socket.destroyed) break;
    socket.write(piece);
  }
  return parseResponse(await done, options?.head ?? head.startsWith("HEAD "));
}

/** A server that answers every request with the same raw bytes, then closes the connection. */
export interface RawUpstream {
  readonly origin: string;
  /** The raw heads of the requests received (request line and header lines). */
  readonly heads: string[];
  /** The bodies received (by content-length). */
  readonly bodies: Buffer[];
  close(): Promise<void>;
}

/** Starts a node:net server on 127.0.0.1 that answers each request with `answer` bytes. */
export async function rawUpstream(
  answer: (head: string) => (string | Uint8Array)[],
): Promise<RawUpstream> {
  const heads: string[] = [];
  const bodies: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = Buffer.alloc(0);
    let answered = false;
    socket.on("data", (piece: Buffer) => {
      if (answered) return;
      buffered = Buffer.concat([buffered, piece]);
      const end = buffered.indexOf("\r\n\r\n", 0, "latin1");
      if (end === -1) return;
      const head = buffered.subarray(0, end).toString("latin1");
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      answered = true;
      heads.push(head);
      bodies.push(buffered.subarray(end + 4, end + 4 + length));
      for (const part of answer(head)) socket.write(part);
      socket.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    heads,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
