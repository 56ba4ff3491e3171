import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileStore, journalStore } from "@x/replay";
import { childCommand, contentOf, strayFiles, texts, withFolder } from "./_helpers.ts";

interface Worker {
  readonly ready: Promise<void>;
  readonly finished: Promise<{ code: number | null; output: string }>;
}

function startWorker(args: readonly string[]): Worker {
  const { command, args: base, cwd } = childCommand("_parallel_writer");
  const child = spawn(command, [...base, ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let announce!: () => void;
  const ready = new Promise<void>((resolve) => (announce = resolve));
  child.stdout.setEncoding("utf8").on("data", (data: string) => {
    output += data;
    if (output.includes("ready\n")) announce();
  });
  child.stderr.setEncoding("utf8").on("data", (data: string) => (output += data));
  const finished = new Promise<{ code: number | null; output: string }>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => {
      announce();
      resolve({ code, output });
    });
  });
  return { ready, finished };
}

const KINDS = [
  { kind: "file", stores: "fileStore() and fileStoreAsync()", into: "record into one file" },
  {
    kind: "journal",
    stores: "journalStore() and journalStoreAsync()",
    into: "append to one journal",
  },
  {
    kind: "journal",
    layout: "blobs",
    stores: "journalStore() and journalStoreAsync() with blob files",
    into: "append to one journal and write the same blobs",
  },
] as const;

for (const { kind, stores, into, ...rest } of KINDS) {
  const layout = "layout" in rest ? rest.layout : "inline";
  test(`${stores} lose nothing when several processes ${into}`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "shared.json");
      const start = join(folder, "start");
      const styles = ["sync", "async", "sync", "async"];
      const count = 12;
      const workers = styles.map((style, id) =>
        startWorker([path, String(id), String(count), style, start, kind, layout])
      );
      // Every worker is loaded and waiting before any records, so their saves overlap.
      await Promise.all(workers.map((worker) => worker.ready));
      writeFileSync(start, "");
      for (const { code, output } of await Promise.all(workers.map((worker) => worker.finished))) {
        assert.equal(code, 0, output);
      }

      const cassette = (kind === "file" ? fileStore : journalStore)(path).load();
      const targets = cassette.interactions.map((interaction) => interaction.request.target);
      const expected = [
        "/shared",
        ...styles.flatMap((_, id) => Array.from({ length: count }, (_, i) => `/worker-${id}/${i}`)),
      ];
      // Every distinct request exactly once: nothing lost, and the request all
      // workers recorded identically is merged into one interaction.
      assert.deepEqual([...targets].sort(), [...expected].sort());
      for (const interaction of cassette.interactions) {
        assert.deepEqual(texts([...interaction.responseChunks]), [
          `answer to ${interaction.request.target}`,
          "done",
        ]);
      }
      if (kind === "file") {
        assert.deepEqual(strayFiles(folder, "shared.json", "start"), []);
      } else {
        const blobs = layout === "blobs" ? ["shared.json.blobs"] : [];
        assert.deepEqual(
          strayFiles(folder, "shared.json", "shared.json.journal", "start", ...blobs),
          [],
        );
        if (layout === "blobs") {
          // One file per distinct chunk, written whole by whichever worker got there.
          const names = readdirSync(join(folder, "shared.json.blobs")).sort();
          assert.equal(names.length, 1 + expected.length);
          assert.ok(names.every((name) => /^[0-9a-f]{64}$/.test(name)));
        }
        // Every line is whole, and compacting gives the same cassette.
        journalStore(path).compact();
        assert.deepEqual(
          contentOf(fileStore(path).load().interactions),
          contentOf(cassette.interactions),
        );
      }
    });
  });
}
