// Shared by the interception tests and their replay child process: the HTTP
// clients the issue lists, each reduced to "GET this URL and tell me what you
// saw" (status, status text, headers, the body piece by piece), the routes of
// the local server they talk to, and the runtime facts the tests depend on.
import type http from "node:http";
import { Buffer } from "node:buffer";
import type { IncomingHttpHeaders } from "node:http";
import axios from "axios";
import got from "got";
import nodeFetch from "node-fetch";
import superagent from "superagent";
import * as undici from "undici";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { Route } from "./_http.ts";
import { chatDeltas } from "./_openai.ts";
import { httpGet, normalizeHeaders, RUNTIME, type Seen } from "./_intercept_basics.ts";

export { httpGet, normalizeHeaders, RUNTIME, type Seen };

async function piecesOf(body: AsyncIterable<unknown> | null | undefined): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  if (body === null || body === undefined) return out;
  for await (const piece of body) {
    out.push(typeof piece === "string" ? Buffer.from(piece) : new Uint8Array(piece as Uint8Array));
  }
  return out;
}

async function readerPieces(body: ReadableStream<Uint8Array> | null): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  if (body === null) return out;
  const reader = body.getReader();
  for (let result = await reader.read(); !result.done; result = await reader.read()) {
    out.push(result.value);
  }
  return out;
}

/** What a client saw of a fetch-style response (the global one, undici's, node-fetch's). */
function seenOf(
  response: { readonly status: number; readonly statusText: string; readonly headers: unknown },
  pieces: Uint8Array[],
): Seen {
  return {
    status: response.status,
    statusText: response.statusText,
    headers: normalizeHeaders(response.headers as Headers),
    pieces,
  };
}

/** A client under test: GETs a URL and reports what it saw. */
export interface Client {
  readonly name: string;
  readonly get: (url: string) => Promise<Seen>;
}

/** The clients the issue lists, in a fixed order. */
export const CLIENTS: readonly Client[] = [
  { name: "http.get", get: (url) => httpGet(url) },
  {
    name: "axios",
    get: async (url) => {
      const response = await axios.get(url, { responseType: "stream", validateStatus: () => true });
      return {
        status: response.status,
        statusText: response.statusText,
        headers: normalizeHeaders(response.headers as Record<string, unknown>),
        pieces: await piecesOf(response.data),
      };
    },
  },
  {
    name: "got",
    get: (url) =>
      new Promise((resolve, reject) => {
        const stream = got.stream(url, { throwHttpErrors: false, retry: { limit: 0 } });
        const pieces: Uint8Array[] = [];
        let head: { status: number; statusText: string; headers: IncomingHttpHeaders } | undefined;
        stream.on("response", (response: http.IncomingMessage) => {
          head = {
            status: response.statusCode ?? 0,
            statusText: response.statusMessage ?? "",
            headers: response.headers,
          };
        });
        stream.on("data", (piece: Uint8Array) => pieces.push(piece));
        stream.on("end", () =>
          resolve({
            status: head!.status,
            statusText: head!.statusText,
            headers: normalizeHeaders(head!.headers),
            pieces,
          }));
        stream.on("error", reject);
      }),
  },
  {
    name: "node-fetch",
    get: async (url) => {
      const response = await nodeFetch(url);
      return seenOf(response, await piecesOf(response.body as AsyncIterable<Uint8Array> | null));
    },
  },
  {
    name: "superagent",
    get: async (url) => {
      const response = await superagent.get(url).ok(() => true).buffer(true).parse(
        (res, callback) => {
          const pieces: Uint8Array[] = [];
          res.on("data", (piece: Uint8Array) => pieces.push(piece));
          res.on("end", () => callback(null, pieces));
        },
      );
      return {
        status: response.status,
        statusText: (response as unknown as { res: http.IncomingMessage }).res.statusMessage ?? "",
        headers: normalizeHeaders(response.headers as Record<string, unknown>),
        pieces: response.body as Uint8Array[],
      };
    },
  },
  {
    name: "undici.request",
    get: async (url) => {
      const response = await undici.request(url);
      return {
        status: response.statusCode,
        statusText: (response as { statusText?: string }).statusText ?? "",
        headers: normalizeHeaders(response.headers),
        pieces: await piecesOf(response.body),
      };
    },
  },
  {
    name: "undici.fetch",
    get: async (url) => {
      const response = await undici.fetch(url);
      return seenOf(
        response,
        await readerPieces(response.body as ReadableStream<Uint8Array> | null),
      );
    },
  },
  {
    name: "fetch",
    get: async (url) => {
      const response = await fetch(url);
      return seenOf(response, await readerPieces(response.body));
    },
  },
];

/**
 * Clients that Bun replaces with its own built-in modules, which call Bun's
 * native fetch directly: no interception can see them there (README,
 * "Deno and Bun").
 */
export const BUN_BUILTIN_CLIENTS: ReadonlySet<string> = new Set([
  "node-fetch",
  "undici.request",
  "undici.fetch",
]);

/** The clients interception catches on this runtime. */
export const CAUGHT_CLIENTS: readonly Client[] = CLIENTS.filter((client) =>
  RUNTIME !== "Bun" || !BUN_BUILTIN_CLIENTS.has(client.name)
);

/** The routes every client GETs: JSON with repeated headers, a slow SSE stream, binary. */
export const PATHS: readonly string[] = ["/json", "/sse", "/binary"];

/** The URL a client GETs for a path: each client has recordings of its own. */
export function urlFor(origin: string, client: string, path: string): string {
  return `${origin}${path}?client=${encodeURIComponent(client)}`;
}

/** How the child names what one client saw of one path. */
export function seenKey(client: string, path: string): string {
  return `${client} ${path}`;
}

/** What every caught client saw of every path, one after the other, keyed by `seenKey()`. */
export async function seeEveryPath(origin: string): Promise<Map<string, Seen>> {
  const seen = new Map<string, Seen>();
  for (const client of CAUGHT_CLIENTS) {
    for (const path of PATHS) {
      seen.set(seenKey(client.name, path), await client.get(urlFor(origin, client.name, path)));
    }
  }
  return seen;
}

/** The events of the SSE route; the server pauses between them. */
export const SSE_EVENTS: readonly string[] = [
  'data: {"delta":"Record"}\n\n',
  'data: {"delta":" once"}\n\n',
  'data: {"delta":" replay"}\n\n',
  "data: [DONE]\n\n",
];

/** 1 KiB of every byte value, not valid UTF-8. */
export const BINARY: Uint8Array = Uint8Array.from({ length: 1024 }, (_, i) => (i * 131 + 7) % 256);

/** An in-memory S3 bucket store for the fake endpoint. */
const objects = new Map<string, Uint8Array>();

/** The local server's routes; unknown paths answer 404. */
export const route: Route = async (received, response) => {
  const path = received.url.split("?")[0]!;
  if (path === "/json") {
    response.writeHead(200, "OK", {
      "content-type": "application/json",
      "x-request-id": "req-42",
      "set-cookie": ["session=abc; Path=/", "theme=dark; Path=/"],
    });
    response.end(JSON.stringify({ id: 1, name: "Ada" }));
    return;
  }
  if (path === "/sse") {
    response.writeHead(200, "OK", {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    });
    for (let i = 0; i < SSE_EVENTS.length; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 15));
      if (response.destroyed) return;
      response.write(SSE_EVENTS[i]);
    }
    response.end();
    return;
  }
  if (path === "/binary") {
    response.writeHead(200, "OK", { "content-type": "application/octet-stream" });
    response.end(BINARY);
    return;
  }
  if (path === "/v1/chat/completions" && received.method === "POST") {
    response.writeHead(200, "OK", {
      "content-type": "text/event-stream",
      "x-request-id": "req_oa",
    });
    for (const word of WORDS) {
      const chunk = {
        id: "c1",
        object: "chat.completion.chunk",
        created: 1767225600,
        model: "m",
        choices: [{ index: 0, delta: { content: word }, finish_reason: null }],
      };
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    response.end("data: [DONE]\n\n");
    return;
  }
  if (path === "/v1/messages" && received.method === "POST") {
    response.writeHead(200, "OK", { "content-type": "text/event-stream", "request-id": "req_an" });
    const event = (type: string, data: unknown) =>
      `event: ${type}\ndata: ${JSON.stringify({ type, ...data as object })}\n\n`;
    response.write(
      event("message_start", {
        message: {
          id: "msg_1",
          type: "message",
          role: "assistant",
          model: "m",
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: { input_tokens: 1, output_tokens: 0 },
        },
      }),
    );
    response.write(
      event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
    );
    for (const word of WORDS) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      response.write(
        event("content_block_delta", { index: 0, delta: { type: "text_delta", text: word } }),
      );
    }
    response.write(event("content_block_stop", { index: 0 }));
    response.write(
      event("message_delta", {
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: WORDS.length },
      }),
    );
    response.end(event("message_stop", {}));
    return;
  }
  if (path.startsWith("/bucket/")) {
    if (received.method === "PUT") {
      objects.set(path, received.body);
      response.writeHead(200, "OK", { etag: '"etag-1"', "x-amz-request-id": "r1" });
      response.end();
      return;
    }
    const object = objects.get(path);
    if (received.method === "GET" && object !== undefined) {
      response.writeHead(200, "OK", {
        "content-type": "text/plain",
        "content-length": String(object.length),
        etag: '"etag-1"',
        "last-modified": "Thu, 01 Jan 2026 00:00:00 GMT",
      });
      response.end(object);
      return;
    }
  }
  response.writeHead(404, "Not Found", { "content-type": "text/plain" });
  response.end("not found");
};

/** An S3 client for the fake endpoint, path-style. */
export function s3(origin: string): S3Client {
  return new S3Client({
    endpoint: origin,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret-test" },
    maxAttempts: 1,
  });
}

/** Puts an object and reads it back through the SDK; what came back. */
export async function s3RoundTrip(
  origin: string,
): Promise<{ etag: string; body: string; type: string }> {
  const client = s3(origin);
  try {
    const put = await client.send(
      new PutObjectCommand({
        Bucket: "bucket",
        Key: "hello.txt",
        Body: "Hello, S3",
        ContentType: "text/plain",
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket: "bucket", Key: "hello.txt" }));
    return {
      etag: `${put.ETag}/${got.ETag}`,
      body: await got.Body!.transformToString(),
      type: got.ContentType ?? "",
    };
  } finally {
    client.destroy();
  }
}

/** The words the fake LLM endpoints stream, one event each. */
export const WORDS: readonly string[] = ["Record", " once,", " replay", " forever."];

/** Streams a chat completion through the openai SDK with no custom fetch; the deltas. */
export function openaiDeltas(origin: string): Promise<string[]> {
  return chatDeltas(new OpenAI({ apiKey: "sk-test", baseURL: `${origin}/v1`, maxRetries: 0 }));
}

/** Streams a message through the Anthropic SDK with no custom fetch; the text deltas. */
export async function anthropicDeltas(origin: string): Promise<string[]> {
  const client = new Anthropic({ apiKey: "sk-ant-test", baseURL: origin, maxRetries: 0 });
  const stream = await client.messages.create({
    model: "m",
    max_tokens: 16,
    messages: [{ role: "user", content: "Say the motto." }],
    stream: true,
  });
  const out: string[] = [];
  for await (const event of stream) {
    if (event.type === "content_block_delta" && event.delta.type === "text_delta") {
      out.push(event.delta.text);
    }
  }
  return out;
}

/** A `Seen` as JSON (bytes as base64), for the child process's output. */
export function seenToJson(seen: Seen): unknown {
  return { ...seen, pieces: seen.pieces.map((piece) => Buffer.from(piece).toString("base64")) };
}

/** The inverse of `seenToJson()`. */
export function seenFromJson(json: { pieces: string[] } & Omit<Seen, "pieces">): Seen {
  return {
    ...json,
    pieces: json.pieces.map((piece) => new Uint8Array(Buffer.from(piece, "base64"))),
  };
}

/** All the pieces joined. */
export function bytesOf(seen: Seen): Uint8Array {
  return new Uint8Array(Buffer.concat(seen.pieces));
}
