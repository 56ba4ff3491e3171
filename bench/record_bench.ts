// Recording into a file store. A save rewrites the whole file (read, merge,
// stringify, write, fsync, rename), so its cost is O(cassette size): the
// "save" groups measure one save at 10, 1,000 and 10,000 interactions; the
// "record" group measures broker throughput while the cassette grows.
//
//   deno bench --allow-read --allow-write --allow-env bench/record_bench.ts
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { appendInteraction, fileStore, openBroker } from "@x/replay";
import { cassetteOf, folder, interaction } from "./_recording_fixture.ts";

for (const format of ["json", "yaml"] as const) {
  for (const size of [10, 1_000, 10_000]) {
    const template = join(folder, `template-${size}.${format}`);
    const base = cassetteOf(size);
    fileStore(template, { createIfMissing: true }).save(base);
    const next = appendInteraction(base, interaction(size));
    const path = join(folder, `cassette-${size}.${format}`);
    const label = size.toLocaleString("en-US");

    Deno.bench({
      group: `save (${format})`,
      name: `save one new interaction into ${label}`,
      baseline: size === 10,
      fn(b) {
        copyFileSync(template, path);
        const store = fileStore(path);
        // As a broker would: the store has read the file before, so an
        // unchanged file is not parsed again.
        store.load();
        b.start();
        store.save(next);
        b.end();
      },
    });

    Deno.bench({
      group: `save after another writer (${format})`,
      name: `merge and save into ${label}`,
      baseline: size === 10,
      fn(b) {
        copyFileSync(template, path);
        // A store that has not seen this file parses and merges it.
        const store = fileStore(path);
        b.start();
        store.save(next);
        b.end();
      },
    });
  }
}

for (const start of [0, 1_000]) {
  const template = join(folder, `record-template-${start}.json`);
  fileStore(template, { createIfMissing: true }).save(cassetteOf(start));
  const path = join(folder, `record-${start}.json`);
  const fresh = Array.from({ length: 100 }, (_, i) => interaction(start + i).request);
  Deno.bench({
    group: "record (json)",
    name: `record 100 interactions into ${start.toLocaleString("en-US")} (auto mode)`,
    baseline: start === 0,
    fn(b) {
      copyFileSync(template, path);
      const broker = openBroker(fileStore(path), {
        mode: "auto",
        liveResponder: (request) => [`answer to ${request.target}`, "data: [DONE]\n\n"],
      });
      b.start();
      for (const request of fresh) [...broker.replay(request)];
      b.end();
    },
  });
}
