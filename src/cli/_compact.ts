// `x-replay compact`: fold a journal store's appended lines into its snapshot.
import { existsSync } from "node:fs";
import { CassetteLoadError, CassetteSaveError } from "../errors.ts";
import { journalStoreAsync } from "../journal_store_async.ts";
import { takePositionals } from "./_args.ts";
import { cassetteFile, fileReason } from "./_cassette_file.ts";
import type { Command } from "./_command.ts";
import { CliFailure, usageFailure } from "./_output.ts";

/** `x-replay compact`. */
export const compactCommand: Command = {
  name: "compact",
  summary: "fold a journal store's appended interactions into its JSON snapshot",
  help: `Usage: x-replay compact <cassette.json>

Rewrites the cassette (the snapshot of a journalStore) so that it holds every
interaction, including those appended to <cassette.json>.journal, and removes
the journal. The rewrite is atomic and takes the same lock as recording, so it
is safe while tests record. Without a journal there is nothing to do.

Options:
  -h, --help  show this help
`,
  options: {},
  async run({ positionals }, output) {
    const [name] = takePositionals(positionals, ["cassette"]);
    const file = cassetteFile(name!, output.cwd, undefined, "--format");
    if (file.format !== "json") {
      throw usageFailure(`${JSON.stringify(file.name)}: journal stores keep JSON cassettes only`);
    }
    const store = journalStoreAsync(file.path);
    if (!existsSync(store.journalPath)) {
      await output.out(`${file.name}: no journal, nothing to compact\n`);
      return 0;
    }
    try {
      const count = (await store.load()).interactions.length;
      await store.compact();
      await output.out(`${file.name}: compacted, ${count} interactions\n`);
      return 0;
    } catch (error) {
      if (error instanceof CassetteLoadError || error instanceof CassetteSaveError) {
        const cause = error.cause === undefined ? error.message : fileReason(error.cause);
        throw new CliFailure(`cannot compact ${JSON.stringify(file.name)}: ${cause}`, 1, {
          cause: error,
        });
      }
      throw error;
    }
  },
};
