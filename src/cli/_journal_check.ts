// Checks a journal store's journal (ADR 0040) line by line, for `validate`
// and for naming the bad line when a load fails. The rules are the store's:
// each line is one interaction as strict UTF-8 JSON, checked by
// parseCassette()'s collecting mode as a one-interaction cassette (the
// store's reader and parseCassette() share fromDocument()), so every problem
// of a line is reported; a last line that does not parse is a torn append
// that loading drops, and a last line that parses but lacks its "\n" is
// kept, as loading keeps it.
import { BlobError, CassetteFormatError, InteractionValidationError } from "../core/errors.ts";
import type { BlobReader } from "../core/_model.ts";
import { checkCassetteText } from "../codec/_check_text.ts";
import { oneLine } from "./_output.ts";

/** A finding at one line of the journal. */
export interface JournalFinding {
  /** The 1-based line number. */
  readonly line: number;
  /** What is wrong, one line, without the line number. */
  readonly message: string;
}

/** What checking a journal found. */
export interface JournalReport {
  /** How many lines are not a torn last line (valid or not). */
  readonly lines: number;
  /** How many of those lines are valid interactions. */
  readonly interactions: number;
  /**
   * Every problem of the bad lines that are not the last, in line order (a
   * line may have several): loading fails on the first of them.
   */
  readonly problems: readonly JournalFinding[];
  /** A torn last line, which loading drops and the next save cuts away; `undefined` if none. */
  readonly torn: JournalFinding | undefined;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const PREFIX = "interactions[0]";

/** Checks a journal's bytes. Never throws for bad content. */
export function checkJournal(bytes: Uint8Array, reader?: BlobReader): JournalReport {
  const problems: JournalFinding[] = [];
  let torn: JournalFinding | undefined;
  let lines = 0;
  let bad = 0;
  let start = 0;
  while (start < bytes.length) {
    const newline = bytes.indexOf(0x0a, start);
    const { found, blobs } = lineProblems(
      bytes.subarray(start, newline === -1 ? bytes.length : newline),
      reader,
    );
    if (newline === -1) {
      if (found.length > 0) {
        torn = {
          line: lines + 1,
          message: "the last line has no line end, as a crash in the middle of an append leaves it",
        };
      } else {
        lines++;
      }
      break;
    }
    if (found.length > 0) {
      // A blob the line refers to that cannot be read is no torn append:
      // the line is whole, its blob is not (as loading judges it).
      if (newline + 1 === bytes.length && !blobs) {
        torn = {
          line: lines + 1,
          message: `the last line is not a valid interaction (${
            found.join("; ")
          }), so it is taken for an append a crash cut short`,
        };
        break;
      }
      bad++;
      for (const message of found) problems.push({ line: lines + 1, message });
    }
    lines++;
    start = newline + 1;
  }
  return { lines, interactions: lines - bad, problems, torn };
}

/**
 * What is wrong with one line (without its "\n"): nothing when it is a valid
 * interaction; `blobs` when a blob it refers to cannot be read.
 */
function lineProblems(
  bytes: Uint8Array,
  reader: BlobReader | undefined,
): { readonly found: string[]; readonly blobs: boolean } {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return { found: ["not valid UTF-8 text"], blobs: false };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return {
      found: [`invalid JSON: ${oneLine(error instanceof Error ? error.message : String(error))}`],
      blobs: false,
    };
  }
  const checked = checkCassetteText(JSON.stringify({ interactions: [value] }), "json", reader);
  return {
    found: checked.problems.map(({ error }) => ownPath(error)),
    blobs: checked.problems.some(({ error }) => error.cause instanceof BlobError),
  };
}

/**
 * "interactions[0].request.target: expected ..." names the line's own
 * field: "request.target: expected ...".
 */
function ownPath(error: Error): string {
  const message = oneLine(error.message);
  const path = error instanceof CassetteFormatError || error instanceof InteractionValidationError
    ? error.path
    : "";
  if (path === "" && message.startsWith(`${PREFIX}.`)) return message.slice(PREFIX.length + 1);
  if (!path.startsWith(PREFIX) || !message.startsWith(path)) return message;
  const own = path.slice(PREFIX.length).replace(/^\./, "");
  const rest = message.slice(path.length);
  return own === "" ? rest.replace(/^: /, "") : `${own}${rest}`;
}
