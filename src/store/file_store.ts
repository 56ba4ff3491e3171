import { offloadMember } from "./_blob.ts";
import type { FileStoreOptions } from "./_file_procedures.ts";
import { createFileState, loadProcedure, saveProcedure } from "./_file_procedures.ts";
import { runSync } from "./_file_run.ts";
import { replaceOf } from "./_save_options.ts";
import { checkCassette } from "../core/_model.ts";
import type { CassetteStore, SaveOptions } from "./cassette_store.ts";
import { CassetteLoadError, CassetteSaveError } from "../core/errors.ts";
import type { Cassette, CassetteFormat } from "../core/types.ts";

export type { FileStoreOptions };

/** A `CassetteStore` backed by one JSON or YAML file. */
export interface FileCassetteStore extends CassetteStore {
  /** The cassette file, as an absolute path. */
  readonly path: string;
  /** The file's format. */
  readonly format: CassetteFormat;
}

/**
 * Creates a store that keeps a cassette in a JSON or YAML file, read and
 * written with synchronous file calls (use `fileStoreAsync()` to keep the
 * event loop free).
 *
 * `save()` never loses a cassette:
 * - it is atomic: the text goes to a temporary file in the same folder,
 *   flushed to the device, then renamed over the cassette; on any failure the
 *   previous file is intact and the temporary file is removed;
 * - it is safe with parallel writers (test workers, processes): it takes a
 *   lock file (`<file>.lock`), merges what is on disk with what it brings
 *   (interactions already on disk stay first; the new ones follow), and writes
 *   the union. A lock whose holder crashed is taken over; temporary files
 *   left by a crash are removed by the next save;
 * - it refuses to overwrite a file that holds no valid cassette;
 * - it creates missing parent folders and keeps the file's permissions.
 *
 * Deno permissions: `--allow-read` and `--allow-write` for the cassette's
 * folder (the lock and temporary files live beside the cassette); for YAML
 * files also `--allow-env=LOG_TOKENS,LOG_STREAM`, which the `yaml` package
 * reads while parsing. Optionally `--allow-sys=hostname` and `--allow-run`,
 * which let a waiting writer see at once that a lock's holder has exited;
 * without them such a lock is taken over after `staleLockAge`.
 *
 * Do not mix `fileStore()` and `fileStoreAsync()` saves of one file inside
 * one process at the same time: the synchronous wait for the lock blocks the
 * event loop that the asynchronous holder needs, until `lockTimeout`.
 *
 * @param path The cassette file, as a path or a `file:` URL.
 * @param options Format, `createIfMissing` and locking options.
 * @returns The store.
 * @throws {RangeError} When the format cannot be told from the extension and
 * no `format` is given, or an option is out of range.
 * @throws {TypeError} When `path` is neither a non-empty string nor a `file:` URL.
 *
 * Its `load()` throws `CassetteLoadError` (`path`, `cause`) for a missing
 * file without `createIfMissing`, an unreadable file or invalid content; its
 * `save()` throws `CassetteSaveError` (`path`, `cause`) when the file cannot
 * be written, and `InteractionValidationError` when given something that is
 * not a cassette.
 *
 * @example Record once, replay from the file afterwards
 * ```ts
 * import { createRequest, fileStore, openBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "cassettes", "weather.yaml");
 * const request = createRequest({ protocol: "http", action: "GET", target: "/weather" });
 *
 * const recorder = openBroker(fileStore(path, { createIfMissing: true }), {
 *   mode: "auto",
 *   liveResponder: () => ["sunny"],
 * });
 * [...recorder.replay(request)];
 *
 * const player = openBroker(fileStore(path));
 * const [chunk] = player.replay(request);
 * assert.equal(new TextDecoder().decode(chunk!.data), "sunny");
 * ```
 *
 * @example Errors keep the original cause
 * ```ts
 * import { CassetteFormatError, CassetteLoadError, fileStore } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "broken.json");
 * writeFileSync(path, '{"interactions": [');
 * assert.throws(
 *   () => fileStore(path).load(),
 *   (error: unknown) =>
 *     error instanceof CassetteLoadError && error.cause instanceof CassetteFormatError,
 * );
 * ```
 */
export function fileStore(path: string | URL, options?: FileStoreOptions): FileCassetteStore {
  const state = createFileState(path, options, true);
  return Object.freeze({
    ...offloadMember(state.reader, state.blobThreshold),
    path: state.path,
    format: state.format,
    load(): Cassette {
      try {
        return runSync(loadProcedure(state));
      } catch (error) {
        throw error instanceof CassetteLoadError ? error : new CassetteLoadError(state.path, error);
      }
    },
    save(cassette: Cassette, options?: SaveOptions): void {
      checkCassette(cassette);
      const replace = replaceOf(options);
      try {
        runSync(saveProcedure(state, cassette, replace));
      } catch (error) {
        throw error instanceof CassetteSaveError ? error : new CassetteSaveError(state.path, error);
      }
    },
  });
}
