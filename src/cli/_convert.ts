// `x-replay convert`: the same cassette in another format, written through
// the file store's atomic save. A journal beside the input is read with it,
// so the output is one self-contained file.
import { randomBytes } from "node:crypto";
import { chmod, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { blobFolderOf } from "../store/_blob.ts";
import { BlobError, CassetteSaveError } from "../core/errors.ts";
import { fileStoreAsync } from "../store/file_store_async.ts";
import type { Cassette } from "../core/types.ts";
import { blobThresholdOption, choice, takePositionals } from "./_args.ts";
import {
  type CassetteFile,
  cassetteFile,
  fileReason,
  journalExists,
  journalFile,
  loadCassette,
} from "./_cassette_file.ts";
import type { Command } from "./_command.ts";
import { CliFailure, oneLine, usageFailure } from "./_output.ts";
import { type HarFile, harFile, loadHar } from "./_har_file.ts";
import { toHar } from "../http/har/to_har.ts";
import { TOKEN } from "../http/_mapping.ts";

function writeFailure(file: { readonly name: string }, error: unknown): CliFailure {
  // The store wraps the file system's error; its cause says what happened.
  const cause = error instanceof CassetteSaveError && error.cause !== undefined
    ? error.cause
    : error;
  return new CliFailure(`cannot write ${JSON.stringify(file.name)}: ${fileReason(cause)}`, 1, {
    cause: error,
  });
}

/** The file that `file` would replace (its mode), or `undefined`; without `replace`, there must be none. */
async function replaced(
  file: { readonly name: string; readonly path: string },
  replace: boolean,
): Promise<{ mode: number } | undefined> {
  let before: { mode: number } | undefined;
  try {
    before = await stat(file.path);
  } catch (error) {
    if ((error as { code?: unknown }).code !== "ENOENT") throw writeFailure(file, error);
  }
  if (before !== undefined && !replace) {
    throw new CliFailure(
      `${JSON.stringify(file.name)} already exists (pass --force to replace it)`,
      1,
    );
  }
  return before;
}

/**
 * Writes `file` through a temporary file beside it: `save(temporary)` writes
 * it whole, it takes the permissions of the file it replaces (`mode`), and
 * is renamed over `file`, so a reader never sees half a file. On failure the
 * temporary file, and any blob folder saved beside it, is removed.
 */
async function writeBeside(
  file: { readonly name: string; readonly path: string },
  mode: number | undefined,
  save: (temporary: string) => Promise<void>,
): Promise<void> {
  const folder = dirname(file.path);
  const temporary = join(
    folder,
    `.${basename(file.path)}.x-replay-convert.${randomBytes(6).toString("hex")}.tmp`,
  );
  try {
    await save(temporary);
    if (mode !== undefined) await chmod(temporary, mode & 0o7777);
    await rename(temporary, file.path);
  } catch (error) {
    await rm(temporary, { force: true }).catch(() => {});
    await rm(blobFolderOf(temporary), { recursive: true, force: true }).catch(() => {});
    throw writeFailure(file, error);
  }
  // Makes the rename itself durable where the platform allows opening a folder.
  try {
    const handle = await open(folder, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Not supported here (Windows); the data itself was flushed.
  }
}

/**
 * Writes a new file through the store: atomic, parent folders created. The
 * store merges into an existing file (ADR 0016), which is not what a
 * conversion means, so an existing file is replaced by saving beside it and
 * renaming over it.
 */
async function write(
  file: CassetteFile,
  cassette: Cassette,
  replace: boolean,
  blobThreshold: number | undefined,
): Promise<void> {
  if (await journalExists(file)) {
    // A journal's lines follow the snapshot they were appended to; under a
    // new file they would be read again after it (or twice, in place).
    const journal = journalFile(file);
    throw new CliFailure(
      `${JSON.stringify(file.name)} has a journal beside it, ${
        JSON.stringify(journal.name)
      }, which would then follow another cassette (compact or remove it first, or choose another output)`,
      1,
    );
  }
  const before = await replaced(file, replace);
  if (before === undefined) {
    try {
      await fileStoreAsync(file.path, { format: file.format, blobThreshold }).save(cassette);
    } catch (error) {
      throw writeFailure(file, error);
    }
    return;
  }
  await writeBeside(file, before.mode, async (temporary) => {
    await fileStoreAsync(temporary, { format: file.format, blobThreshold }).save(cassette);
    // The blobs went beside the temporary file: move them beside <out>
    // before <out> refers to them.
    await moveBlobs(blobFolderOf(temporary), blobFolderOf(file.path));
  });
}

/** Writes HAR text as `file`, atomically, replacing an existing file only with `replace`. */
async function writeHar(file: HarFile, text: string, replace: boolean): Promise<void> {
  const before = await replaced(file, replace);
  await writeBeside(file, before?.mode, async (temporary) => {
    await mkdir(dirname(temporary), { recursive: true });
    const handle = await open(temporary, "wx");
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}

/** Moves blob files into `to`; a blob already there has the same bytes (its name says so). */
async function moveBlobs(from: string, to: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(from);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return;
    throw error;
  }
  await mkdir(to, { recursive: true });
  for (const name of names) await rename(join(from, name), join(to, name));
  await rm(from, { recursive: true, force: true });
}

/** The `BlobError` somewhere in an error's chain of causes. */
function blobErrorIn(error: unknown): BlobError | undefined {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current instanceof BlobError) return current;
  }
  return undefined;
}

/** The smallest blob in the cassette, so that "keep the layout" has a threshold. */
function smallestBlob(cassette: Cassette): number | undefined {
  let smallest: number | undefined;
  for (const interaction of cassette.interactions) {
    const blobs = [interaction.request.bodyBlob, ...interaction.responseChunks.map((c) => c.blob)];
    for (const blob of blobs) {
      if (blob !== undefined && (smallest === undefined || blob.size < smallest)) {
        smallest = blob.size;
      }
    }
  }
  return smallest;
}

const CONVERT_FORMATS = ["json", "yaml", "har"] as const;

/** `x-replay convert`. */
export const convertCommand: Command = {
  name: "convert",
  summary: "convert a cassette between JSON, YAML and HAR, inline and blob files",
  help: `Usage: x-replay convert <in> <out> [options]

Reads the cassette <in> and writes it to <out> in the format of <out>'s
extension (.json, .yaml or .yml, or .har). The output is written atomically
(to a temporary file in the same folder, flushed, then renamed into place)
and its folder is created if needed. Converting JSON to YAML and back gives
the same bytes. An existing <out> is left alone unless --force is given.

HAR 1.2 (.har) is read from browser devtools, Playwright (recordHar, with the
side files its _file fields name, read from the HAR's own folder as regular
files only, never through a link), Polly.js (recording.har, repeated requests
in their _order) and others; entries that got no response are skipped with a
warning. Request headers are left out unless named with --match-header. A
cassette written as HAR keeps what HAR cannot hold (chunk boundaries, timing,
metadata) in _replay fields, so converting it back gives the same cassette.

A JSON <in> with a journal beside it (<in>.journal, kept by a journalStore) is
read whole, snapshot then journal, so <out> is one self-contained file. An
<out> with a journal beside it is refused, even with --force: the journal
would then follow another cassette (run "x-replay compact <out>" to fold it in
first, or remove it).

Chunks and request bodies kept in blob files (<in>.blobs/, ADR 0041) are read
one at a time and laid out in <out> as the options say: --inline writes all
of them into <out> itself (one self-contained file, which interposition reads
where the bytes are UTF-8); --blob-threshold <bytes> writes every chunk and
request body of at least that size to <out>.blobs/<sha256> (externalising an
inline cassette); with neither, <out> keeps <in>'s layout (bytes at least as
big as <in>'s smallest blob go to blob files). A HAR <out> holds every body
inline.

Options:
  --from <fmt>               the format of <in>, json, yaml or har (default: from its extension)
  --to <fmt>                 the format of <out>, json, yaml or har (default: from its extension)
  --inline                   write every chunk and body inline in <out>
  --blob-threshold <bytes>   write chunks and bodies of at least <bytes> to <out>.blobs/
  --match-header <name>      a request header of a HAR <in> to keep for matching (repeatable)
  --force                    replace <out> if it exists
  -h, --help                 show this help
`,
  options: {
    from: { type: "string" },
    to: { type: "string" },
    inline: { type: "boolean" },
    "blob-threshold": { type: "string" },
    "match-header": { type: "string", multiple: true },
    force: { type: "boolean" },
  },
  async run({ values, positionals }, output) {
    const [inName, outName] = takePositionals(positionals, ["in", "out"]);
    choice(values.from, "--from", CONVERT_FORMATS);
    choice(values.to, "--to", CONVERT_FORMATS);
    const inHar = harFile(inName!, output.cwd, values.from);
    const outHar = harFile(outName!, output.cwd, values.to);
    const input = inHar ?? cassetteFile(inName!, output.cwd, values.from, "--from");
    const target = outHar ?? cassetteFile(outName!, output.cwd, values.to, "--to");
    const threshold = blobThresholdOption(values["blob-threshold"]);
    if (threshold !== undefined && values.inline === true) {
      throw usageFailure("--inline and --blob-threshold contradict each other: pass one");
    }
    if (threshold !== undefined && outHar !== undefined) {
      throw usageFailure("--blob-threshold does not apply to a HAR <out>, which holds every body");
    }
    const matchHeaders = values["match-header"] as readonly string[] | undefined;
    const badHeader = matchHeaders?.find((header) => !TOKEN.test(header));
    if (badHeader !== undefined) {
      throw usageFailure(`--match-header must be a header name, got ${JSON.stringify(badHeader)}`);
    }
    if (matchHeaders !== undefined && inHar === undefined) {
      throw usageFailure("--match-header applies to a HAR <in> only");
    }
    let cassette: Cassette;
    let source: string;
    if (inHar === undefined) {
      const loaded = await loadCassette(input as CassetteFile);
      cassette = loaded.cassette;
      const format = (input as CassetteFile).format;
      source = loaded.withJournal
        ? `${format}, with ${journalFile(input as CassetteFile).name}`
        : format;
    } else {
      const skipped: string[] = [];
      cassette = await loadHar(
        inHar,
        matchHeaders,
        ({ path, reason }) =>
          skipped.push(`x-replay: convert: warning: ${inHar.name}: ${path} skipped: ${reason}\n`),
      );
      for (const line of skipped) await output.err(line);
      source = "har";
    }
    try {
      if (outHar !== undefined) await writeHar(outHar, toHar(cassette), values.force === true);
      else {
        const blobThreshold = values.inline === true
          ? undefined
          : threshold ?? smallestBlob(cassette);
        await write(target as CassetteFile, cassette, values.force === true, blobThreshold);
      }
    } catch (error) {
      // A blob of <in> that is missing or altered: name it, not <out>.
      const blob = blobErrorIn(error);
      if (blob === undefined) {
        if (error instanceof RangeError && outHar !== undefined) {
          throw new CliFailure(
            `cannot write ${JSON.stringify(outHar.name)}: ${oneLine(error.message)}`,
            1,
            {
              cause: error,
            },
          );
        }
        throw error;
      }
      throw new CliFailure(
        `cannot read a blob of ${JSON.stringify(input.name)}: ${oneLine(blob.message)}`,
        1,
        { cause: error },
      );
    }
    const count = cassette.interactions.length;
    const format = outHar === undefined ? (target as CassetteFile).format : "har";
    await output.out(
      `${input.name} (${source}) -> ${target.name} (${format}): ${count} interaction${
        count === 1 ? "" : "s"
      }\n`,
    );
    return 0;
  },
};
