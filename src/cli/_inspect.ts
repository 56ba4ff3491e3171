// `x-replay inspect`: one row per interaction, as a table or as JSON.
import { chunkSize } from "../core/_model.ts";
import type { Cassette, Pairs } from "../core/types.ts";
import { takePositionals } from "./_args.ts";
import { cassetteFile, loadCassette } from "./_cassette_file.ts";
import type { Command } from "./_command.ts";

/** One interaction as `inspect` shows it; missing values are `null`. */
export interface InspectRow {
  readonly index: number;
  readonly protocol: string;
  readonly action: string;
  readonly target: string;
  readonly status: string | null;
  readonly chunks: number;
  readonly bytes: number;
  readonly recorded_at: string | null;
}

const COLUMNS: readonly (keyof InspectRow)[] = [
  "index",
  "protocol",
  "action",
  "target",
  "status",
  "chunks",
  "bytes",
  "recorded_at",
];
const NUMERIC: ReadonlySet<keyof InspectRow> = new Set(["index", "chunks", "bytes"]);

function lookup(pairs: Pairs | undefined, key: string): string | null {
  return pairs?.find(([name]) => name === key)?.[1] ?? null;
}

/** The rows for a cassette, in recorded order. */
export function inspectRows(cassette: Cassette): InspectRow[] {
  return cassette.interactions.map((interaction, index) => ({
    index,
    protocol: interaction.request.protocol,
    action: interaction.request.action,
    target: interaction.request.target,
    status: lookup(interaction.responseChunks[0]?.metadata, "status_code"),
    chunks: interaction.responseChunks.length,
    // A blob chunk's size is in its reference: no need to read the file.
    bytes: interaction.responseChunks.reduce((sum, chunk) => sum + chunkSize(chunk), 0),
    recorded_at: lookup(interaction.metadata, "recorded_at"),
  }));
}

// Control characters would break the table's lines; show them escaped.
function cell(value: string | number | null): string {
  if (value === null) return "-";
  const text = String(value);
  // deno-lint-ignore no-control-regex
  return /[\u0000-\u001f\u007f]/.test(text) ? JSON.stringify(text).slice(1, -1) : text;
}

/** The rows as an aligned text table with a header line. */
export function formatTable(rows: readonly InspectRow[]): string {
  const lines = [
    COLUMNS.map((column) => column as string),
    ...rows.map((row) => COLUMNS.map((column) => cell(row[column]))),
  ];
  const widths = COLUMNS.map((_, i) => Math.max(...lines.map((line) => line[i]!.length)));
  return lines.map((line) =>
    line.map((text, i) => {
      const last = i === COLUMNS.length - 1;
      if (NUMERIC.has(COLUMNS[i]!)) return text.padStart(widths[i]!);
      return last ? text : text.padEnd(widths[i]!);
    }).join("  ").trimEnd()
  ).join("\n") + "\n";
}

/** `x-replay inspect`. */
export const inspectCommand: Command = {
  name: "inspect",
  summary: "list a cassette's interactions as a table, or as JSON with --json",
  help: `Usage: x-replay inspect <cassette> [options]

Lists the cassette's interactions, one row each:
  index        position in the cassette, from 0
  protocol     the request's protocol (http, grpc, ...)
  action       the request's action (an HTTP method, an RPC name, ...)
  target       the request's target (a URL or path, a topic, ...)
  status       the status_code metadata of the first chunk, or - if none
  chunks       how many response chunks were recorded
  bytes        the response size: the sum of the chunks' data
  recorded_at  the interaction's recorded_at metadata, or - if none

A JSON cassette with a journal beside it (<cassette>.journal, kept by a
journalStore) is listed whole: the snapshot's interactions, then the journal's.

Options:
  --json           print a JSON array of the same fields (null where the table shows -)
  --format <fmt>   the cassette's format, json or yaml (default: from the extension)
  -h, --help       show this help
`,
  options: {
    json: { type: "boolean" },
    format: { type: "string" },
  },
  async run({ values, positionals }, output) {
    const [name] = takePositionals(positionals, ["cassette"]);
    const file = cassetteFile(name!, output.cwd, values.format, "--format");
    const rows = inspectRows((await loadCassette(file)).cassette);
    if (values.json === true) {
      await output.out(`${JSON.stringify(rows, null, 2)}\n`);
    } else if (rows.length === 0) {
      await output.out(`${file.name}: no interactions\n`);
    } else {
      await output.out(formatTable(rows));
    }
    return 0;
  },
};
