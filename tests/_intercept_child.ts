// Child process for intercept_clients_test.ts: replays, in a process of its
// own and with the server gone, what the test recorded.
//   replay <cassette> <origin> [layer]   every caught client GETs every path,
//                                then the S3, openai and Anthropic calls; prints
//                                one JSON document with what each saw. With
//                                layer "mswjs", a passthrough predicate that
//                                lets nothing through keeps node:http requests
//                                on @mswjs/interceptors, off Node's socket path
//                                (ADR 0051).
import process from "node:process";
import { fileStoreAsync, openAsyncBroker } from "@x/replay";
import { createReplayFetch } from "@x/replay/fetch";
import { interceptHttp } from "@x/replay/intercept";
import {
  anthropicDeltas,
  normalizeHeaders,
  openaiDeltas,
  s3RoundTrip,
  seeEveryPath,
  seenToJson,
} from "./_intercept.ts";

const [command, path, origin, layer] = process.argv.slice(2);
if (command !== "replay" || path === undefined || origin === undefined) {
  throw new Error("usage: replay <cassette> <origin>");
}

// Recorded timing: the SSE events arrive as far apart as they did live.
const broker = await openAsyncBroker(fileStoreAsync(path), { timing: "recorded" });
const seen: Record<string, unknown> = {};
const interception = interceptHttp(
  broker,
  layer === "mswjs" ? { passthrough: () => false } : undefined,
);
try {
  for (const [key, one] of await seeEveryPath(origin)) seen[key] = seenToJson(one);
  seen.s3 = await s3RoundTrip(origin);
  seen.openai = await openaiDeltas(origin);
  seen.anthropic = await anthropicDeltas(origin);
} finally {
  await interception.stop();
}
// The same cassette through the fetch adapter, outside the interception.
const replayed = await createReplayFetch(broker)(`${origin}/json?client=http.get`);
seen["createReplayFetch /json"] = {
  status: replayed.status,
  statusText: replayed.statusText,
  headers: normalizeHeaders(replayed.headers),
  body: await replayed.text(),
};
process.stdout.write(JSON.stringify(seen));
