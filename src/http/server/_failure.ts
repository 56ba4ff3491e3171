// Failure answers: a title line then JSON, as the miss explanation. What an
// HTTP client may read names files relative to the cassette's folder and
// nothing about the machine (ADR 0037); the server's log gets the error whole.
import { basename, dirname, isAbsolute } from "node:path";
import {
  BlobError,
  CassetteLoadError,
  CassetteLockError,
  CassetteSaveError,
} from "../../core/errors.ts";

const TEXT = "text/plain; charset=utf-8";
const DETAILS = "the server's log has the details";

/** A file path as a client may see it: the name inside the cassette's folder. */
function relative(path: string): string {
  return basename(path);
}

/** A blob path as a client may see it: `<cassette>.blobs/<sha256>`. */
function relativeBlob(path: string): string {
  return `${basename(dirname(path))}/${basename(path)}`;
}

function blobMessage(error: BlobError): string {
  const what = error.reason === "missing"
    ? "the file does not exist"
    : error.reason === "corrupt"
    ? "its size or bytes do not match its name"
    : `it cannot be read (${DETAILS})`;
  return `Cannot read blob "${relativeBlob(error.path)}": ${what}`;
}

/** A cause's message fit for a client, or `undefined` when only the log should have it. */
function causeMessage(cause: unknown): string | undefined {
  if (cause instanceof BlobError) return blobMessage(cause);
  if (cause instanceof CassetteLockError) return lockMessage(cause);
  return undefined;
}

function lockMessage(error: CassetteLockError): string {
  return `Cannot lock cassette: "${
    relative(error.lockPath)
  }" is still held after waiting ${error.waited} ms (${DETAILS})`;
}

/** Absolute file paths that system errors in the cause chain name (`error.path`). */
function systemPaths(error: unknown): string[] {
  const paths: string[] = [];
  for (let at = error, depth = 0; at instanceof Error && depth < 8; depth++) {
    const path = (at as { path?: unknown }).path;
    if (typeof path === "string" && isAbsolute(path)) paths.push(path);
    at = at.cause;
  }
  return paths;
}

/**
 * The error's name and a message fit for an HTTP client: blob and cassette
 * files by their names relative to the cassette's folder, without sizes,
 * hashes or system messages about them (a blob may be a link to anywhere).
 */
export function publicError(error: unknown): { readonly name: string; readonly message: string } {
  const name = error instanceof Error ? error.name : typeof error;
  if (error instanceof BlobError) return { name, message: blobMessage(error) };
  if (error instanceof CassetteLockError) return { name, message: lockMessage(error) };
  if (error instanceof CassetteSaveError || error instanceof CassetteLoadError) {
    const verb = error instanceof CassetteSaveError ? "save cassette to" : "load cassette from";
    const file = error.path === undefined ? "" : ` "${relative(error.path)}"`;
    const cause = causeMessage(error.cause);
    return {
      name,
      message: `Cannot ${verb}${file}${cause === undefined ? ` (${DETAILS})` : `: ${cause}`}`,
    };
  }
  let message = error instanceof Error ? error.message : String(error);
  for (const path of systemPaths(error)) message = message.replaceAll(path, relative(path));
  return { name, message };
}

/** A failure answer: `title`, a newline, then `{ error, name, message, ...extra }` as JSON. */
export function failure(
  status: number,
  title: string,
  error: unknown,
  extra?: Readonly<Record<string, unknown>>,
): Response {
  const detail = { error: title, ...publicError(error), ...extra };
  return new Response(`${title}\n${JSON.stringify(detail, null, 2)}\n`, {
    status,
    headers: { "content-type": TEXT },
  });
}
