import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  createAsyncBroker,
  createCassette,
  fileStore,
  fileStoreAsync,
  InteractionNotFoundError,
} from "@x/replay";
import { createInterceptResponder, interceptHttp } from "@x/replay/intercept";
import {
  anthropicDeltas,
  BINARY,
  BUN_BUILTIN_CLIENTS,
  bytesOf,
  CAUGHT_CLIENTS,
  CLIENTS,
  openaiDeltas,
  PATHS,
  route,
  RUNTIME,
  s3RoundTrip,
  seeEveryPath,
  type Seen,
  seenFromJson,
  seenKey as key,
  SSE_EVENTS,
  urlFor,
  WORDS,
} from "./_intercept.ts";
import { startServer } from "./_http.ts";
import { runChild, withFolder } from "./_helpers.ts";

const decoder = new TextDecoder();

/** Whether an error is, or has somewhere in its causes, an `InteractionNotFoundError`. */
function carriesMiss(error: unknown): boolean {
  for (let at = error, depth = 0; at instanceof Error && depth < 6; depth++) {
    if (at instanceof InteractionNotFoundError) return true;
    at = at.cause;
  }
  return false;
}

/** What a replay shows of live headers: set-cookie values are redacted in the cassette. */
function redacted(headers: Record<string, string[]>): Record<string, string[]> {
  const out = { ...headers };
  if (out["set-cookie"] !== undefined) {
    out["set-cookie"] = out["set-cookie"].map(() => "[REDACTED]");
  }
  return out;
}

test(
  "interceptHttp() records every client and replays it in a new process, the server gone",
  { timeout: 120_000 },
  async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "clients.json");
      const server = await startServer(route);
      const origin = server.origin;
      let live: Map<string, Seen>;
      let recorded: Map<string, Seen>;
      let liveS3: unknown;
      let recordedS3: unknown;
      try {
        // What each client sees from the server itself, nothing intercepted.
        live = await seeEveryPath(origin);
        liveS3 = await s3RoundTrip(origin);
        const recorder = createAsyncBroker({
          cassette: createCassette(),
          mode: "record",
          recording: "streaming",
          liveResponder: createInterceptResponder(),
          store: fileStoreAsync(path, { createIfMissing: true }),
        });
        const interception = interceptHttp(recorder);
        try {
          recorded = await seeEveryPath(origin);
          recordedS3 = await s3RoundTrip(origin);
          assert.deepEqual(await openaiDeltas(origin), WORDS);
          assert.deepEqual(await anthropicDeltas(origin), WORDS);
        } finally {
          await interception.stop();
        }
      } finally {
        await server.close();
      }
      assert.deepEqual(recordedS3, liveS3);
      assert.deepEqual(liveS3, {
        etag: '"etag-1"/"etag-1"',
        body: "Hello, S3",
        type: "text/plain",
      });
      for (const [name, seen] of recorded) {
        const expected = live.get(name)!;
        assert.equal(seen.status, expected.status, name);
        assert.deepEqual(seen.headers, expected.headers, name);
        assert.deepEqual(bytesOf(seen), bytesOf(expected), name);
      }

      // Node replays node:http at the socket unless a passthrough predicate is
      // given (ADR 0051): both layers must show the clients what they saw live.
      for (const layer of RUNTIME === "Node" ? ["socket", "mswjs"] : ["mswjs"]) {
        const child = await runChild("_intercept_child", ["replay", path, origin, layer]);
        assert.equal(child.code, 0, child.stderr);
        checkReplay(JSON.parse(child.stdout), layer);
      }

      /** Checks one replay child's report against what the clients saw live. */
      function checkReplay(replayed: ReturnType<typeof JSON.parse>, layer: string): void {
        const cassette = fileStore(path).load();
        for (const client of CAUGHT_CLIENTS) {
          for (const where of PATHS) {
            const name = `${key(client.name, where)} (${layer})`;
            const at = key(client.name, where);
            const seen = seenFromJson(replayed[at]);
            const expected = live.get(at)!;
            assert.equal(seen.status, expected.status, name);
            assert.equal(seen.statusText, expected.statusText, name);
            assert.deepEqual(seen.headers, redacted(expected.headers), name);
            assert.deepEqual(bytesOf(seen), bytesOf(expected), name);
            if (where === "/binary") assert.deepEqual(bytesOf(seen), BINARY, name);
            if (where === "/sse") {
              // Chunk for chunk: the client's stream delivers the recorded pieces one by one.
              const interaction = cassette.interactions.find((candidate) =>
                candidate.request.target === urlFor(origin, client.name, where)
              )!;
              const chunks = interaction.responseChunks.map((chunk) => decoder.decode(chunk.data));
              assert.ok(chunks.length > 1, `${name}: recorded as ${chunks.length} chunk(s)`);
              assert.deepEqual(seen.pieces.map((piece) => decoder.decode(piece)), chunks, name);
              assert.equal(chunks.join(""), SSE_EVENTS.join(""), name);
            }
          }
        }
        assert.deepEqual(replayed.s3, liveS3, layer);
        assert.deepEqual(replayed.openai, WORDS, layer);
        assert.deepEqual(replayed.anthropic, WORDS, layer);
        // The fetch adapter answers the same cassette with the same status and headers.
        const viaHttp = seenFromJson(replayed[key("http.get", "/json")]);
        const viaFetch = replayed["createReplayFetch /json"];
        assert.equal(viaFetch.status, viaHttp.status);
        assert.equal(viaFetch.statusText, viaHttp.statusText);
        assert.deepEqual(viaFetch.headers, viaHttp.headers);
      }
    });
  },
);

test(
  "interceptHttp() in replay mode fails every client's miss, and the running server sees nothing",
  { timeout: 60_000 },
  async () => {
    const server = await startServer(route);
    const escaped: string[] = [];
    try {
      const interception = interceptHttp(createAsyncBroker({ cassette: createCassette() }));
      try {
        for (const client of CLIENTS) {
          const url = urlFor(server.origin, client.name, "/json");
          if (RUNTIME === "Bun" && BUN_BUILTIN_CLIENTS.has(client.name)) {
            // Bun's own node-fetch and undici call its native fetch: nothing can catch them.
            assert.equal((await client.get(url)).status, 200, client.name);
            escaped.push(client.name);
            continue;
          }
          await assert.rejects(client.get(url), (error: unknown) => {
            assert.match(
              (error as Error).message + String((error as Error).cause),
              /No matching interaction for http:GET:http:\/\/127\.0\.0\.1:\d+\/json\?client=/,
              client.name,
            );
            // node-fetch keeps only the message of the error it wraps.
            if (client.name !== "node-fetch") assert.ok(carriesMiss(error), client.name);
            return true;
          });
        }
        await assert.rejects(s3RoundTrip(server.origin), (error: unknown) => carriesMiss(error));
        await assert.rejects(openaiDeltas(server.origin), (error: unknown) => carriesMiss(error));
        await assert.rejects(
          anthropicDeltas(server.origin),
          (error: unknown) => carriesMiss(error),
        );
      } finally {
        await interception.stop();
      }
      assert.equal(server.received.length, escaped.length);
      assert.deepEqual(escaped, RUNTIME === "Bun" ? [...BUN_BUILTIN_CLIENTS] : []);
    } finally {
      await server.close();
    }
  },
);

test(
  "interceptHttp() passthrough lets requests reach the server untouched and unrecorded",
  { timeout: 60_000 },
  async () => {
    const server = await startServer(route);
    try {
      const live = new Map<string, Seen>();
      for (const client of CAUGHT_CLIENTS) {
        live.set(client.name, await client.get(urlFor(server.origin, client.name, "/json")));
      }
      const recorder = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        liveResponder: createInterceptResponder(),
      });
      const interception = interceptHttp(recorder, { passthrough: "127.0.0.1" });
      try {
        for (const client of CAUGHT_CLIENTS) {
          const seen = await client.get(urlFor(server.origin, client.name, "/json"));
          assert.deepEqual(seen.headers, live.get(client.name)!.headers, client.name);
          assert.deepEqual(bytesOf(seen), bytesOf(live.get(client.name)!), client.name);
        }
        assert.equal((await s3RoundTrip(server.origin)).body, "Hello, S3");
      } finally {
        await interception.stop();
      }
      assert.equal(server.received.length, 2 * CAUGHT_CLIENTS.length + 2);
      assert.equal(recorder.cassette.interactions.length, 0);
    } finally {
      await server.close();
    }
  },
);
