import { type DataOf, toDocument } from "./_document.ts";
import { checkFormat } from "./_format.ts";
import { loadYaml } from "./_yaml.ts";
import { checkCassette } from "../core/_model.ts";
import { checkOptions, describe } from "../core/_check.ts";
import type { Cassette, CassetteFormat } from "../core/types.ts";

/** Options for `stringifyCassette()`. */
export interface StringifyCassetteOptions {
  /**
   * The format to write.
   *
   * @default {"json"}
   */
  readonly format?: CassetteFormat | undefined;
}

/**
 * Writes a cassette as JSON or YAML text. The output is deterministic (fixed
 * key order, two-space indentation, a trailing newline), so cassettes diff
 * cleanly. JSON uses interposition 0.6's layout: a cassette whose bytes are
 * all UTF-8 text loads there unchanged. Bytes that are not UTF-8 are written
 * as `{"base64": "…"}`, which this library reads back exactly. In YAML,
 * multi-line text is written as a literal block. Chunks whose bytes live in
 * blob files (`chunk.blob`) are read and written inline, so the result is one
 * self-contained file.
 *
 * @param cassette The cassette to write.
 * @param options The format.
 * @returns The file text.
 * @throws {InteractionValidationError} When `cassette` was not built by this library.
 * @throws {RangeError} When `format` is neither `"json"` nor `"yaml"`.
 * @throws {TypeError} When `options` is not an object.
 *
 * @example JSON and YAML
 * ```ts
 * import { createCassette, createInteraction, createRequest, parseCassette, stringifyCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/png" });
 * const cassette = createCassette([
 *   createInteraction(request, [new Uint8Array([0x89, 0x50, 0x4e, 0x47]), "line 1\nline 2\n"]),
 * ]);
 * const json = stringifyCassette(cassette);
 * assert.ok(json.includes('"data": {\n            "base64": "iVBORw=="'));
 * const yaml = stringifyCassette(cassette, { format: "yaml" });
 * assert.ok(yaml.includes("data: |\n"));
 * assert.deepEqual(parseCassette(yaml, { format: "yaml" }), parseCassette(json));
 * ```
 */
export function stringifyCassette(cassette: Cassette, options?: StringifyCassetteOptions): string {
  checkOptions(options, "stringify cassette");
  const format = checkFormat(options?.format, "stringify");
  return stringifyDocument(checkCassette(cassette), format);
}

/**
 * Whether text of several lines has no character but spaces and tabs. The
 * yaml package writes such text as a literal block without an indentation
 * indicator, and reading it back finds the block's indentation in those
 * spaces, so `" \n"` came back as `"\n"`; a quoted string keeps every byte.
 */
function isBlankLines(text: string): boolean {
  return text.includes("\n") && !/[^ \t\n]/.test(text);
}

/** `stringifyCassette()` for stores, which may keep chunk data in blob files (ADR 0041). */
export function stringifyDocument(
  cassette: Cassette,
  format: CassetteFormat,
  dataOf?: DataOf,
): string {
  checkCassette(cassette);
  checkFormat(format, "stringify");
  if (dataOf !== undefined && typeof dataOf !== "function") {
    throw new TypeError(
      `Cannot stringify cassette: dataOf must be a function, got ${describe(dataOf)}`,
    );
  }
  const document = toDocument(cassette, dataOf);
  if (format === "json") return `${JSON.stringify(document, null, 2)}\n`;
  const { Document, isScalar, visit } = loadYaml();
  // Shared frozen values (the empty pairs list) must not become YAML anchors.
  const yaml = new Document(document, { aliasDuplicateObjects: false });
  // Header and metadata pairs read best on one line: `- [content-type, text/plain]`.
  visit(yaml, {
    Seq(_, node) {
      if (node.items.length !== 2 || !node.items.every((item) => isScalar(item))) return;
      node.flow = true;
      // A block scalar cannot stand inside a flow collection: text of several
      // lines in a pair is written quoted.
      for (const item of node.items) {
        if (typeof item.value === "string" && item.value.includes("\n")) item.type = "QUOTE_DOUBLE";
      }
    },
    Scalar(_, node) {
      if (typeof node.value === "string" && isBlankLines(node.value)) node.type = "QUOTE_DOUBLE";
    },
  });
  return yaml.toString({ lineWidth: 0, blockQuote: "literal", flowCollectionPadding: false });
}
