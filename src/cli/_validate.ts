// `x-replay validate`: every problem in a cassette, not just the first.
//
// parseCassette() stops at the first problem. To report them all, the
// document is read leniently here (JSON.parse or yaml's parser) and each
// interaction is checked on its own by parseCassette(), as a one-interaction
// cassette in the same format; the problem's path is then re-based from
// `interactions[0]` to the interaction's real index (ADR 0031).
import { LineCounter, parseDocument, stringify as stringifyYaml } from "yaml";
import { CassetteFormatError, InteractionValidationError } from "../errors.ts";
import { parseCassette } from "../parse_cassette.ts";
import { locateYamlPath } from "../_yaml_locate.ts";
import type { CassetteFormat } from "../types.ts";
import { takePositionals } from "./_args.ts";
import { cassetteFile, isContentError, readCassetteText } from "./_cassette_file.ts";
import type { Command } from "./_command.ts";
import { oneLine } from "./_output.ts";

/** The outcome of checking a cassette's text. */
export interface ValidationReport {
  /** How many interactions the document lists (0 when it lists none or cannot be read). */
  readonly interactions: number;
  /** Every problem found, one line each, in document order; empty when valid. */
  readonly problems: readonly string[];
}

type YamlDocument = ReturnType<typeof parseDocument>;

/** Where parseCassette() puts a YAML position, e.g. ` (line 3, column 7)`. */
const POSITION_SUFFIX = / \(line \d+, column \d+\)$/;

/** Checks cassette text, collecting every problem. Never throws for bad content. */
export function validateText(text: string, format: CassetteFormat): ValidationReport {
  let whole: Error;
  try {
    const cassette = parseCassette(text, { format });
    return { interactions: cassette.interactions.length, problems: [] };
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
      parseCassette(singleText, { format });
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
    const report = validateText(await readCassetteText(file), file.format);
    const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;
    if (report.problems.length === 0) {
      await output.out(`${file.name}: OK, ${count(report.interactions, "interaction")}\n`);
      return 0;
    }
    const lines = report.problems.map((problem) => `${file.name}: ${problem}\n`);
    lines.push(
      `${file.name}: invalid, ${count(report.problems.length, "problem")}${
        report.interactions > 0 ? ` in ${count(report.interactions, "interaction")}` : ""
      }\n`,
    );
    await output.out(lines.join(""));
    return 1;
  },
};
