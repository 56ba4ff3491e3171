// Saving one new interaction into a cassette of 10, 1,000 and 10,000
// interactions: the whole-file store (baseline) rewrites the file, the
// journal store appends one line. Each group compares the two at one size.
//
//   deno bench --allow-read --allow-write --allow-env bench/journal_bench.ts
import { closeSync, copyFileSync, fsyncSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import { appendInteraction, fileStore, journalStore } from "@x/replay";
import { cassetteOf, folder, interaction } from "./_recording_fixture.ts";

// Copies a template and flushes it, so the measured save does not pay for
// flushing the copy.
function copyDurable(from: string, to: string): void {
  copyFileSync(from, to);
  const descriptor = openSync(to, "r+");
  fsyncSync(descriptor);
  closeSync(descriptor);
}

for (const size of [10, 1_000, 10_000]) {
  const label = size.toLocaleString("en-US");
  const group = `save one new interaction into ${label}`;
  const base = cassetteOf(size);

  // A compacted snapshot (no journal), and the same interactions all in the journal.
  const template = join(folder, `template-${size}.json`);
  fileStore(template, { createIfMissing: true }).save(base);
  const journalTemplate = join(folder, `journal-template-${size}.json`);
  journalStore(journalTemplate, { createIfMissing: true }).save(base);

  const filePath = join(folder, `file-${size}.json`);
  const journalPath = join(folder, `journal-${size}.json`);
  const journaledPath = join(folder, `journaled-${size}.json`);

  Deno.bench({
    group,
    name: `fileStore() ${label}`,
    baseline: true,
    fn(b) {
      copyDurable(template, filePath);
      const store = fileStore(filePath);
      // As a broker would: load first, then save the extended cassette.
      const next = appendInteraction(store.load(), interaction(size));
      b.start();
      store.save(next);
      b.end();
    },
  });

  Deno.bench({
    group,
    name: `journalStore() ${label} (all in the snapshot)`,
    fn(b) {
      copyDurable(template, journalPath);
      rmSync(`${journalPath}.journal`, { force: true });
      const store = journalStore(journalPath);
      const next = appendInteraction(store.load(), interaction(size));
      b.start();
      store.save(next);
      b.end();
    },
  });

  Deno.bench({
    group,
    name: `journalStore() ${label} (all in the journal)`,
    fn(b) {
      copyDurable(journalTemplate, journaledPath);
      copyDurable(`${journalTemplate}.journal`, `${journaledPath}.journal`);
      const store = journalStore(journaledPath);
      const next = appendInteraction(store.load(), interaction(size));
      b.start();
      store.save(next);
      b.end();
    },
  });
}
