import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { createAsyncBroker, createCassette, fileStoreAsync, openAsyncBroker } from "@x/replay";
import { createFetchResponder, createReplayFetch } from "@x/replay/fetch";
import { type LiveServer, startServer } from "./_http.ts";
import { withFolder } from "./_helpers.ts";
import { chatDeltas } from "./_openai.ts";

const WORDS = ["Record", " once", ",", " replay", " forever", "."];

/** A local stand-in for the OpenAI API: a streamed chat completion, one SSE event per word. */
function fakeOpenAI(): Promise<LiveServer> {
  return startServer(async (received, response) => {
    if (received.method !== "POST" || received.url !== "/v1/chat/completions") {
      response.writeHead(404, { "content-type": "application/json" });
      response.end('{"error":{"message":"not found"}}');
      return;
    }
    const params = JSON.parse(new TextDecoder().decode(received.body));
    assert.equal(params.stream, true);
    response.writeHead(200, {
      "content-type": "text/event-stream",
      "x-request-id": "req_test_1",
    });
    const event = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${
        JSON.stringify({
          id: "chatcmpl-test",
          object: "chat.completion.chunk",
          created: 1767225600,
          model: params.model,
          choices: [{ index: 0, delta, finish_reason: finish }],
        })
      }\n\n`;
    response.write(event({ role: "assistant", content: "" }, null));
    for (const word of WORDS) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      response.write(event({ content: word }, null));
    }
    response.write(event({}, "stop"));
    response.end("data: [DONE]\n\n");
  });
}

test("createReplayFetch() lets the openai client replay a recorded streamed chat completion", {
  timeout: 30_000,
}, async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "openai.json");
    const server = await fakeOpenAI();
    const baseURL = `${server.origin}/v1`;
    let live: string[];
    let recorded: string[];
    try {
      live = await chatDeltas(new OpenAI({ apiKey: "sk-live-key", baseURL, maxRetries: 0 }));
      const recorder = createAsyncBroker({
        cassette: createCassette(),
        mode: "record",
        recording: "streaming",
        liveResponder: createFetchResponder(),
        store: fileStoreAsync(path, { createIfMissing: true }),
      });
      recorded = await chatDeltas(
        new OpenAI({
          apiKey: "sk-live-key",
          baseURL,
          maxRetries: 0,
          fetch: createReplayFetch(recorder),
        }),
      );
      assert.equal(server.received.at(-1)!.headers.authorization, "Bearer sk-live-key");
    } finally {
      await server.close();
    }
    assert.deepEqual(live, WORDS);
    assert.deepEqual(recorded, live);
    assert.doesNotMatch(readFileSync(path, "utf8"), /sk-live-key/);

    // The server is gone; another key and the client's own headers do not matter.
    const player = await openAsyncBroker(fileStoreAsync(path));
    const replayed = await chatDeltas(
      new OpenAI({ apiKey: "sk-other", baseURL, maxRetries: 0, fetch: createReplayFetch(player) }),
    );
    assert.deepEqual(replayed, live);
    const chunks = player.cassette.interactions[0]!.responseChunks;
    assert.ok(chunks.length > 1, `a stream of several chunks, got ${chunks.length}`);
  });
});
