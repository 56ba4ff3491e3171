// Opening the files a store names without being led elsewhere (ADR 0042). A
// cassette folder usually comes from a git checkout, and git stores links: a
// store reads through a link to a regular file, but never writes or deletes
// through one, and never reads what is not a regular file (a link to
// /dev/zero or to a named pipe would hang a load).
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  type Stats,
} from "node:fs";
import { type FileHandle, lstat, mkdir, open } from "node:fs/promises";
import { errorCode } from "./_file_ops.ts";

/** The code of the error for a name that is a link where the store will not follow one. */
export const LINK_REFUSED = "ERR_REPLAY_LINK";
/** The code of the error for a name that is not a regular file (or folder) where one must be. */
export const KIND_REFUSED = "ERR_REPLAY_NOT_REGULAR";

// O_NOFOLLOW makes the check and the open one step on POSIX systems, but it
// is not enough alone: Deno, when not given all permissions, resolves a path
// (links included) before opening it, so the flag never sees the link. An
// lstat before the open, and a comparison of what was opened with what the
// name is after it, hold on every runtime and system.
const NO_FOLLOW: number = constants.O_NOFOLLOW ?? 0;
// Opening a named pipe for reading would wait for a writer; non-blocking, it
// opens at once and the file-type check below refuses it. No effect on files.
const READ: number = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);
const APPEND: number = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;

function kindOf(status: Stats): string {
  if (status.isSymbolicLink()) return "a symbolic link";
  if (status.isDirectory()) return "a folder";
  if (status.isFIFO()) return "a named pipe";
  if (status.isSocket()) return "a socket";
  if (status.isCharacterDevice() || status.isBlockDevice()) return "a device";
  return "not a regular file";
}

function refused(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/** The error for a link the store will not follow. */
export function linkRefused(path: string, doing: string): Error {
  return refused(
    LINK_REFUSED,
    `"${path}" is a symbolic link; the store does not ${doing} through links`,
  );
}

function kindRefused(path: string, status: Stats, expected: string): Error {
  // A folder keeps the system's own code, which callers already know.
  const code = status.isDirectory() ? "EISDIR" : KIND_REFUSED;
  return refused(code, `"${path}" is ${kindOf(status)}, not ${expected}`);
}

function checkRegular(path: string, status: Stats): void {
  if (!status.isFile()) throw kindRefused(path, status, "a regular file");
}

/** The entry at `path` itself (a link is not followed), or `undefined` when there is none. */
export function lstatIfExists(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

/** The asynchronous twin of `lstatIfExists()`. */
export async function lstatIfExistsAsync(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (errorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

function translate(error: unknown, path: string, follow: boolean, doing: string): unknown {
  // With O_NOFOLLOW, ELOOP means the last name is a link.
  return !follow && errorCode(error) === "ELOOP" ? linkRefused(path, doing) : error;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Refuses an opened file that `path` does not name now (`now` from lstat, after the open). */
function checkName(path: string, opened: Stats, now: Stats | undefined, doing: string): void {
  if (now === undefined || now.isSymbolicLink() || !sameFile(now, opened)) {
    throw linkRefused(path, doing);
  }
}

/**
 * Opens the regular file at `path` with `flags`. With `follow`, a link to a
 * regular file is opened; without, a link is refused with `LINK_REFUSED`
 * before anything is opened or created through it.
 */
function openRegularSync(path: string, flags: number, follow: boolean, doing: string): number {
  if (!follow && lstatIfExists(path)?.isSymbolicLink() === true) throw linkRefused(path, doing);
  let descriptor: number;
  try {
    descriptor = openSync(path, flags | (follow ? 0 : NO_FOLLOW));
  } catch (error) {
    throw translate(error, path, follow, doing);
  }
  try {
    const opened = fstatSync(descriptor);
    checkRegular(path, opened);
    if (!follow) checkName(path, opened, lstatIfExists(path), doing);
  } catch (error) {
    closeSync(descriptor);
    throw error;
  }
  return descriptor;
}

/** The asynchronous twin of `openRegularSync()`. */
async function openRegular(
  path: string,
  flags: number,
  follow: boolean,
  doing: string,
): Promise<FileHandle> {
  if (!follow && (await lstatIfExistsAsync(path))?.isSymbolicLink() === true) {
    throw linkRefused(path, doing);
  }
  let handle: FileHandle;
  try {
    handle = await open(path, flags | (follow ? 0 : NO_FOLLOW));
  } catch (error) {
    throw translate(error, path, follow, doing);
  }
  try {
    const opened = await handle.stat();
    checkRegular(path, opened);
    if (!follow) checkName(path, opened, await lstatIfExistsAsync(path), doing);
  } catch (error) {
    await handle.close();
    throw error;
  }
  return handle;
}

/**
 * Opens a regular file for reading. With `follow`, a link to a regular file
 * is read; without, a link is refused with `LINK_REFUSED`.
 */
export function openReadSync(path: string, follow: boolean): number {
  return openRegularSync(path, READ, follow, "read");
}

/** The asynchronous twin of `openReadSync()`. */
export function openRead(path: string, follow: boolean): Promise<FileHandle> {
  return openRegular(path, READ, follow, "read");
}

/**
 * Opens a regular file for appending, creating it; a link is refused with
 * `LINK_REFUSED` before anything is opened or created through it.
 */
export function openAppendSync(path: string): number {
  return openRegularSync(path, APPEND, false, "write");
}

/** The asynchronous twin of `openAppendSync()`. */
export function openAppend(path: string): Promise<FileHandle> {
  return openRegular(path, APPEND, false, "write");
}

/**
 * Makes sure `path` is a real folder the store may write into, creating it
 * (and its parents) when missing; a link or a file there is refused.
 */
export function realFolderSync(path: string, doing: string): void {
  let status = lstatIfExists(path);
  if (status === undefined) {
    mkdirSync(path, { recursive: true });
    status = lstatSync(path);
  }
  checkFolder(path, status, doing);
}

/** The asynchronous twin of `realFolderSync()`. */
export async function realFolder(path: string, doing: string): Promise<void> {
  let status = await lstatIfExistsAsync(path);
  if (status === undefined) {
    await mkdir(path, { recursive: true });
    status = await lstat(path);
  }
  checkFolder(path, status, doing);
}

/** Throws unless `status` (from lstat) is a real folder. */
export function checkFolder(path: string, status: Stats, doing: string): void {
  if (status.isSymbolicLink()) throw linkRefused(path, doing);
  if (!status.isDirectory()) throw kindRefused(path, status, "a folder");
}
