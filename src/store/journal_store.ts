import { offloadMember } from "./_blob.ts";
import type { JournalStoreOptions } from "./_journal.ts";
import {
  appendJournal,
  createJournalState,
  loadJournal,
  rewriteJournal,
  runJournalSync,
} from "./_journal.ts";
import { replaceOf } from "./_save_options.ts";
import { checkCassette } from "../core/_model.ts";
import type { CassetteStore, SaveOptions } from "./cassette_store.ts";
import { CassetteLoadError, CassetteSaveError } from "../core/errors.ts";
import type { Cassette } from "../core/types.ts";

export type { JournalStoreOptions };

/** A `CassetteStore` kept as a JSON snapshot plus an append-only journal. */
export interface JournalCassetteStore extends CassetteStore {
  /** The snapshot file (a normal JSON cassette), as an absolute path. */
  readonly path: string;
  /** The journal file, `path + ".journal"`. */
  readonly journalPath: string;
  /**
   * Folds the journal into the snapshot: writes a snapshot holding every
   * stored interaction atomically, then removes the journal.
   *
   * @throws {CassetteSaveError} When the files cannot be read or written.
   */
  compact(): void;
}

/**
 * Creates a store whose saves cost the size of what is new, not of the
 * cassette: the compacted snapshot is a normal JSON cassette at `path` (so
 * every other tool reads it), and each save appends the interactions it
 * brings that are not stored yet to `path + ".journal"`, one compact JSON
 * line per interaction (the per-interaction shape of the cassette file),
 * flushed to the device. `compact()` folds the journal into the snapshot.
 *
 * - `load()` returns the snapshot followed by the journal's lines: the same
 *   cassette `compact()` would write. A last line that does not parse is a
 *   torn append from a crash: it is dropped (and cut away by the next save),
 *   never misread. A last line that parses but lacks its "\n" is kept, and
 *   the next save ends it before appending.
 * - `save()` takes the file stores' lock (`<path>.lock`, with stale-lock
 *   recovery), so parallel writers lose nothing; interactions already stored
 *   are not appended again (counted as a multiset, ADR 0016).
 * - `save(cassette, { replace: true })` and `compact()` write the snapshot
 *   atomically (temporary file, flush, rename) and then remove the journal;
 *   a crash between the two neither loses nor duplicates (ADR 0040).
 *
 * Deno permissions: `--allow-read` and `--allow-write` for the cassette's
 * folder (the journal, lock, marker and temporary files live beside it).
 * Optionally `--allow-sys=hostname` and `--allow-run`, which let a waiting
 * writer see at once that a lock's holder has exited.
 *
 * @param path The snapshot file (JSON), as a path or a `file:` URL.
 * @param options `createIfMissing` and locking options.
 * @returns The store.
 * @throws {RangeError} When `path` names a YAML file (the journal store is
 * JSON only), or an option is out of range.
 * @throws {TypeError} When `path` is neither a non-empty string nor a `file:` URL.
 *
 * Its `load()` throws `CassetteLoadError` for a missing snapshot without
 * `createIfMissing`, invalid content, or a bad journal line that is not the
 * last (the message names the line); its `save()` and `compact()` throw
 * `CassetteSaveError`.
 *
 * @example Record, append, compact
 * ```ts
 * import { createRequest, journalStore, openBroker } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, readFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "replay-")), "weather.json");
 * const store = journalStore(path, { createIfMissing: true });
 * const recorder = openBroker(store, { mode: "auto", liveResponder: () => ["sunny"] });
 * [...recorder.replay(createRequest({ protocol: "http", action: "GET", target: "/a" }))];
 * [...recorder.replay(createRequest({ protocol: "http", action: "GET", target: "/b" }))];
 * assert.equal(readFileSync(`${path}.journal`, "utf8").split("\n").length, 3);
 *
 * store.compact();
 * assert.equal(JSON.parse(readFileSync(path, "utf8")).interactions.length, 2);
 * assert.equal(journalStore(path).load().interactions.length, 2);
 * ```
 */
export function journalStore(
  path: string | URL,
  options?: JournalStoreOptions,
): JournalCassetteStore {
  const state = createJournalState(path, options, true);
  const file = state.file.path;
  return Object.freeze({
    ...offloadMember(state.file.reader, state.file.blobThreshold),
    path: file,
    journalPath: state.journalPath,
    load(): Cassette {
      try {
        return runJournalSync(loadJournal(state));
      } catch (error) {
        throw error instanceof CassetteLoadError ? error : new CassetteLoadError(file, error);
      }
    },
    save(cassette: Cassette, options?: SaveOptions): void {
      checkCassette(cassette);
      const replace = replaceOf(options);
      try {
        runJournalSync(
          replace ? rewriteJournal(state, cassette) : appendJournal(state, cassette),
        );
      } catch (error) {
        throw error instanceof CassetteSaveError ? error : new CassetteSaveError(file, error);
      }
    },
    compact(): void {
      try {
        runJournalSync(rewriteJournal(state, undefined));
      } catch (error) {
        throw error instanceof CassetteSaveError ? error : new CassetteSaveError(file, error);
      }
    },
  });
}
