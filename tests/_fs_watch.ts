// Watching the stores' own node:fs calls from a test, to act at one exact
// point of a save (another writer appending, a lock changing hands). Node's
// module.syncBuiltinESMExports() carries a patched `fs` function into every
// named import of it, the library's included; Deno and Bun have no such
// thing, so tests that need it run on Node only.
import fs, { renameSync as importedRename } from "node:fs";
import module from "node:module";

function probe(): boolean {
  const original = fs.renameSync;
  const marker = ((..._: unknown[]) => undefined) as unknown as typeof fs.renameSync;
  try {
    fs.renameSync = marker;
    module.syncBuiltinESMExports?.();
    return importedRename === marker;
  } catch {
    return false;
  } finally {
    fs.renameSync = original;
    module.syncBuiltinESMExports?.();
  }
}

/** Whether the stores' file calls can be watched here (Node only). */
export const fileCallsWatchable: boolean = probe();

/** What a test is told of, each just before the call is made (`closedRead` just after). */
export interface FileCallHooks {
  /** `open()` / `openSync()` of `path` with `flags` as given. */
  readonly opening?: (path: string, flags: unknown) => void;
  /** `rename()` / `renameSync()` from `from`. */
  readonly renaming?: (from: string) => void;
  /** A file opened for reading only has been closed. */
  readonly closedRead?: (path: string) => void;
}

function readOnly(flags: unknown): boolean {
  if (flags === undefined || flags === "r") return true;
  return typeof flags === "number" && (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) === 0;
}

type AnyFunction = (...args: unknown[]) => unknown;

/** Runs `body` with the sync and promise forms of open, close and rename watched. */
export async function watchFileCalls(
  hooks: FileCallHooks,
  body: () => Promise<void>,
): Promise<void> {
  const originals = {
    openSync: fs.openSync,
    closeSync: fs.closeSync,
    renameSync: fs.renameSync,
    open: fs.promises.open,
    rename: fs.promises.rename,
  };
  const readers = new Map<number, string>();
  fs.openSync = ((path: fs.PathLike, flags?: fs.OpenMode, ...rest: unknown[]) => {
    hooks.opening?.(String(path), flags);
    const descriptor = (originals.openSync as AnyFunction)(path, flags, ...rest) as number;
    if (readOnly(flags)) readers.set(descriptor, String(path));
    return descriptor;
  }) as typeof fs.openSync;
  fs.closeSync = ((descriptor: number) => {
    originals.closeSync(descriptor);
    const path = readers.get(descriptor);
    readers.delete(descriptor);
    if (path !== undefined) hooks.closedRead?.(path);
  }) as typeof fs.closeSync;
  fs.renameSync = ((from: fs.PathLike, to: fs.PathLike) => {
    hooks.renaming?.(String(from));
    return originals.renameSync(from, to);
  }) as typeof fs.renameSync;
  fs.promises.open = (async (path: fs.PathLike, flags?: string | number, ...rest: unknown[]) => {
    hooks.opening?.(String(path), flags);
    const handle = await (originals.open as AnyFunction)(
      path,
      flags,
      ...rest,
    ) as fs.promises.FileHandle;
    if (readOnly(flags)) {
      const close = handle.close.bind(handle);
      handle.close = async () => {
        await close();
        hooks.closedRead?.(String(path));
      };
    }
    return handle;
  }) as typeof fs.promises.open;
  fs.promises.rename = ((from: fs.PathLike, to: fs.PathLike) => {
    hooks.renaming?.(String(from));
    return originals.rename(from, to);
  }) as typeof fs.promises.rename;
  module.syncBuiltinESMExports();
  try {
    await body();
  } finally {
    Object.assign(fs, {
      openSync: originals.openSync,
      closeSync: originals.closeSync,
      renameSync: originals.renameSync,
    });
    Object.assign(fs.promises, { open: originals.open, rename: originals.rename });
    module.syncBuiltinESMExports();
  }
}
