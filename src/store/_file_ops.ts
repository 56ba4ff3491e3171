// The file-system steps of loading and saving, as data. The procedures in
// _file_procedures.ts are generators that yield these steps; _file_run.ts
// performs them either synchronously or with promises (ADR 0017), so the
// delicate locking and merging logic exists once for both store twins.
import type { InteractionRequest, ResponseChunk } from "../core/types.ts";

/** One step a procedure asks its driver to perform. */
export type FileOp =
  /**
   * The file's UTF-8 text; throws the system error (ENOENT, …), or a refusal
   * (ADR 0042) when the path is not a regular file, or is a link and
   * `follow` is false.
   */
  | { readonly kind: "read"; readonly path: string; readonly follow: boolean }
  /** `{ mtimeMs, mode }`, or `undefined` when the path does not exist. */
  | { readonly kind: "stat"; readonly path: string }
  /** Creates a folder and its parents. */
  | { readonly kind: "mkdirp"; readonly path: string }
  /** Creates a file that must not exist yet: `true`, or `false` when it exists. */
  | { readonly kind: "create"; readonly path: string; readonly text: string }
  /**
   * Creates a new file with `text` (or its pieces, written one after
   * another), flushed to the device before returning.
   */
  | {
    readonly kind: "writeDurable";
    readonly path: string;
    readonly text: string | Iterable<string>;
    readonly mode: number | undefined;
  }
  /** Renames over `to`: `true`, or `false` when `from` does not exist. */
  | { readonly kind: "rename"; readonly from: string; readonly to: string }
  /** Hard-links `from` as `to` if `to` is free: `true` on success, `false` otherwise. */
  | { readonly kind: "link"; readonly from: string; readonly to: string }
  /** Removes a file if it exists; never throws, because it only ever cleans up. */
  | { readonly kind: "discard"; readonly path: string }
  /** The names in a folder. */
  | { readonly kind: "list"; readonly path: string }
  /** Flushes a folder's entries (a rename) to the device; best effort. */
  | { readonly kind: "syncFolder"; readonly path: string }
  /** Waits. */
  | { readonly kind: "sleep"; readonly milliseconds: number }
  /**
   * Writes a chunk's bytes, or a request's body, as the blob `folder/sha256`
   * unless it is there (ADR 0041).
   */
  | {
    readonly kind: "writeBlob";
    readonly folder: string;
    readonly sha256: string;
    readonly holder: ResponseChunk | InteractionRequest;
  };

/** A procedure: yields steps, receives their results, returns `T`. */
export type Procedure<T> = Generator<FileOp, T, unknown>;

/** File status as the procedures need it. */
export interface FileStatus {
  readonly mtimeMs: number;
  readonly mode: number;
}

/** The system error code of an error, if any. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

export function* readText(path: string): Procedure<string> {
  return (yield { kind: "read", path, follow: true }) as string;
}

/** The file's text, or `undefined` when it does not exist; `follow: false` refuses a link. */
export function* readIfExists(path: string, follow = true): Procedure<string | undefined> {
  try {
    return (yield { kind: "read", path, follow }) as string;
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

export function* stat(path: string): Procedure<FileStatus | undefined> {
  return (yield { kind: "stat", path }) as FileStatus | undefined;
}

export function* mkdirp(path: string): Procedure<void> {
  yield { kind: "mkdirp", path };
}

export function* createExclusive(path: string, text: string): Procedure<boolean> {
  return (yield { kind: "create", path, text }) as boolean;
}

export function* writeDurable(
  path: string,
  text: string | Iterable<string>,
  mode: number | undefined,
): Procedure<void> {
  yield { kind: "writeDurable", path, text, mode };
}

export function* rename(from: string, to: string): Procedure<boolean> {
  return (yield { kind: "rename", from, to }) as boolean;
}

export function* link(from: string, to: string): Procedure<boolean> {
  return (yield { kind: "link", from, to }) as boolean;
}

export function* discard(path: string): Procedure<void> {
  yield { kind: "discard", path };
}

export function* list(path: string): Procedure<readonly string[]> {
  return (yield { kind: "list", path }) as readonly string[];
}

export function* syncFolder(path: string): Procedure<void> {
  yield { kind: "syncFolder", path };
}

export function* sleep(milliseconds: number): Procedure<void> {
  yield { kind: "sleep", milliseconds };
}

export function* writeBlobs(
  folder: string,
  blobs: readonly {
    readonly sha256: string;
    readonly holder: ResponseChunk | InteractionRequest;
  }[],
): Procedure<void> {
  for (const { sha256, holder } of blobs) yield { kind: "writeBlob", folder, sha256, holder };
}
