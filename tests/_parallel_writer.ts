// Child process for parallel_writers_test.ts: waits for a start signal, then
// records `count` distinct requests (and one request every worker shares)
// into one cassette through a broker in auto mode, with a file store or a
// journal store.
// Arguments: <cassette path> <worker id> <count> <sync|async> <start file> <file|journal>
//            [blobs] (every chunk in a blob file, ADR 0041)
import { existsSync } from "node:fs";
import process from "node:process";
import {
  createChunk,
  createRequest,
  fileStore,
  fileStoreAsync,
  type InteractionRequest,
  journalStore,
  journalStoreAsync,
  openAsyncBroker,
  openBroker,
} from "@x/replay";

const [path, worker, countText, style, startFile, kind, layout] = process.argv.slice(2);
if (kind !== "file" && kind !== "journal") {
  throw new Error("usage: <path> <worker> <count> <sync|async> <start> <file|journal>");
}
const count = Number(countText);
const options = { createIfMissing: true, blobThreshold: layout === "blobs" ? 1 : undefined };

const live = (request: InteractionRequest) => [
  createChunk(`answer to ${request.target}`, 0, [["status_code", "200"]]),
  "done",
];
const requests = [
  createRequest({ protocol: "http", action: "GET", target: "/shared" }),
  ...Array.from(
    { length: count },
    (_, i) => createRequest({ protocol: "http", action: "GET", target: `/worker-${worker}/${i}` }),
  ),
];

// One clock for every worker, so the request they all record is recorded
// identically (same recorded_at and offsets) and the merge keeps it once.
const fixedClock = () => Date.UTC(2026, 0, 1);

process.stdout.write("ready\n");
const pause = new Int32Array(new SharedArrayBuffer(4));
while (!existsSync(startFile)) Atomics.wait(pause, 0, 0, 2);

if (style === "sync") {
  const broker = openBroker(
    (kind === "file" ? fileStore : journalStore)(path!, options),
    {
      mode: "auto",
      liveResponder: live,
      now: fixedClock,
    },
  );
  for (const request of requests) [...broker.replay(request)];
} else {
  const broker = await openAsyncBroker(
    (kind === "file" ? fileStoreAsync : journalStoreAsync)(path!, options),
    { mode: "auto", liveResponder: live, now: fixedClock },
  );
  for (const request of requests) {
    for await (const _ of broker.replay(request));
  }
}
process.stdout.write("done\n");
