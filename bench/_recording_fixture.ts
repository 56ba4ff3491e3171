// The recording benchmarks' shared fixture: a temporary folder removed at
// exit, and one realistic interaction (a chat-completion-like request with a
// streamed answer in three chunks, about 1.1 KB of JSON).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type Cassette,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  type Interaction,
} from "@x/replay";

/** A temporary folder for cassette files, removed when the benchmark exits. */
export const folder: string = mkdtempSync(join(tmpdir(), "replay-bench-"));
globalThis.addEventListener("unload", () => rmSync(folder, { recursive: true, force: true }));

/** The i-th interaction, distinct per `i`. */
export function interaction(i: number): Interaction {
  const request = createRequest({
    protocol: "http",
    action: "POST",
    target: `/v1/chat/completions?n=${i}`,
    headers: [["content-type", "application/json"], ["accept", "text/event-stream"]],
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content: `question ${i}` }] }),
  });
  return createInteraction(request, [
    createChunk(`data: {"delta":"answer ${i}, part one"}\n\n`, 0, [["status_code", "200"]]),
    `data: {"delta":" and part two of answer ${i}"}\n\n`,
    "data: [DONE]\n\n",
  ]);
}

/** A cassette of interactions 0..size-1. */
export function cassetteOf(size: number): Cassette {
  return createCassette(Array.from({ length: size }, (_, i) => interaction(i)));
}
