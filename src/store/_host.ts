// Who we are, for lock files and temporary file names. Deno denies the host
// name without --allow-sys=hostname and process signals without --allow-run;
// both degrade to "unknown", and lock recovery then falls back to age alone.
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import process from "node:process";

function readHostName(): string | undefined {
  try {
    return hostname();
  } catch {
    return undefined;
  }
}

/** This machine's host name, or `undefined` when it may not be read. */
export const HOST_NAME: string | undefined = readHostName();

/** Eight hex characters naming this host in file names; `nohost` when unknown. */
export const HOST_TAG: string = HOST_NAME === undefined
  ? "nohost"
  : createHash("sha256").update(HOST_NAME).digest("hex").slice(0, 8);

/**
 * Whether a process of this host is running: `false` only when the system
 * says it does not exist, `undefined` when we may not ask.
 */
export function processAlive(pid: number): boolean | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ESRCH") return false;
    // EPERM: it exists but belongs to someone else.
    if (code === "EPERM") return true;
    return undefined;
  }
}
