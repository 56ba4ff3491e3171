// Child process for journal_store_test.ts: appends large interactions to a
// journal store, one save each, forever, printing "saved <i>" once each save
// has returned (so the line is flushed to the device). The parent kills it
// with SIGKILL, ideally in the middle of an append.
// Arguments: <cassette path> <round> <sync|async> <chunks> <KiB per chunk>
import process from "node:process";
import {
  appendInteraction,
  type Cassette,
  createInteraction,
  createRequest,
  type Interaction,
  journalStore,
  journalStoreAsync,
} from "@x/replay";

const [path, round, style, chunksText, kibText] = process.argv.slice(2);
if (path === undefined || (style !== "sync" && style !== "async")) {
  throw new Error("usage: <path> <round> <sync|async> <chunks> <KiB per chunk>");
}
const chunks = Number(chunksText);
const bytes = Number(kibText) * 1024;

/** Chunk `index` of the interaction for `target`: its own label, padded to `bytes`. */
function chunkText(target: string, index: number): string {
  const label = `${target}#${index}:`;
  return label + ".".repeat(bytes - label.length);
}

function interaction(i: number): Interaction {
  const target = `/round-${round}/${i}`;
  return createInteraction(
    createRequest({ protocol: "http", action: "GET", target }),
    Array.from({ length: chunks }, (_, index) => chunkText(target, index)),
  );
}

// A writer killed in an earlier round may have left its lock: the lock
// names a dead process on this host, which the store notices at once.
if (style === "sync") {
  const store = journalStore(path, { createIfMissing: true });
  let cassette: Cassette = store.load();
  for (let i = 0;; i++) {
    cassette = appendInteraction(cassette, interaction(i));
    store.save(cassette);
    process.stdout.write(`saved ${i}\n`);
  }
} else {
  const store = journalStoreAsync(path, { createIfMissing: true });
  let cassette: Cassette = await store.load();
  for (let i = 0;; i++) {
    cassette = appendInteraction(cassette, interaction(i));
    await store.save(cassette);
    process.stdout.write(`saved ${i}\n`);
  }
}
