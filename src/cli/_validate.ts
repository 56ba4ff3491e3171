// `x-replay validate`: every problem in a cassette, not just the first.
//
// parseCassette() stops at the first problem. To report them all, the
// document is read leniently here (JSON.parse or yaml's parser) and each
// interaction is checked on its own by parseCassette(), as a one-interaction
// cassette in the same format; the problem's path is then re-based from
// `interactions[0]` to the interaction's real index (ADR 0031). A journal
// beside a JSON cassette is checked line by line (_journal_check.ts).
import { LineCounter, parseDocument, stringify as stringifyYaml } from "yaml";
import { CassetteFormatError, InteractionValidationError } from "../core/errors.ts";
import { journalStoreAsync } from "../store/journal_store_async.ts";
import { type BlobReader, materializeAsync } from "../core/_model.ts";
import { parseCassetteText } from "../codec/parse_cassette.ts";
import { BlobError } from "../core/errors.ts";
import type { Cassette } from "../core/types.ts";
import { locateYamlPath } from "../codec/_yaml_locate.ts";
import type { CassetteFormat } from "../core/types.ts";
import { takePositionals } from "./_args.ts";
import {
  blobsOf,
  type CassetteFile,
  cassetteFile,
  hasJournal,
  isContentError,
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

type YamlDocument = ReturnType<typeof parseDocument>;

/** Where parseCassette() puts a YAML position, e.g. ` (line 3, column 7)`. */
const POSITION_SUFFIX = / \(line \d+, column \d+\)$/;

/** Checks cassette text, collecting every problem. Never throws for bad content. */
export function validateText(
  text: string,
  format: CassetteFormat,
  blobs?: BlobReader,
): ValidationReport {
  let whole: Error;
  try {
    const cassette = parseCassetteText(text, format, blobs);
    return { interactions: cassette.interactions.length, problems: [], cassette };
  } catch (error) {
    if (!isContentError(error)) throw error;
    whole = error;
  }
  // The document as plain data, or the problems that stop it being read.
  let document: unknown;
  let yamlDocument: YamlDocument | undefined;
  let lineCounter: LineCounter | undefined;
  if (format === "json") {
    try {
      document = JSON.parse(text);
    } catch {
      // JSON syntax stops at the first error; parseCassette reported it with its position.
      return { interactions: 0, problems: [oneLine(whole.message)] };
    }
  } else {
    lineCounter = new LineCounter();
    yamlDocument = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
    if (yamlDocument.errors.length > 0) {
      const counter = lineCounter;
      return {
        interactions: 0,
        problems: yamlDocument.errors.map((error) => {
          const { line, col } = counter.linePos(error.pos[0]);
          return oneLine(`invalid YAML at line ${line}, column ${col}: ${error.message}`);
        }),
      };
    }
    try {
      document = yamlDocument.toJS({ maxAliasCount: 100 });
    } catch {
      return { interactions: 0, problems: [oneLine(whole.message)] };
    }
  }
  const list = typeof document === "object" && document !== null && !Array.isArray(document)
    ? (document as Record<string, unknown>).interactions
    : undefined;
  // The top level itself is wrong: nothing below it can be checked.
  if (!Array.isArray(list)) return { interactions: 0, problems: [oneLine(whole.message)] };

  const problems: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const single = { interactions: [list[i]] };
    const singleText = format === "json"
      ? JSON.stringify(single)
      : stringifyYaml(single, { aliasDuplicateObjects: false });
    try {
      parseCassetteText(singleText, format, blobs);
    } catch (error) {
      if (!isContentError(error)) throw error;
      problems.push(rebase(error, i, yamlDocument, lineCounter));
    }
  }
  // Cannot happen while parseCassette has no rule spanning interactions;
  // if one is added, its problem must still be reported.
  if (problems.length === 0) problems.push(oneLine(whole.message));
  return { interactions: list.length, problems };
}

/** The problem's message with its path moved from `interactions[0]` to `interactions[index]`. */
function rebase(
  error: Error,
  index: number,
  yamlDocument: YamlDocument | undefined,
  lineCounter: LineCounter | undefined,
): string {
  const path = error instanceof CassetteFormatError || error instanceof InteractionValidationError
    ? error.path
    : "";
  const prefix = "interactions[0]";
  let message = oneLine(error.message);
  if (!path.startsWith(prefix) || !message.startsWith(path)) {
    return `interactions[${index}]: ${message}`;
  }
  const rebased = `interactions[${index}]${path.slice(prefix.length)}`;
  // A position in the one-interaction text means nothing to the reader; the
  // original document's is found below.
  message = `${rebased}${message.slice(path.length)}`.replace(POSITION_SUFFIX, "");
  if (yamlDocument !== undefined && lineCounter !== undefined) {
    const position = locateYamlPath(yamlDocument, lineCounter, rebased);
    if (position !== undefined) message += ` (line ${position.line}, column ${position.column})`;
  }
  return message;
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
not only the first: each interaction is checked on its own, so one broken
interaction does not hide the others. Within one interaction, its first
problem is reported.

A JSON cassette with a journal beside it (<cassette>.journal, kept by a
journalStore) is checked with it: each journal line is one interaction, and a
bad line is reported as "<cassette>.journal line <n>: <problem>". A torn last
line, which a crash in the middle of an append leaves, is not a problem
(loading drops it): it gets a warning line and does not change the exit code.

Chunks kept in blob files (<cassette>.blobs/, written by stores with a
blobThreshold) are checked too: each blob file is read once and must have the
size and SHA-256 its reference names; a missing or altered one is a problem
naming the chunk and the file.

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
