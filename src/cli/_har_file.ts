// HAR files for `x-replay convert`: reading one with the side files it
// names (`_file`, beside it); _convert.ts writes them. A HAR comes from
// elsewhere like any cassette folder: its side files are opened only as
// regular files in the HAR's own folder, never through a link.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from "node:fs";
import { dirname, extname, join, resolve } from "node:path";
import { fromHar, type HarSkip } from "../http/har/from_har.ts";
import { HarFormatError } from "../http/har/har_format_error.ts";
import type { Cassette } from "../core/types.ts";
import type { OptionValue } from "./_args.ts";
import { readCassetteText } from "./_cassette_file.ts";
import { CliFailure, oneLine } from "./_output.ts";

/** A HAR file named on the command line. */
export interface HarFile {
  /** The path as the user wrote it, for messages. */
  readonly name: string;
  /** The absolute path. */
  readonly path: string;
}

/** The HAR file `name` is, when its format (`override`, else the extension) is `har`. */
export function harFile(name: string, cwd: string, override: OptionValue): HarFile | undefined {
  const isHar = override === "har" ||
    (override === undefined && extname(name).toLowerCase() === ".har");
  return isHar && name !== "" ? { name, path: resolve(cwd, name) } : undefined;
}

/**
 * Reads the side file `name` of a HAR in `folder`: a regular file, not a
 * link (checked before opening, refused by `O_NOFOLLOW` where the platform
 * has it, and checked again on the open file).
 */
export function sideFileReader(folder: string): (name: string) => Uint8Array {
  return (name) => {
    const path = join(folder, name);
    const before = lstatSync(path);
    if (before.isSymbolicLink()) throw new Error("it is a symbolic link, which is not followed");
    if (!before.isFile()) throw new Error("it is not a regular file");
    const fd = openSync(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    try {
      const after = fstatSync(fd);
      if (!after.isFile() || after.ino !== before.ino || after.dev !== before.dev) {
        throw new Error("it changed while it was opened");
      }
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  };
}

/** Reads a HAR as a cassette; `onSkip` hears of each entry left out. */
export async function loadHar(
  file: HarFile,
  matchHeaders: readonly string[] | undefined,
  onSkip: (skip: HarSkip) => void,
): Promise<Cassette> {
  const text = await readCassetteText(file);
  try {
    return fromHar(text, { matchHeaders, readFile: sideFileReader(dirname(file.path)), onSkip });
  } catch (error) {
    if (!(error instanceof HarFormatError)) throw error;
    throw new CliFailure(
      `${JSON.stringify(file.name)} is not a HAR file it can read: ${oneLine(error.message)}`,
      1,
      { cause: error },
    );
  }
}
