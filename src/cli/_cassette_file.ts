// A cassette file named on the command line: its format, the journal a
// journal store may keep beside it, reading both, and turning file-system
// and parse errors into one readable line.
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { formatFromExtension } from "../codec/_format.ts";
import {
  CassetteFormatError,
  CassetteLoadError,
  InteractionValidationError,
} from "../core/errors.ts";
import { journalStoreAsync } from "../store/journal_store_async.ts";
import { blobFolderOf, blobReader } from "../store/_blob.ts";
import type { BlobReader } from "../core/_model.ts";
import { parseCassetteText } from "../codec/parse_cassette.ts";
import type { Cassette, CassetteFormat } from "../core/types.ts";
import { choice, type OptionValue } from "./_args.ts";
import { checkJournal } from "./_journal_check.ts";
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
export async function readCassetteText(
  file: Pick<CassetteFile, "name" | "path">,
): Promise<string> {
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
  return invalidBecause(file, error.message, error);
}

function invalidBecause(file: CassetteFile, reason: string, cause: unknown): CliFailure {
  return new CliFailure(
    `${
      JSON.stringify(file.name)
    } is not a valid cassette: ${reason} (run "x-replay validate ${file.name}" to list every problem)`,
    1,
    { cause },
  );
}

/** The journal a journal store keeps beside a cassette, named as the user would (ADR 0040). */
export interface JournalFile {
  /** `<cassette>.journal` as the user wrote the cassette's name, for messages. */
  readonly name: string;
  /** Its absolute path. */
  readonly path: string;
}

/** The journal that would sit beside the cassette. */
export function journalFile(file: CassetteFile): JournalFile {
  return { name: `${file.name}.journal`, path: `${file.path}.journal` };
}

/** Whether something exists at `path`; a failure other than "not there" is one line naming `name`. */
async function exists(path: string, name: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ENOENT" || code === "ENOTDIR") return false;
    throw new CliFailure(`cannot read ${JSON.stringify(name)}: ${fileReason(error)}`, 1, {
      cause: error,
    });
  }
}

/**
 * Whether the cassette is read together with a journal: it is JSON (journal
 * stores keep nothing else, and refuse YAML-named paths) and
 * `<cassette>.journal` exists.
 */
export async function hasJournal(file: CassetteFile): Promise<boolean> {
  if (file.format !== "json" || formatFromExtension(file.path) === "yaml") return false;
  const journal = journalFile(file);
  return await exists(journal.path, journal.name);
}

/** Whether anything exists at `<file>.journal`, whatever the file's format. */
export async function journalExists(file: CassetteFile): Promise<boolean> {
  const journal = journalFile(file);
  return await exists(journal.path, journal.name);
}

/** Reads a journal's bytes. */
export async function readJournalBytes(journal: JournalFile): Promise<Uint8Array> {
  try {
    return await readFile(journal.path);
  } catch (error) {
    throw new CliFailure(`cannot read ${JSON.stringify(journal.name)}: ${fileReason(error)}`, 1, {
      cause: error,
    });
  }
}

/**
 * The one-line failure for a store's failed load, naming the file at fault:
 * the cassette, or for a journal store its journal and the bad line's number
 * (found again by `checkJournal()`, so it reads as `validate` reports it).
 */
export async function loadFailure(file: CassetteFile, error: unknown): Promise<CliFailure> {
  const journal = journalFile(file);
  if (error instanceof CassetteLoadError && error.path === journal.path) {
    const bytes = await readJournalBytes(journal).catch(() => new Uint8Array(0));
    const problem = checkJournal(bytes, blobsOf(file)).problems[0];
    // Not found again only if the journal changed since the load.
    const reason = problem === undefined
      ? oneLine(error.message)
      : `${journal.name} line ${problem.line}: ${problem.message}`;
    return invalidBecause(file, reason, error);
  }
  const cause = error instanceof CassetteLoadError ? error.cause : error;
  if (isContentError(cause)) return invalidCassette(file, cause);
  if (error instanceof CassetteLoadError && cause === undefined) {
    // The journal store's one load error without a cause: no snapshot.
    const reason = await exists(file.path, file.name) ? oneLine(error.message) : "no such file";
    return new CliFailure(`cannot read ${JSON.stringify(file.name)}: ${reason}`, 1, {
      cause: error,
    });
  }
  const where = (cause as { path?: unknown } | null)?.path === journal.path
    ? journal.name
    : file.name;
  return new CliFailure(`cannot read ${JSON.stringify(where)}: ${fileReason(cause)}`, 1, {
    cause: error,
  });
}

/** A cassette as the CLI reads it. */
export interface LoadedCassette {
  readonly cassette: Cassette;
  /** Whether a journal beside the file was read too (then the cassette is snapshot + journal). */
  readonly withJournal: boolean;
}

/**
 * Reads and parses a cassette file; with a journal beside it (see
 * `hasJournal()`), through the journal store, so the cassette is the
 * snapshot followed by the journal's lines (a torn last line dropped).
 */
export async function loadCassette(file: CassetteFile): Promise<LoadedCassette> {
  if (await hasJournal(file)) {
    try {
      return { cassette: await journalStoreAsync(file.path).load(), withJournal: true };
    } catch (error) {
      throw await loadFailure(file, error);
    }
  }
  const text = await readCassetteText(file);
  try {
    return {
      cassette: parseCassetteText(text, file.format, blobsOf(file)),
      withJournal: false,
    };
  } catch (error) {
    if (isContentError(error)) throw invalidCassette(file, error);
    throw error;
  }
}

/** Reads the blob files a cassette refers to (ADR 0041), `<cassette>.blobs/`. */
export function blobsOf(file: CassetteFile): BlobReader {
  return blobReader(blobFolderOf(file.path));
}
