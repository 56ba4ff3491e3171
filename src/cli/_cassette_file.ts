// A cassette file named on the command line: its format, reading it, and
// turning file-system and parse errors into one readable line.
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { formatFromExtension } from "../_format.ts";
import { CassetteFormatError, InteractionValidationError } from "../errors.ts";
import { parseCassette } from "../parse_cassette.ts";
import type { Cassette, CassetteFormat } from "../types.ts";
import { choice, type OptionValue } from "./_args.ts";
import { CliFailure, oneLine, usageFailure } from "./_output.ts";

/** A cassette file as named by the user and as found on disk. */
export interface CassetteFile {
  /** The path as the user wrote it, for messages. */
  readonly name: string;
  /** The absolute path. */
  readonly path: string;
  /** The file's format. */
  readonly format: CassetteFormat;
}

const FORMATS: readonly CassetteFormat[] = ["json", "yaml"];

/**
 * Names a cassette file: resolves it against `cwd` and takes its format from
 * `override` (the value of `flag`) or else from the extension.
 */
export function cassetteFile(
  name: string,
  cwd: string,
  override: OptionValue,
  flag: string,
): CassetteFile {
  if (name === "") throw usageFailure("the cassette path is empty");
  const format = choice(override, flag, FORMATS) ?? formatFromExtension(name);
  if (format === undefined) {
    throw usageFailure(
      `cannot tell the format of ${
        JSON.stringify(name)
      } from its extension (.json, .yaml or .yml); pass ${flag} json or ${flag} yaml`,
    );
  }
  return { name, path: resolve(cwd, name), format };
}

/** Why a file operation failed, in a few words. */
export function fileReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a folder";
    case "ENOTDIR":
      return "a parent path is not a folder";
    case "EROFS":
      return "read-only file system";
    case "ENOSPC":
      return "no space left on the device";
  }
  return oneLine(error instanceof Error ? error.message : String(error));
}

/** Whether the error says the cassette's content is wrong (not the file system). */
export function isContentError(error: unknown): error is Error {
  return error instanceof CassetteFormatError || error instanceof InteractionValidationError;
}

/** Reads a cassette file's text, without a leading byte order mark (as the file store does). */
export async function readCassetteText(file: CassetteFile): Promise<string> {
  let text: string;
  try {
    text = await readFile(file.path, "utf8");
  } catch (error) {
    throw new CliFailure(`cannot read ${JSON.stringify(file.name)}: ${fileReason(error)}`, 1, {
      cause: error,
    });
  }
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** The one-line failure for a file that holds no valid cassette. */
export function invalidCassette(file: CassetteFile, error: Error): CliFailure {
  return new CliFailure(
    `${
      JSON.stringify(file.name)
    } is not a valid cassette: ${error.message} (run "x-replay validate ${file.name}" to list every problem)`,
    1,
    { cause: error },
  );
}

/** Reads and parses a cassette file. */
export async function loadCassette(file: CassetteFile): Promise<Cassette> {
  const text = await readCassetteText(file);
  try {
    return parseCassette(text, { format: file.format });
  } catch (error) {
    if (isContentError(error)) throw invalidCassette(file, error);
    throw error;
  }
}
