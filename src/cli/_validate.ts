// `x-replay validate`: every problem in a cassette, not just the first.
//
// The cassette is read by parseCassette()'s own code in its collecting mode
// (checkCassetteText()): the same checks, which note each problem and go on
// instead of throwing at the first, so the rules stay the library's (ADR
// 0031). A journal beside a JSON cassette is checked line by line
// (_journal_check.ts).
import { journalStoreAsync } from "../store/journal_store_async.ts";
import { type BlobReader, materializeAsync } from "../core/_model.ts";
import { checkCassetteText, type TextProblem } from "../codec/_check_text.ts";
import { BlobError } from "../core/errors.ts";
import type { Cassette } from "../core/types.ts";
import type { CassetteFormat } from "../core/types.ts";
import { takePositionals } from "./_args.ts";
import {
  blobsOf,
  type CassetteFile,
  cassetteFile,
  hasJournal,
  journalFile,
  readCassetteText,
  readJournalBytes,
} from "./_cassette_file.ts";
import type { Command } from "./_command.ts";
import { checkJournal } from "./_journal_check.ts";
import { oneLine } from "./_output.ts";

/** The outcome of checking a cassette's text. */
export interface ValidationReport {
  /** How many interactions the document lists (0 when it lists none or cannot be read). */
  readonly interactions: number;
  /** Every problem found, one line each, in document order; empty when valid. */
  readonly problems: readonly string[];
  /** The cassette, when the text holds a valid one. */
  readonly cassette?: Cassette | undefined;
}

/** One problem as a line: the library's message, and a YAML rule breach's position. */
export function problemLine({ error, position }: TextProblem): string {
  const message = oneLine(error.message);
  return position === undefined
    ? message
    : `${message} (line ${position.line}, column ${position.column})`;
}

/** Checks cassette text, collecting every problem. Never throws for bad content. */
export function validateText(
  text: string,
  format: CassetteFormat,
  blobs?: BlobReader,
): ValidationReport {
  const checked = checkCassetteText(text, format, blobs);
  return {
    interactions: checked.interactions,
    problems: checked.problems.map(problemLine),
    cassette: checked.cassette,
  };
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}

/**
 * Reads every blob file the cassette refers to, once each and one at a time,
 * checking its size and SHA-256 (ADR 0041).
 */
async function checkBlobs(
  cassette: Cassette,
): Promise<{ readonly count: number; readonly problems: readonly string[] }> {
  const seen = new Set<string>();
  const problems: string[] = [];
  const { interactions } = cassette;
  for (let i = 0; i < interactions.length; i++) {
    // A request body's blob was read and checked when its fingerprint was
    // (a bad one is a problem of the text): it only counts here.
    const body = interactions[i]!.request.bodyBlob;
    if (body !== undefined) seen.add(body.sha256);
    const chunks = interactions[i]!.responseChunks;
    for (let j = 0; j < chunks.length; j++) {
      const chunk = chunks[j]!;
      if (chunk.blob === undefined || seen.has(chunk.blob.sha256)) continue;
      seen.add(chunk.blob.sha256);
      try {
        await materializeAsync(chunk);
      } catch (error) {
        if (!(error instanceof BlobError)) throw error;
        problems.push(`interactions[${i}].response_chunks[${j}].data: ${oneLine(error.message)}`);
      }
    }
  }
  return { count: seen.size, problems };
}

/** What `validate` prints for a cassette and the journal beside it, if any. */
async function report(
  file: CassetteFile,
): Promise<{ readonly text: string; readonly ok: boolean }> {
  const blobs = blobsOf(file);
  const snapshot = validateText(await readCassetteText(file), file.format, blobs);
  const lines = snapshot.problems.map((problem) => `${file.name}: ${problem}\n`);
  let problems = snapshot.problems.length;
  let interactions = snapshot.interactions;
  // The whole cassette, snapshot and journal, once it is known to be valid.
  let whole = snapshot.cassette;
  let inJournal = "";
  if (await hasJournal(file)) {
    const journal = journalFile(file);
    const checked = checkJournal(await readJournalBytes(journal), blobs);
    for (const problem of checked.problems) {
      lines.push(`${journal.name} line ${problem.line}: ${problem.message}\n`);
    }
    if (checked.torn !== undefined) {
      lines.push(
        `${journal.name} line ${checked.torn.line}: warning: ${checked.torn.message}; ` +
          "loading ignores it and the next save cuts it away\n",
      );
    }
    problems += checked.problems.length;
    interactions += checked.lines;
    inJournal = ` (${checked.interactions} in ${journal.name})`;
    if (problems === 0) {
      // The store's own reading gives the count: it also knows a compaction
      // that was interrupted after writing the snapshot (ADR 0040).
      try {
        whole = await journalStoreAsync(file.path).load();
        interactions = whole.interactions.length;
      } catch (error) {
        // Only if the files changed since they were checked.
        lines.push(
          `${file.name}: ${oneLine(error instanceof Error ? error.message : String(error))}\n`,
        );
        problems++;
      }
    }
  }
  let inBlobs = "";
  if (problems === 0 && whole !== undefined) {
    const checked = await checkBlobs(whole);
    for (const problem of checked.problems) lines.push(`${file.name}: ${problem}\n`);
    problems += checked.problems.length;
    if (checked.count > 0) inBlobs = `, ${count(checked.count, "blob file")} checked`;
  }
  if (problems === 0) {
    lines.push(
      `${file.name}: OK, ${count(interactions, "interaction")}${inJournal}${inBlobs}\n`,
    );
    return { text: lines.join(""), ok: true };
  }
  lines.push(
    `${file.name}: invalid, ${count(problems, "problem")}${
      interactions > 0 ? ` in ${count(interactions, "interaction")}` : ""
    }\n`,
  );
  return { text: lines.join(""), ok: false };
}

/** `x-replay validate`. */
export const validateCommand: Command = {
  name: "validate",
  summary: "check a cassette and list every problem found",
  help: `Usage: x-replay validate <cassette> [options]

Checks a cassette the way parseCassette() reads it (shapes and types, each
fingerprint against its request, chunk sequences) and reports every problem,
not only the first: every bad value of every interaction, and the rules its
valid parts allow checking (a wrong fingerprint is reported even beside a bad
chunk). A JSON syntax error is the one problem reported for a JSON file that
does not parse; YAML reports each of its syntax errors.

A JSON cassette with a journal beside it (<cassette>.journal, kept by a
journalStore) is checked with it: each journal line is one interaction, and a
bad line is reported as "<cassette>.journal line <n>: <problem>". A torn last
line, which a crash in the middle of an append leaves, is not a problem
(loading drops it): it gets a warning line and does not change the exit code.

Chunks and request bodies kept in blob files (<cassette>.blobs/, written by
stores with a blobThreshold) are checked too: each blob file is read once and
must have the size and SHA-256 its reference names; a missing or altered one
is a problem naming the chunk or body and the file.

A valid cassette prints one "OK" line and exits 0. Otherwise each problem is
printed on its own line, "<cassette>: <path>: <problem>", then a count, and
the exit code is 1.

Options:
  --format <fmt>   the cassette's format, json or yaml (default: from the extension)
  -h, --help       show this help
`,
  options: {
    format: { type: "string" },
  },
  async run({ values, positionals }, output) {
    const [name] = takePositionals(positionals, ["cassette"]);
    const file = cassetteFile(name!, output.cwd, values.format, "--format");
    const { text, ok } = await report(file);
    await output.out(text);
    return ok ? 0 : 1;
  },
};
