import { offloadMemberAsync } from "./_blob.ts";
import {
  appendJournal,
  createJournalState,
  loadJournal,
  rewriteJournal,
  runJournalAsync,
} from "./_journal.ts";
import { replaceOf } from "./_save_options.ts";
import { checkCassette } from "../core/_model.ts";
import type { AsyncCassetteStore, SaveOptions } from "./cassette_store.ts";
import { CassetteLoadError, CassetteSaveError } from "../core/errors.ts";
import type { JournalStoreOptions } from "./_journal.ts";
import type { Cassette } from "../core/types.ts";

/** An `AsyncCassetteStore` kept as a JSON snapshot plus an append-only journal. */
export interface AsyncJournalCassetteStore extends AsyncCassetteStore {
  /** The snapshot file (a normal JSON cassette), as an absolute path. */
  readonly path: string;
  /** The journal file, `path + ".journal"`. */
  readonly journalPath: string;
  /**
   * Folds the journal into the snapshot: writes a snapshot holding every
   * stored interaction atomically, then removes the journal.
   *
   * @returns A promise that settles once the snapshot holds everything.
   */
  compact(): Promise<void>;
}

/**
 * The promise-based twin of `journalStore()`: the same files and the same
 * guarantees (appends cost what is new, torn last lines dropped, the file
 * stores' lock shared with writers in other processes, crash-safe
 * compaction), without blocking the event loop.
 *
 * Deno permissions: as for `journalStore()`: `--allow-read` and
 * `--allow-write` for the cassette's folder; optionally
 * `--allow-sys=hostname` and `--allow-run`.
 *
 * @param path The snapshot file (JSON), as a path or a `file:` URL.
 * @param options `createIfMissing` and locking options.
 * @returns The store.
 * @throws {RangeError} When `path` names a YAML file, or an option is out of range.
 * @throws {TypeError} When `path` is neither a non-empty string nor a `file:` URL.
 *
 * Its `load()` rejects with `CassetteLoadError`; its `save()` and
 * `compact()` reject with `CassetteSaveError`.
 *
 * @example Record with for await, then compact
 * ```ts
 * import { createRequest, journalStoreAsync, openAsyncBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { existsSync, mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "chat.json");
 * const store = journalStoreAsync(path, { createIfMissing: true });
 * const broker = await openAsyncBroker(store, { mode: "auto", liveResponder: () => ["Hello"] });
 * const request = createRequest({ protocol: "http", action: "POST", target: "/v1/chat" });
 * for await (const _ of broker.replay(request));
 * assert.ok(existsSync(`${path}.journal`));
 * await store.compact();
 * assert.ok(!existsSync(`${path}.journal`));
 * assert.equal((await store.load()).interactions.length, 1);
 * ```
 */
export function journalStoreAsync(
  path: string | URL,
  options?: JournalStoreOptions,
): AsyncJournalCassetteStore {
  const state = createJournalState(path, options, false);
  const file = state.file.path;
  return Object.freeze({
    ...offloadMemberAsync(state.file.reader, state.file.blobThreshold),
    path: file,
    journalPath: state.journalPath,
    async load(): Promise<Cassette> {
      try {
        return await runJournalAsync(loadJournal(state));
      } catch (error) {
        throw error instanceof CassetteLoadError ? error : new CassetteLoadError(file, error);
      }
    },
    async save(cassette: Cassette, options?: SaveOptions): Promise<void> {
      checkCassette(cassette);
      const replace = replaceOf(options);
      try {
        await runJournalAsync(
          replace ? rewriteJournal(state, cassette) : appendJournal(state, cassette),
        );
      } catch (error) {
        throw error instanceof CassetteSaveError ? error : new CassetteSaveError(file, error);
      }
    },
    async compact(): Promise<void> {
      try {
        await runJournalAsync(rewriteJournal(state, undefined));
      } catch (error) {
        throw error instanceof CassetteSaveError ? error : new CassetteSaveError(file, error);
      }
    },
  });
}
