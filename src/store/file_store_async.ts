import { offloadMemberAsync } from "./_blob.ts";
import { createFileState, loadProcedure, saveProcedure } from "./_file_procedures.ts";
import { runAsync } from "./_file_run.ts";
import { replaceOf } from "./_save_options.ts";
import { checkCassette } from "../core/_model.ts";
import type { AsyncCassetteStore, SaveOptions } from "./cassette_store.ts";
import { CassetteLoadError, CassetteSaveError } from "../core/errors.ts";
import type { FileStoreOptions } from "./_file_procedures.ts";
import type { Cassette, CassetteFormat } from "../core/types.ts";

/** An `AsyncCassetteStore` backed by one JSON or YAML file. */
export interface AsyncFileCassetteStore extends AsyncCassetteStore {
  /** The cassette file, as an absolute path. */
  readonly path: string;
  /** The file's format. */
  readonly format: CassetteFormat;
}

/**
 * The promise-based twin of `fileStore()`: the same file, the same
 * guarantees (atomic saves, a lock with stale-lock recovery shared with
 * `fileStore()` writers in other processes, merging with what is on disk,
 * parent folders created), without blocking the event loop while it reads,
 * writes or waits for the lock. Use it with `createAsyncBroker()` and
 * `openAsyncBroker()`.
 *
 * Deno permissions: as for `fileStore()`: `--allow-read` and `--allow-write`
 * for the cassette's folder, `--allow-env=LOG_TOKENS,LOG_STREAM` for YAML
 * files, and optionally `--allow-sys=hostname` and `--allow-run` for
 * immediate recovery from a crashed lock holder.
 *
 * @param path The cassette file, as a path or a `file:` URL.
 * @param options Format, `createIfMissing` and locking options.
 * @returns The store.
 * @throws {RangeError} When the format cannot be told from the extension and
 * no `format` is given, or an option is out of range.
 * @throws {TypeError} When `path` is neither a non-empty string nor a `file:` URL.
 *
 * Its `load()` rejects with `CassetteLoadError` (`path`, `cause`); its
 * `save()` rejects with `CassetteSaveError` (`path`, `cause`), or with
 * `InteractionValidationError` when given something that is not a cassette.
 *
 * @example Record with for await, into a JSON file
 * ```ts
 * import { createRequest, fileStoreAsync, openAsyncBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "chat.json");
 * const store = fileStoreAsync(path, { createIfMissing: true });
 * const broker = await openAsyncBroker(store, {
 *   mode: "auto",
 *   liveResponder: async function* () {
 *     yield "Hel";
 *     yield "lo";
 *   },
 * });
 * const request = createRequest({ protocol: "http", action: "POST", target: "/v1/chat" });
 * let text = "";
 * for await (const chunk of broker.replay(request)) text += new TextDecoder().decode(chunk.data);
 * assert.equal(text, "Hello");
 * assert.equal(JSON.parse(readFileSync(path, "utf8")).interactions.length, 1);
 * ```
 */
export function fileStoreAsync(
  path: string | URL,
  options?: FileStoreOptions,
): AsyncFileCassetteStore {
  const state = createFileState(path, options, false);
  return Object.freeze({
    ...offloadMemberAsync(state.reader, state.blobThreshold),
    path: state.path,
    format: state.format,
    async load(): Promise<Cassette> {
      try {
        return await runAsync(loadProcedure(state));
      } catch (error) {
        throw error instanceof CassetteLoadError ? error : new CassetteLoadError(state.path, error);
      }
    },
    async save(cassette: Cassette, options?: SaveOptions): Promise<void> {
      checkCassette(cassette);
      const replace = replaceOf(options);
      try {
        await runAsync(saveProcedure(state, cassette, replace));
      } catch (error) {
        throw error instanceof CassetteSaveError ? error : new CassetteSaveError(state.path, error);
      }
    },
  });
}
