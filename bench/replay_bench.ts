// match() and full iteration of replay() for a 3-chunk hit in a cassette of
// 10,000 interactions.
//
// (a) lookup without fingerprinting: what replay() does once it has the
//     fingerprint (the index's play list, iterated through .values()) vs a
//     plain Map.get + array iteration. Target: <= 1.5x. Reading the public,
//     frozen arrays (cassette.index + interactions[pos].responseChunks) is an
//     info row: V8 iterates frozen arrays about 3x slower (ADR 0001).
// (b) the public API, fingerprinting included: replay(cassette, request)
//     iterated to the end vs a bare node:crypto SHA-256 of the same canonical
//     text + Map.get + array iteration. Target: <= 1.3x. The same request
//     object is replayed each time, so after the first call its canonical
//     head is kept (ADR 0001, second revision) and each call hex-encodes the
//     body and hashes; the "fresh request per call" info row shows a request
//     fingerprinted for the first time (createRequest included).
//
// Run: npx deno bench --allow-read --allow-env bench/replay_bench.ts
import { createHash } from "node:crypto";
import {
  createCassette,
  createInteraction,
  createRequest,
  fingerprint,
  match,
  replay,
  type ResponseChunk,
} from "@x/replay";
// The library's own lookup, below the public API (bench files are not published).
import { playListFor } from "../src/core/_lookup.ts";
import type { FingerprintIndex } from "../src/core/_model.ts";

const SIZE = 10_000;
const HIT = 123;
const HEADERS = [["accept", "application/json"]] as const;

function requestFor(i: number) {
  return createRequest({
    protocol: "http",
    action: "GET",
    target: `/items/${i}`,
    headers: HEADERS,
  });
}

const cassette = createCassette(
  Array.from({ length: SIZE }, (_, i) =>
    createInteraction(requestFor(i), [
      `{"id":${i},`,
      `"name":"item ${i}","tags":["a","b"],`,
      `"price":${(i % 97) + 0.5}}`,
    ])),
);

const request = requestFor(HIT);
// The canonical text interposition hashes (Python json.dumps, compact separators).
const CANONICAL = `["http","GET","/items/${HIT}",[["accept","application/json"]],""]`;
const precomputed = fingerprint(request);

// The plain structure the baselines use: fingerprint -> chunk array.
const plain = new Map<string, ResponseChunk[]>();
for (const interaction of cassette.interactions) {
  if (!plain.has(interaction.fingerprint)) {
    plain.set(interaction.fingerprint, [...interaction.responseChunks]);
  }
}

// Sanity checks, outside the measurement.
if (createHash("sha256").update(CANONICAL).digest("hex") !== precomputed) {
  throw new Error("replay bench: canonical text does not match fingerprint()");
}
if (match(cassette, request) !== cassette.interactions[HIT]) {
  throw new Error("replay bench: match() did not find the hit");
}
if (cassette.interactions[HIT]!.responseChunks.length !== 3 || cassette.index.size !== SIZE) {
  throw new Error("replay bench: fixture is not 10,000 distinct 3-chunk interactions");
}

// Results are folded into this so no measured work can be dropped as dead code.
let sink = 0;

// (a) Lookup given a precomputed fingerprint.
Deno.bench({
  group: "lookup, fingerprint precomputed",
  name: "Map.get + array for-of [baseline]",
  baseline: true,
  fn() {
    const chunks = plain.get(precomputed)!;
    for (const chunk of chunks) sink = (sink + chunk.data.length) | 0;
  },
});
const index = cassette.index as FingerprintIndex;
if (index.firstPlayList(precomputed)!.chunks[1] !== cassette.interactions[HIT]!.responseChunks[1]) {
  throw new Error("replay bench: the play list is not the hit's chunks");
}
if (playListFor(cassette, request, undefined) !== index.firstPlayList(precomputed)) {
  throw new Error("replay bench: replay() does not go through the index's play list");
}
Deno.bench({
  group: "lookup, fingerprint precomputed",
  name: "index.firstPlayList(fp).chunks.values(), as replay() iterates",
  fn() {
    for (const chunk of index.firstPlayList(precomputed)!.chunks.values()) {
      sink = (sink + chunk.data.length) | 0;
    }
  },
});
Deno.bench({
  group: "lookup, fingerprint precomputed",
  name: "public frozen arrays: cassette.index.get + interactions[pos].responseChunks for-of (info)",
  fn() {
    const position = cassette.index.get(precomputed)![0]!;
    for (const chunk of cassette.interactions[position]!.responseChunks) {
      sink = (sink + chunk.data.length) | 0;
    }
  },
});

// (b) The public API, fingerprinting included.
Deno.bench({
  group: "replay, fingerprint included",
  name: "sha256(canonical text) + Map.get + array for-of [baseline]",
  baseline: true,
  fn() {
    const key = createHash("sha256").update(CANONICAL).digest("hex");
    for (const chunk of plain.get(key)!) sink = (sink + chunk.data.length) | 0;
  },
});
Deno.bench({
  group: "replay, fingerprint included",
  name: "for (const chunk of replay(cassette, request))",
  fn() {
    for (const chunk of replay(cassette, request)) sink = (sink + chunk.data.length) | 0;
  },
});
Deno.bench({
  group: "replay, fingerprint included",
  name: "[...replay(cassette, request)] (info)",
  fn() {
    sink = (sink + [...replay(cassette, request)].length) | 0;
  },
});
Deno.bench({
  group: "replay, fingerprint included",
  name: "match(cassette, request) only (info)",
  fn() {
    sink = (sink + match(cassette, request)!.responseChunks.length) | 0;
  },
});
Deno.bench({
  group: "replay, fingerprint included",
  name: "fingerprint(request) only (info)",
  fn() {
    sink = (sink + fingerprint(request).charCodeAt(0)) | 0;
  },
});
Deno.bench({
  group: "replay, fingerprint included",
  name: "createRequest + replay, a fresh request per call (info)",
  fn() {
    for (const chunk of replay(cassette, requestFor(HIT))) sink = (sink + chunk.data.length) | 0;
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === 0x7fffffff) console.log("unreachable", sink);
});
