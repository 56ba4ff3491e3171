// `x-replay compact`: fold a journal store's appended lines into its snapshot,
// and with --blobs remove blob files that no interaction refers to.
import { existsSync } from "node:fs";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { blobFolderOf } from "../store/_blob.ts";
import { CassetteLoadError, CassetteSaveError } from "../core/errors.ts";
import { journalStoreAsync } from "../store/journal_store_async.ts";
import type { Cassette } from "../core/types.ts";
import { takePositionals } from "./_args.ts";
import { type CassetteFile, cassetteFile, fileReason, loadCassette } from "./_cassette_file.ts";
import type { Command } from "./_command.ts";
import { CliFailure, usageFailure } from "./_output.ts";

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Removes the files in the cassette's blob folder that none of its chunks
 * refers to: blobs of pruned or abandoned recordings, and temporary files a
 * crash left behind. Returns how many were removed.
 */
async function pruneBlobs(file: CassetteFile, cassette: Cassette): Promise<number> {
  const folder = blobFolderOf(file.path);
  let names: string[];
  try {
    names = await readdir(folder);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return 0;
    throw new CliFailure(
      `cannot read ${JSON.stringify(`${file.name}.blobs`)}: ${fileReason(error)}`,
      1,
      {
        cause: error,
      },
    );
  }
  const used = new Set<string>();
  for (const interaction of cassette.interactions) {
    for (const chunk of interaction.responseChunks) {
      if (chunk.blob !== undefined) used.add(chunk.blob.sha256);
    }
  }
  let removed = 0;
  for (const name of names) {
    if (used.has(name)) continue;
    try {
      await rm(join(folder, name), { force: true });
    } catch (error) {
      throw new CliFailure(
        `cannot remove ${JSON.stringify(`${file.name}.blobs/${name}`)}: ${fileReason(error)}`,
        1,
        { cause: error },
      );
    }
    removed++;
  }
  return removed;
}

/** `x-replay compact`. */
export const compactCommand: Command = {
  name: "compact",
  summary: "fold a journal into its snapshot; with --blobs, remove unused blob files",
  help: `Usage: x-replay compact <cassette> [options]

Rewrites a JSON cassette (the snapshot of a journalStore) so that it holds
every interaction, including those appended to <cassette>.journal, and removes
the journal. The rewrite is atomic and takes the same lock as recording, so it
is safe while tests record. Without a journal there is nothing to fold.

With --blobs it then removes the files in <cassette>.blobs/ that no chunk of
the cassette refers to (blobs of pruned or abandoned recordings, temporary
files left by a crash). Run that only while nothing records into the
cassette: a streamed recording writes its blobs before the cassette refers to
them. --blobs also works on YAML cassettes and on cassettes without a journal.

Options:
  --blobs     also remove blob files no interaction refers to
  -h, --help  show this help
`,
  options: { blobs: { type: "boolean" } },
  async run({ values, positionals }, output) {
    const [name] = takePositionals(positionals, ["cassette"]);
    const blobs = values.blobs === true;
    const file = cassetteFile(name!, output.cwd, undefined, "--format");
    if (file.format !== "json" && !blobs) {
      throw usageFailure(`${JSON.stringify(file.name)}: journal stores keep JSON cassettes only`);
    }
    let summary = `${file.name}: no journal, nothing to compact`;
    if (file.format === "json" && existsSync(`${file.path}.journal`)) {
      const store = journalStoreAsync(file.path);
      try {
        const count = (await store.load()).interactions.length;
        await store.compact();
        summary = `${file.name}: compacted, ${plural(count, "interaction")}`;
      } catch (error) {
        if (error instanceof CassetteLoadError || error instanceof CassetteSaveError) {
          const cause = error.cause === undefined ? error.message : fileReason(error.cause);
          throw new CliFailure(`cannot compact ${JSON.stringify(file.name)}: ${cause}`, 1, {
            cause: error,
          });
        }
        throw error;
      }
    }
    if (blobs) {
      const removed = await pruneBlobs(file, (await loadCassette(file)).cassette);
      summary += `; removed ${plural(removed, "unused blob file")}`;
    }
    await output.out(`${summary}\n`);
    return 0;
  },
};
