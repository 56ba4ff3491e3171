// The demo behind `npm run demo`: build a cassette by hand, save it as JSON
// and YAML, load both back, and replay a streamed (multi-chunk) answer,
// printing each chunk as it is handed out.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import {
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  parseCassette,
  replay,
  replayAsync,
  stringifyCassette,
} from "@x/replay";

const request = createRequest({
  protocol: "http",
  action: "POST",
  target: "/v1/chat/completions",
  headers: [["content-type", "application/json"]],
  body: '{"model":"m","stream":true}',
});
const events = ["Record", " once,", " replay", " forever", "."];
const cassette = createCassette([
  createInteraction(request, [
    createChunk(`data: {"delta":${JSON.stringify(events[0])}}\n\n`, 0, [["status_code", "200"]]),
    ...events.slice(1).map((delta) => `data: {"delta":${JSON.stringify(delta)}}\n\n`),
    "data: [DONE]\n\n",
  ]),
  createInteraction(
    createRequest({ protocol: "http", action: "GET", target: "/logo.png" }),
    [new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])],
  ),
]);

const folder = ".tmp/demo";
mkdirSync(folder, { recursive: true });
for (const format of ["json", "yaml"] as const) {
  writeFileSync(`${folder}/cassette.${format}`, stringifyCassette(cassette, { format }));
}
console.log(`saved ${folder}/cassette.json and ${folder}/cassette.yaml\n`);
console.log(readFileSync(`${folder}/cassette.yaml`, "utf8"));

const decoder = new TextDecoder();
for (const format of ["json", "yaml"] as const) {
  const loaded = parseCassette(readFileSync(`${folder}/cassette.${format}`, "utf8"), { format });
  console.log(`replaying from cassette.${format}, chunk by chunk:`);
  for await (const chunk of replayAsync(loaded, request)) {
    const text = decoder.decode(chunk.data);
    const delta = text.startsWith("data: {") ? JSON.parse(text.slice(6)).delta : "";
    console.log(`  chunk ${chunk.sequence}: ${JSON.stringify(text)}`);
    if (delta !== "") process.stdout.write(`  -> ${delta}\n`);
  }
  const [png] = replay(loaded, loaded.interactions[1]!.request);
  console.log(
    `  binary body survives ${format}: ${[...png!.data].map((b) => b.toString(16)).join(" ")}\n`,
  );
}
