// `x-replay compact`: fold a journal store's appended lines into its snapshot,
// and with --blobs remove blob files that no interaction refers to.
import { type Dirent, existsSync } from "node:fs";
import { readdir, unlink } from "node:fs/promises";
import { join } from "node:path";
import { BLOB_NAME, BLOB_TEMPORARY_NAME, blobFolderOf } from "../store/_blob.ts";
import { errorCode } from "../store/_file_ops.ts";
import { checkFolder, LINK_REFUSED, lstatIfExistsAsync } from "../store/_safe_fs.ts";
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

/** What pruning a blob folder did. */
interface Pruned {
  readonly removed: number;
  /** Entries left because the library never writes such a name (or a folder). */
  readonly foreign: number;
}

/**
 * Removes the files in the cassette's blob folder that none of its chunks
 * or request bodies refers to: blobs of pruned or abandoned recordings, and temporary files a
 * crash left behind. Only names the library writes are removed, and only
 * inside a real folder: a blob folder that is a link (a checkout may hold
 * one) is refused, and an entry that is a link is removed as a link, never
 * followed (ADR 0042).
 */
async function pruneBlobs(file: CassetteFile, cassette: Cassette): Promise<Pruned> {
  const folder = blobFolderOf(file.path);
  const shown = JSON.stringify(`${file.name}.blobs`);
  let entries: Dirent[];
  try {
    const status = await lstatIfExistsAsync(folder);
    if (status === undefined) return { removed: 0, foreign: 0 };
    checkFolder(folder, status, "remove files");
    entries = await readdir(folder, { withFileTypes: true });
  } catch (error) {
    const reason = errorCode(error) === LINK_REFUSED
      ? "it is a symbolic link; blob files are removed only from a real folder, so nothing was removed"
      : fileReason(error);
    throw new CliFailure(`cannot prune ${shown}: ${reason}`, 1, { cause: error });
  }
  const used = new Set<string>();
  for (const interaction of cassette.interactions) {
    if (interaction.request.bodyBlob !== undefined) used.add(interaction.request.bodyBlob.sha256);
    for (const chunk of interaction.responseChunks) {
      if (chunk.blob !== undefined) used.add(chunk.blob.sha256);
    }
  }
  let removed = 0;
  let foreign = 0;
  for (const entry of entries) {
    const name = entry.name;
    if (entry.isDirectory() || !(BLOB_NAME.test(name) || BLOB_TEMPORARY_NAME.test(name))) {
      foreign++;
      continue;
    }
    if (used.has(name)) continue;
    try {
      // unlink removes a link itself, never what it points to.
      await unlink(join(folder, name));
    } catch (error) {
      if (errorCode(error) === "ENOENT") continue;
      throw new CliFailure(
        `cannot remove ${JSON.stringify(`${file.name}.blobs/${name}`)}: ${fileReason(error)}`,
        1,
        { cause: error },
      );
    }
    removed++;
  }
  return { removed, foreign };
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

With --blobs it then removes the files in <cassette>.blobs/ that no chunk or
request body of the cassette refers to (blobs of pruned or abandoned recordings, temporary
files left by a crash). It removes only names it writes itself (64-hex blob
names and its temporary files) and never follows a link: a <cassette>.blobs
that is a link is refused, and other entries are left and counted. Run that
only while nothing records into the cassette: a streamed recording writes its
blobs before the cassette refers to them. --blobs also works on YAML
cassettes and on cassettes without a journal.

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
      const { removed, foreign } = await pruneBlobs(file, (await loadCassette(file)).cassette);
      summary += `; removed ${plural(removed, "unused blob file")}`;
      if (foreign > 0) {
        summary += foreign === 1
          ? "; left 1 entry that is not a blob file"
          : `; left ${foreign} entries that are not blob files`;
      }
    }
    await output.out(`${summary}\n`);
    return 0;
  },
};
