// The demo behind `npm run demo`: record a streamed chat answer from a real
// (local) server-sent-event server through the library's fetch, stop the
// server, then replay the cassette with the recorded timing and show that the
// output and its chunking are identical. No network beyond 127.0.0.1.
import { rmSync, statSync } from "node:fs";
import { createServer } from "node:http";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { createAsyncBroker, createCassette, fileStoreAsync, openAsyncBroker } from "@x/replay";
import { createFetchResponder, createReplayFetch } from "@x/replay/fetch";

const cassettePath = fileURLToPath(new URL("../.tmp/demo/chat.json", import.meta.url));
const words = ["Record", " once,", " replay", " forever:", " same", " bytes,", " same", " chunks."];
const pauses = [120, 60, 180, 90, 240, 60, 150, 80];

// 1. An embedded chat server that streams its answer word by word.
const server = createServer((_request, response) => {
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  let i = 0;
  const next = (): void => {
    if (i === words.length) {
      response.end("data: [DONE]\n\n");
      return;
    }
    response.write(`data: ${JSON.stringify({ delta: words[i] })}\n\n`);
    setTimeout(next, pauses[i++]);
  };
  next();
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/v1/chat`;
const request = { method: "POST", body: JSON.stringify({ prompt: "What is replay?" }) };

/** Reads a response body, printing each piece with its arrival time. */
async function show(label: string, response: Response): Promise<string[]> {
  const started = performance.now();
  const decoder = new TextDecoder();
  const pieces: string[] = [];
  for await (const piece of response.body!) {
    const text = decoder.decode(piece, { stream: true });
    pieces.push(text);
    const at = `+${Math.round(performance.now() - started)} ms`.padStart(9);
    console.log(`  ${label} ${at}  chunk ${pieces.length - 1}: ${JSON.stringify(text)}`);
  }
  return pieces;
}

// 2. Record through the library: the caller reads the live stream while it is recorded.
rmSync(cassettePath, { force: true });
const recorder = createAsyncBroker({
  cassette: createCassette(),
  mode: "record",
  recording: "streaming",
  liveResponder: createFetchResponder(),
  store: fileStoreAsync(cassettePath, { createIfMissing: true }),
});
console.log(`recording ${url} (live server on 127.0.0.1):`);
let live: string[];
try {
  live = await show("live  ", await createReplayFetch(recorder)(url, request));
} finally {
  // 3. Stop the server: from here on, nothing answers on that port.
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}
console.log(
  `\nserver stopped; cassette saved to ${cassettePath} (${statSync(cassettePath).size} bytes)`,
);

// 4. Replay from the file, with the recorded timing (each chunk's offset_ms).
const player = await openAsyncBroker(fileStoreAsync(cassettePath), { timing: "recorded" });
console.log("\nreplaying the cassette with recorded timing:");
const replayed = await show("replay", await createReplayFetch(player)(url, request));

// 5. Same output, same chunking.
const answer = (pieces: string[]): string =>
  pieces.join("").split("\n\n").filter((line) => line.startsWith("data: {"))
    .map((line) => JSON.parse(line.slice(6)).delta).join("");
const identical = JSON.stringify(live) === JSON.stringify(replayed);
console.log(`\nlive answer:     ${answer(live)}`);
console.log(`replayed answer: ${answer(replayed)}`);
console.log(`chunks: ${live.length} live, ${replayed.length} replayed; identical: ${identical}`);
if (!identical) process.exit(1);
