// Request bodies spooled to temporary files by the server (ADR 0053): sent
// upstream, fingerprinted, redacted and recorded from the file, never held.
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import { join } from "node:path";
import {
  type AsyncBroker,
  type AsyncCassetteStore,
  createAsyncBroker,
  createCassette,
  createRequest,
  fileStoreAsync,
  fingerprint,
  journalStoreAsync,
  openAsyncBroker,
} from "@x/replay";
import { createFetchResponder } from "@x/replay/fetch";
import { serve } from "@x/replay/server";
import { deferred, GUARD, plainRequest, startServer, utf8, withReplayServer } from "./_http.ts";
import { collectGarbage, randomBytes, sha256, withFolder } from "./_helpers.ts";

/** The body folders a spool holds under `folder` (none once they are removed). */
function spooledBodies(folder: string): string[] {
  if (!existsSync(folder)) return [];
  return readdirSync(folder).flatMap((root) => readdirSync(join(folder, root)));
}

/** Sends `body` in pieces without a content-length (chunked), as a streaming client does. */
function chunkedRequest(url: URL, body: Uint8Array, piece: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream", connection: "close" },
    }, (response) => {
      response.resume();
      response.on("end", () => resolve(response.statusCode ?? 0));
    });
    request.on("error", reject);
    for (let at = 0; at < body.length; at += piece) {
      request.write(body.subarray(at, Math.min(body.length, at + piece)));
    }
    request.end();
  });
}

const MiB = 1024 * 1024;

/** A broker recording everything through createFetchResponder(), into `store` when given. */
function recorder(
  upstream: string,
  options: {
    readonly client?: "fetch" | "node:http";
    readonly store?: AsyncCassetteStore;
    readonly recording?: "buffered" | "streaming";
  } = {},
): AsyncBroker {
  return createAsyncBroker({
    cassette: createCassette(),
    mode: "record",
    recording: options.recording,
    liveResponder: createFetchResponder({ upstream, client: options.client }),
    store: options.store,
  });
}

/** A file (or journal) store with 1 MiB blob files. */
function blobStore(path: string, kind: "file" | "journal" = "file"): AsyncCassetteStore {
  const options = { createIfMissing: true, blobThreshold: MiB };
  return kind === "file" ? fileStoreAsync(path, options) : journalStoreAsync(path, options);
}

for (const client of ["fetch", "node:http"] as const) {
  for (const kind of ["file", "journal"] as const) {
    test(
      `serve() with spoolThreshold records a big upload through ${client} into a ${kind} store's blob folder`,
      GUARD,
      async () => {
        await withFolder(async (folder) => {
          const path = join(folder, "upload.json");
          const spoolFolder = join(folder, "spool");
          const bytes = randomBytes(3 * MiB + 17);
          const upstream = await startServer((received, response) => {
            response.end(`got ${received.body.length} ${sha256(received.body)}`);
          });
          const store = blobStore(path, kind);
          try {
            const broker = recorder(upstream.origin, { client, store });
            mkdirSync(spoolFolder);
            await withReplayServer(
              { broker, origin: upstream.origin, spoolThreshold: MiB, spoolFolder },
              async (proxy) => {
                const answer = await plainRequest(new URL("/put", proxy.url), {
                  method: "PUT",
                  headers: { "content-type": "application/octet-stream" },
                  body: bytes,
                });
                assert.equal(answer.status, 200);
                assert.equal(utf8(answer.body), `got ${bytes.length} ${sha256(bytes)}`);
                // The recording refers to the spooled file until the server closes.
                assert.equal(spooledBodies(spoolFolder).length, 1);
              },
            );
            // Closing the server removed its spool.
            assert.deepEqual(readdirSync(spoolFolder), []);
            // node:http sends the file's length; fetch does too on Node and
            // Bun, while Deno's fetch sends any stream chunked.
            const received = upstream.received[0]!;
            if (client === "node:http") {
              assert.equal(received.headers["content-length"], String(bytes.length));
            }
          } finally {
            await upstream.close();
          }
          const loaded = kind === "file"
            ? await fileStoreAsync(path).load()
            : await journalStoreAsync(path).load();
          const request = loaded.interactions[0]!.request;
          assert.deepEqual(request.bodyBlob, { sha256: sha256(bytes), size: bytes.length });
          assert.deepEqual(readFileSync(join(`${path}.blobs`, sha256(bytes))), Buffer.from(bytes));
          // The recording matches the same upload made in memory.
          const same = createRequest({
            protocol: "http",
            action: "PUT",
            target: `${upstream.origin}/put`,
            headers: request.headers,
            body: bytes,
          });
          assert.equal(fingerprint(request), fingerprint(same));
          assert.equal(loaded.interactions[0]!.fingerprint, fingerprint(same));
        });
      },
    );
  }
}

test(
  "serve() spools a body of unknown length once it reaches the threshold, and replays it",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "chunked.json");
      const spoolFolder = join(folder, "spool");
      const bytes = randomBytes(2 * MiB + 5);
      const upstream = await startServer((received, response) => {
        response.end(sha256(received.body));
      });
      try {
        const broker = recorder(upstream.origin, { client: "node:http", store: blobStore(path) });
        await withReplayServer(
          { broker, origin: upstream.origin, spoolThreshold: MiB, spoolFolder: folder },
          async (proxy) => {
            assert.equal(await chunkedRequest(new URL("/up", proxy.url), bytes, 100_000), 200);
          },
        );
      } finally {
        await upstream.close();
      }
      assert.deepEqual(upstream.received[0]!.body, bytes);
      // Replaying: the same upload, spooled again, finds its recording; the
      // spooled file is gone as soon as it is answered.
      const replaying = await openAsyncBroker(fileStoreAsync(path), { mode: "replay" });
      await withReplayServer(
        { broker: replaying, spoolThreshold: MiB, spoolFolder },
        async (proxy) => {
          mkdirSync(spoolFolder, { recursive: true });
          const answer = await plainRequest(new URL("/up", proxy.url), {
            method: "PUT",
            headers: { "content-type": "application/octet-stream" },
            body: bytes,
          });
          assert.equal(answer.status, 200);
          assert.equal(utf8(answer.body), sha256(bytes));
          assert.deepEqual(spooledBodies(spoolFolder), []);
        },
      );
    });
  },
);

test(
  "serve() redacts a spooled text body before it is stored, and forwards it as sent",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "text.json");
      const filler = "x".repeat(2 * MiB);
      const text = `{"password": "hunter2-secret", "data": "${filler}"}`;
      const upstream = await startServer((received, response) => {
        response.end(String(utf8(received.body).includes("hunter2-secret")));
      });
      try {
        const broker = recorder(upstream.origin, { client: "node:http", store: blobStore(path) });
        await withReplayServer(
          { broker, origin: upstream.origin, spoolThreshold: MiB, spoolFolder: folder },
          async (proxy) => {
            const answer = await plainRequest(new URL("/login", proxy.url), {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: text,
            });
            assert.equal(utf8(answer.body), "true");
          },
        );
      } finally {
        await upstream.close();
      }
      const stored = await fileStoreAsync(path).load();
      const body = utf8(stored.interactions[0]!.request.body);
      assert.ok(!body.includes("hunter2-secret"));
      assert.ok(body.startsWith('{"password": "[REDACTED]"'));
      for (const name of readdirSync(`${path}.blobs`)) {
        assert.ok(!readFileSync(join(`${path}.blobs`, name), "latin1").includes("hunter2-secret"));
      }
    });
  },
);

test(
  "serve() answers 413 when a spooled body passes bodyLimit, and keeps nothing of it",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const spoolFolder = join(folder, "spool");
      mkdirSync(spoolFolder);
      const broker = createAsyncBroker({ cassette: createCassette() });
      await withReplayServer(
        { broker, spoolThreshold: 1024, spoolFolder, bodyLimit: 64 * 1024 },
        async (proxy) => {
          // The answer comes before the body ends; the client may see the
          // connection close while it still writes instead.
          const status = await chunkedRequest(new URL("/x", proxy.url), randomBytes(200_000), 8192)
            .catch((error: { code?: string }) => error.code);
          assert.ok([413, "ECONNRESET", "EPIPE"].includes(status!), String(status));
          assert.deepEqual(spooledBodies(spoolFolder), []);
        },
      );
    });
  },
);

test("serve() removes a spooled body whose client goes away before it ends", GUARD, async () => {
  await withFolder(async (folder) => {
    const spoolFolder = join(folder, "spool");
    mkdirSync(spoolFolder);
    const upstream = await startServer((_, response) => void response.end("no"));
    try {
      const broker = recorder(upstream.origin);
      await withReplayServer(
        { broker, origin: upstream.origin, spoolThreshold: 1024, spoolFolder },
        async (proxy) => {
          const started = deferred();
          const request = httpRequest(new URL("/cut", proxy.url), {
            method: "PUT",
            headers: { "content-length": String(MiB) },
          });
          request.on("error", () => {});
          request.write(randomBytes(200_000), () => started.resolve());
          await started.promise;
          // Wait until the body is being spooled, then cut the connection.
          for (let i = 0; i < 200 && spooledBodies(spoolFolder).length === 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          assert.equal(spooledBodies(spoolFolder).length, 1);
          request.destroy();
          for (let i = 0; i < 400 && spooledBodies(spoolFolder).length > 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          assert.deepEqual(spooledBodies(spoolFolder), []);
          assert.equal(broker.cassette.interactions.length, 0);
        },
      );
      assert.equal(upstream.received.length, 0);
    } finally {
      await upstream.close();
    }
  });
});

test(
  "serve() holds a multipart form in memory, so its boundary is still made stable",
  GUARD,
  async () => {
    const upstream = await startServer((_, response) => void response.end("ok"));
    try {
      const broker = recorder(upstream.origin);
      await withReplayServer(
        { broker, origin: upstream.origin, spoolThreshold: 16 },
        async (proxy) => {
          const form = new FormData();
          form.append("file", new Blob([new Uint8Array(4096)]), "a.bin");
          const answer = await fetch(new URL("/form", proxy.url), { method: "POST", body: form });
          assert.equal(await answer.text(), "ok");
        },
      );
      const request = broker.cassette.interactions[0]!.request;
      assert.equal(request.bodyBlob, undefined);
      assert.match(utf8(request.body), /^--x-replay-[0-9a-f]{32}\r\n/);
    } finally {
      await upstream.close();
    }
  },
);

test("spoolThreshold and spoolFolder are checked when the server is made", async () => {
  const broker = createAsyncBroker({ cassette: createCassette() });
  await assert.rejects(serve({ broker, spoolThreshold: 0 }), {
    name: "RangeError",
    message: /spoolThreshold must be a whole number of bytes >= 1, got number 0/,
  });
  await assert.rejects(serve({ broker, spoolFolder: "" }), {
    name: "TypeError",
    message: /spoolFolder must be a folder's path/,
  });
});

/** A server that reports its first request-body bytes, then answers with the body's hash. */
async function progressServer() {
  const first = deferred();
  const bodies: Uint8Array[] = [];
  const aborted = deferred();
  const server = createServer((incoming, response) => {
    const pieces: Uint8Array[] = [];
    incoming.on("data", (piece: Uint8Array) => {
      pieces.push(piece);
      first.resolve();
    });
    incoming.on("aborted", () => aborted.resolve());
    incoming.on("error", () => aborted.resolve());
    incoming.on("end", () => {
      const body = Buffer.concat(pieces);
      bodies.push(body);
      response.end(sha256(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    first: first.promise,
    aborted: aborted.promise,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Resolves with `"timed out"` if `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | "timed out"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<"timed out">((resolve) => (timer = setTimeout(() => resolve("timed out"), ms))),
  ]).finally(() => clearTimeout(timer));
}

for (const client of ["fetch", "node:http"] as const) {
  for (const declared of [true, false]) {
    test(
      `serve() in record mode sends a big upload ${
        declared ? "with its length" : "of unknown length"
      } upstream through ${client} while it still arrives`,
      GUARD,
      async () => {
        await withFolder(async (folder) => {
          const path = join(folder, "arriving.json");
          const bytes = randomBytes(3 * MiB + 11);
          const upstream = await progressServer();
          try {
            const broker = recorder(upstream.origin, {
              client,
              store: blobStore(path),
              recording: "streaming",
            });
            await withReplayServer(
              { broker, origin: upstream.origin, spoolThreshold: MiB, spoolFolder: folder },
              async (proxy) => {
                const answer = new Promise<[number, string]>((resolve, reject) => {
                  const outgoing = httpRequest(new URL("/stream", proxy.url), {
                    method: "PUT",
                    headers: declared ? { "content-length": String(bytes.length) } : {},
                  }, (response) => {
                    let text = "";
                    response.setEncoding("utf8").on("data", (piece) => (text += piece));
                    response.on("end", () => resolve([response.statusCode ?? 0, text]));
                  });
                  outgoing.on("error", reject);
                  // The first 1.5 MiB, then nothing until the upstream has some of it.
                  outgoing.write(bytes.subarray(0, MiB + MiB / 2));
                  void within(upstream.first, 10_000).then((seen) => {
                    outgoing.end(bytes.subarray(MiB + MiB / 2));
                    if (seen === "timed out") reject(new Error("the upstream got nothing early"));
                  });
                });
                const [status, text] = await answer;
                assert.equal(status, 200);
                assert.equal(text, sha256(bytes));
              },
            );
          } finally {
            await upstream.close();
          }
          assert.deepEqual(upstream.bodies, [Buffer.from(bytes)]);
          const request = (await fileStoreAsync(path).load()).interactions[0]!.request;
          assert.deepEqual(request.bodyBlob, { sha256: sha256(bytes), size: bytes.length });
          const same = createRequest({ ...request, body: bytes });
          assert.equal(fingerprint(request), fingerprint(same));
        });
      },
    );
  }
}

test(
  "serve() stops passing an upload on when it passes bodyLimit: 413, nothing recorded or kept",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const spoolFolder = join(folder, "spool");
      mkdirSync(spoolFolder);
      const upstream = await progressServer();
      try {
        const broker = recorder(upstream.origin, { client: "node:http" });
        await withReplayServer(
          { broker, origin: upstream.origin, spoolThreshold: 1024, spoolFolder, bodyLimit: MiB },
          async (proxy) => {
            const status = await chunkedRequest(
              new URL("/big", proxy.url),
              randomBytes(3 * MiB),
              65536,
            )
              .catch((error: { code?: string }) => error.code);
            assert.ok([413, "ECONNRESET", "EPIPE"].includes(status!), String(status));
            // The upstream saw the start of it, and then its request was cut.
            assert.equal(await within(upstream.aborted, 10_000), undefined);
            assert.equal(broker.cassette.interactions.length, 0);
            for (let i = 0; i < 400 && spooledBodies(spoolFolder).length > 0; i++) {
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
            assert.deepEqual(spooledBodies(spoolFolder), []);
          },
        );
        assert.deepEqual(upstream.bodies, []);
      } finally {
        await upstream.close();
      }
    });
  },
);

test(
  "serve() gives a live responder of its own the whole spooled body, not a stream",
  GUARD,
  async () => {
    await withFolder(async (folder) => {
      const bytes = randomBytes(2 * MiB);
      const seen: number[] = [];
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        liveResponder: (request) => {
          seen.push(request.body.length);
          return [sha256(request.body)];
        },
      });
      await withReplayServer(
        { broker, origin: "http://upstream.test", spoolThreshold: MiB, spoolFolder: folder },
        async (proxy) => {
          const answer = await plainRequest(new URL("/own", proxy.url), {
            method: "PUT",
            body: bytes,
          });
          assert.equal(utf8(answer.body), sha256(bytes));
        },
      );
      assert.deepEqual(seen, [bytes.length]);
    });
  },
);

test("serve() removes a spooled body's file once nothing refers to it", GUARD, async () => {
  await withFolder(async (folder) => {
    const spoolFolder = join(folder, "spool");
    mkdirSync(spoolFolder);
    const bytes = randomBytes(2 * MiB);
    const upstream = await startServer((received, response) => {
      response.end(sha256(received.body));
    });
    try {
      const broker = createAsyncBroker({
        cassette: createCassette(),
        mode: "auto",
        liveResponder: createFetchResponder({ upstream: upstream.origin }),
      });
      await withReplayServer(
        { broker, origin: upstream.origin, spoolThreshold: MiB, spoolFolder },
        async (proxy) => {
          const send = () =>
            plainRequest(new URL("/same", proxy.url), { method: "PUT", body: bytes });
          // Recorded: the cassette's request refers to the first file.
          assert.equal(utf8((await send()).body), sha256(bytes));
          // Replayed: the second file is needed only until it is matched.
          assert.equal(utf8((await send()).body), sha256(bytes));
          assert.equal(upstream.received.length, 1);
          for (let i = 0; i < 100 && spooledBodies(spoolFolder).length > 1; i++) {
            collectGarbage();
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          assert.equal(spooledBodies(spoolFolder).length, 1);
          assert.equal(broker.cassette.interactions[0]!.request.body.length, bytes.length);
        },
      );
    } finally {
      await upstream.close();
    }
  });
});
