import type { parseDocument } from "yaml";
import { checkOptions, describe, type Fail, invalid } from "../core/_check.ts";
import { type Collected, DONE, fromDocument, fromItems } from "./_document.ts";
import { locateYamlPath } from "./_yaml_locate.ts";
import { checkFormat } from "./_format.ts";
import { loadYaml } from "./_yaml.ts";
import { CassetteFormatError } from "../core/errors.ts";
import type { BlobReader } from "../core/_model.ts";
import type { Cassette, CassetteFormat } from "../core/types.ts";

/** Options for `parseCassette()`. */
export interface ParseCassetteOptions {
  /**
   * The text's format.
   *
   * @default {"json"}
   */
  readonly format?: CassetteFormat | undefined;
}

/**
 * Reads a cassette from JSON or YAML text and verifies every interaction:
 * shapes and types, each stored fingerprint against its request, and chunk
 * sequences. Reads interposition 0.6's JSON files as they are.
 *
 * Bytes are stored as a string when they are UTF-8 text and as
 * `{"base64": "…"}` otherwise; both are accepted wherever bytes go (`body`,
 * `data`). Absent `headers`, `body` and `metadata` read as empty.
 *
 * @param text The cassette file's text.
 * @param options The format.
 * @returns The frozen, indexed cassette.
 * @throws {CassetteFormatError} When the text is not JSON/YAML or a value has
 * the wrong shape or type; `path` names it, and `line`/`column` are set where
 * the parser knows them.
 * @throws {InteractionValidationError} When a stored fingerprint is not its
 * request's, an interaction has no chunks, or sequences are not `0..n-1`.
 * @throws {RangeError} When `format` is neither `"json"` nor `"yaml"`.
 * @throws {TypeError} When `options` is not an object.
 * @throws {Deno.errors.NotCapable} On Deno, when parsing YAML without
 * `--allow-env=LOG_TOKENS,LOG_STREAM`: the `yaml` package reads those two debug
 * variables. JSON needs no permission.
 *
 * @example Read an interposition cassette
 * ```ts
 * import { parseCassette, replay } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const cassette = parseCassette(`{"interactions": [{
 *   "request": {"protocol": "test-proto", "action": "fetch", "target": "resource-123",
 *               "headers": [], "body": ""},
 *   "fingerprint": {"value": "33b9dd686b6015f8fd7223b66ba2f58fa5484a129c3209005fa7125a1b3829fd"},
 *   "response_chunks": [{"data": "first", "sequence": 0, "metadata": []}],
 *   "metadata": []}]}`);
 * const [chunk] = replay(cassette, cassette.interactions[0]!.request);
 * assert.equal(new TextDecoder().decode(chunk!.data), "first");
 * ```
 *
 * @example Errors name the place
 * ```ts
 * import { CassetteFormatError, parseCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => parseCassette("interactions:\n  - request: 42\n", { format: "yaml" }),
 *   (error: unknown) =>
 *     error instanceof CassetteFormatError &&
 *     error.path === "interactions[0].request" && error.line === 2,
 * );
 * ```
 */
export function parseCassette(text: string, options?: ParseCassetteOptions): Cassette {
  checkOptions(options, "parse cassette");
  return parseCassetteText(text, checkFormat(options?.format, "parse"));
}

/**
 * `parseCassette()` for stores: chunk data may also be a blob reference,
 * read through `blobs` when replay reaches it (ADR 0041). With `collected`,
 * the collecting mode of `x-replay validate` (ADR 0031): problems are noted
 * there instead of thrown, and checking goes on.
 */
export function parseCassetteText(
  text: string,
  format: CassetteFormat,
  blobs?: BlobReader,
  collected?: Collected,
): Cassette {
  checkFormat(format, "parse");
  if (typeof text !== "string") {
    throw new CassetteFormatError(`Cannot parse cassette: expected text, got ${describe(text)}`, {
      format,
      path: "",
    });
  }
  if (
    blobs !== undefined &&
    (typeof blobs !== "object" || blobs === null || typeof blobs.readSync !== "function")
  ) {
    throw new TypeError(
      `Cannot parse cassette: blobs must be a blob reader, got ${describe(blobs)}`,
    );
  }
  return format === "json" ? parseJson(text, blobs, collected) : parseYaml(text, blobs, collected);
}

function shapeError(
  format: CassetteFormat,
  path: string,
  expected: string,
  value: unknown,
  position?: { line: number; column: number },
): CassetteFormatError {
  return new CassetteFormatError(
    `${path === "" ? "cassette" : path}: expected ${expected}, got ${describe(value)}${
      position === undefined ? "" : ` (line ${position.line}, column ${position.column})`
    }`,
    { format, path, line: position?.line, column: position?.column },
  );
}

/** A problem: thrown, or noted when collecting (then checking goes on). */
function failWith(collected: Collected | undefined, error: Error): never {
  if (collected === undefined) throw error;
  collected.problems.push(error);
  return invalid();
}

function parseJson(
  text: string,
  blobs: BlobReader | undefined,
  collected?: Collected,
): Cassette {
  if (collected === undefined) {
    const cassette = parseJsonInPieces(text, blobs);
    if (cassette !== undefined) return cassette;
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    const position = jsonPosition(text, error);
    const reason = error instanceof Error ? error.message : String(error);
    // JSON parsers stop at the first syntax error: there is only ever one.
    return failWith(
      collected,
      new CassetteFormatError(
        `Cannot parse cassette: invalid JSON${
          position === undefined ? "" : ` at line ${position.line}, column ${position.column}`
        }: ${reason}`,
        { format: "json", path: "", line: position?.line, column: position?.column },
        { cause: error },
      ),
    );
  }
  const fail: Fail = (path, expected, value) =>
    failWith(collected, shapeError("json", path, expected, value));
  return fromDocument(document, fail, blobs, collected);
}

const JSON_OPEN = '{\n  "interactions": [\n    {';
const JSON_CLOSE = "\n    }\n  ]\n}";
const JSON_BETWEEN = "\n    },\n    {";
// About how many characters of items are parsed at a time: a piece's
// objects are few enough to die young, and the calls few.
const JSON_PIECE = 65536;
// Where a cut's "}" stands: it ends a piece (as it ends JSON_CLOSE's first line).
const JSON_BRACE = JSON_BETWEEN.indexOf("}");
const JSON_BETWEEN_TAIL = JSON_BETWEEN.slice(JSON_BRACE);

/**
 * The JSON of a cassette as stringifyCassette() (and interposition) lays it
 * out, parsed a piece of about 64 KiB at a time (ADR 0054): each piece's
 * objects die young, so the collector never copies a whole document that is
 * still alive while the cassette is built from it. The text must open with
 * exactly `{\n  "interactions": [\n    {` and close with `\n    }\n  ]\n}` and
 * at most one newline. A piece ends where a line is exactly `    },` and the
 * next is `    {`, and is parsed as `[` + its text + `]`. The cuts lie
 * between tokens (a JSON string cannot hold a raw newline), so whenever
 * every piece parses as an array, the whole text is the document whose
 * interactions are those arrays end to end, wherever the cuts fall. Any
 * other layout, a piece that does not parse, or a value that fails a check
 * gives `undefined`, and the whole text is parsed as before, which gives the
 * same cassette or exactly the same error.
 */
function parseJsonInPieces(text: string, blobs: BlobReader | undefined): Cassette | undefined {
  if (!text.startsWith(JSON_OPEN)) return undefined;
  const end = text.length - (text.endsWith("\n") ? 1 : 0) - JSON_CLOSE.length;
  if (end < JSON_OPEN.length || !text.startsWith(JSON_CLOSE, end)) return undefined;
  let start = JSON_OPEN.length - 1;
  let piece: unknown[] = [];
  let next = 0;
  try {
    return fromItems(() => {
      if (next === piece.length) {
        if (start > end) return DONE;
        // A piece is the items that fit in JSON_PIECE characters, or one
        // longer item alone, which is parsed from the text as it stands: put
        // between brackets, a big inline body would be copied whole first.
        const first = cutOrEnd(text, start, end);
        const cut = first - start >= JSON_PIECE
          ? first
          : start + JSON_PIECE < end
          ? lastCut(text, first, start + JSON_PIECE)
          : end;
        const items = text.slice(start, cut + JSON_BRACE + 1);
        piece = cut === first ? [JSON.parse(items)] : JSON.parse(`[${items}]`);
        next = 0;
        // At the next piece's "{".
        start = cut + JSON_BETWEEN.length - 1;
      }
      return piece[next++];
    }, () => {
      throw RETRY;
    }, blobs);
  } catch (error) {
    if (isPermissionError(error)) throw error;
    return undefined;
  }
}

/**
 * Where the last `\n    },\n    {` that starts after `least` and at or
 * before `at` starts; `least` (itself a cut) when there is none.
 */
function lastCut(text: string, least: number, at: number): number {
  for (let from = at + JSON_BRACE;; from--) {
    from = text.lastIndexOf(JSON_BETWEEN_TAIL, from);
    if (from - JSON_BRACE <= least) return least;
    if (text.startsWith(JSON_BETWEEN, from - JSON_BRACE)) return from - JSON_BRACE;
  }
}

/** `nextCut()` from `from`, or `end` when there is none before it. */
function cutOrEnd(text: string, from: number, end: number): number {
  const cut = nextCut(text, from);
  return cut === -1 || cut >= end ? end : cut;
}

/**
 * Where the next `\n    },\n    {` from `from` starts, or -1. The search is
 * for `},\n    {`, whose first character is rare, which engines find many
 * times faster than a pattern that starts with a newline.
 */
function nextCut(text: string, from: number): number {
  for (let at = from + JSON_BRACE;;) {
    const found = text.indexOf(JSON_BETWEEN_TAIL, at);
    if (found === -1) return -1;
    if (text.startsWith(JSON_BETWEEN, found - JSON_BRACE)) return found - JSON_BRACE;
    at = found + 1;
  }
}

// Engines report JSON syntax errors differently; V8 gives an offset, which is
// turned into a line and column here. Others give none, and none is claimed.
function jsonPosition(text: string, error: unknown): { line: number; column: number } | undefined {
  const message = error instanceof Error ? error.message : "";
  const lineColumn = /line (\d+) column (\d+)/.exec(message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const offset = /at position (\d+)/.exec(message);
  if (!offset) return undefined;
  const before = text.slice(0, Number(offset[1]));
  const lastBreak = before.lastIndexOf("\n");
  return { line: before.split("\n").length, column: before.length - lastBreak };
}

function parseYaml(
  text: string,
  blobs: BlobReader | undefined,
  collected?: Collected,
): Cassette {
  // Collecting every problem needs the whole document (for line numbers).
  return (collected === undefined ? parseYamlByItem(text, blobs) : undefined) ??
    parseYamlWhole(text, blobs, collected);
}

/**
 * The YAML of a cassette as stringifyCassette() lays it out, parsed one
 * interaction at a time (ADR 0050): the yaml package's document tree costs
 * about 30 times the text, so holding only one interaction's tree at a time
 * is what keeps a big YAML cassette's load in memory. The text must be
 * exactly `interactions:` and then items that start with `  - ` at column 2
 * (the content of an item is indented further, block scalars included, so
 * such a line always starts the next item). Anything else (another top-level
 * line, a comment or directive at column 0, an alias, a YAML error, a value
 * that fails a check) gives `undefined`, and the whole document is parsed as
 * before, which gives the same cassette or exactly the same error.
 */
function parseYamlByItem(text: string, blobs: BlobReader | undefined): Cassette | undefined {
  const items = yamlItems(text);
  if (items === undefined) return undefined;
  const { parseDocument, visit } = loadYaml();
  const interactions: unknown[] = [];
  try {
    for (const item of items) {
      const document = parseDocument(item, { uniqueKeys: true, prettyErrors: false });
      if (document.errors.length > 0) return undefined;
      // Only an item whose text has a "*" can hold an alias: look closer then.
      let alias = false;
      if (item.includes("*")) {
        visit(document, {
          Alias() {
            alias = true;
            return visit.BREAK;
          },
        });
      }
      if (alias) return undefined;
      const value: unknown = document.toJS();
      if (!Array.isArray(value) || value.length !== 1) return undefined;
      interactions.push(value[0]);
    }
    return fromDocument({ interactions }, () => {
      throw RETRY;
    }, blobs);
  } catch (error) {
    if (isPermissionError(error)) throw error;
    return undefined;
  }
}

const RETRY = Symbol("parse the whole document");
const ITEM_START = /^ {2}-(?: |$)/;

/** The texts of the top-level items of `interactions:`, or `undefined` for another layout. */
function yamlItems(text: string): string[] | undefined {
  if (!text.startsWith("interactions:\n")) return undefined;
  const lines = text.slice("interactions:\n".length).split("\n");
  const items: string[] = [];
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (ITEM_START.test(line)) {
      if (start !== -1) items.push(lines.slice(start, i).join("\n"));
      start = i;
    } else if (line !== "" && line[0] !== " ") return undefined;
    else if (start === -1 && line.trim() !== "") return undefined;
  }
  if (start === -1) return undefined;
  items.push(lines.slice(start).join("\n"));
  return items;
}

function parseYamlWhole(
  text: string,
  blobs: BlobReader | undefined,
  collected?: Collected,
): Cassette {
  const { LineCounter, parseDocument } = loadYaml();
  const lineCounter = new LineCounter();
  let value: unknown;
  let document: ReturnType<typeof parseDocument>;
  try {
    document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
    // yaml's parser itself reports every syntax error; the first is thrown.
    for (const syntax of document.errors) {
      const position = lineCounter.linePos(syntax.pos[0]);
      failWith(
        collected,
        new CassetteFormatError(
          `Cannot parse cassette: invalid YAML at line ${position.line}, column ${position.col}: ${syntax.message}`,
          { format: "yaml", path: "", line: position.line, column: position.col },
          { cause: syntax },
        ),
      );
    }
    if (document.errors.length > 0) return invalid();
    value = document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    if (error instanceof CassetteFormatError || isPermissionError(error)) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    return failWith(
      collected,
      new CassetteFormatError(`Cannot parse cassette: invalid YAML: ${reason}`, {
        format: "yaml",
        path: "",
      }, { cause: error }),
    );
  }
  const locate = (path: string) => locateYamlPath(document, lineCounter, path);
  if (collected !== undefined) collected.locate = locate;
  const fail: Fail = (path, expected, found) =>
    failWith(collected, shapeError("yaml", path, expected, found, locate(path)));
  return fromDocument(value, fail, blobs, collected);
}

// The yaml package reads the LOG_TOKENS and LOG_STREAM debug variables while
// parsing; under Deno without env permission that throws. That is not a fault
// of the text, so it must not be reported as one.
function isPermissionError(error: unknown): boolean {
  return error instanceof Error &&
    (error.name === "NotCapable" || error.name === "PermissionDenied");
}
