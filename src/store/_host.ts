// Who we are, for lock files and temporary file names (ADR 0015). A process
// id alone is no identity: in a container every run is PID 1 on the same
// host name, and a crashed writer's PID is soon somebody else's. On Linux,
// the kernel's boot id, the PID namespace and the process start time make
// one that survives reuse. Deno may deny each fact (the host name without
// --allow-sys=hostname, /proc without --allow-read, signals without
// --allow-run); it is then unknown, never prompted for, and lock recovery
// falls back to what is known, in the end to age alone.
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { hostname } from "node:os";
import process from "node:process";
import { threadId } from "node:worker_threads";

type Permission = { name: "sys"; kind: "hostname" } | { name: "read"; path: string };
interface DenoPermissions {
  readonly permissions?: {
    querySync?(descriptor: Permission): { readonly state: string };
  };
}

// Deno asks the user at a terminal for a permission it was not given; a
// library must not, so it looks first.
function granted(descriptor: Permission): boolean {
  const deno = (globalThis as { Deno?: DenoPermissions }).Deno;
  const query = deno?.permissions?.querySync;
  if (query === undefined) return true;
  try {
    return query.call(deno!.permissions, descriptor).state === "granted";
  } catch {
    return false;
  }
}

function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function readProc(path: string): string | undefined {
  if (process.platform !== "linux" || !granted({ name: "read", path })) return undefined;
  return attempt(() => readFileSync(path, "latin1"));
}

/** This machine's host name, or `undefined` when it may not be read. */
export const HOST_NAME: string | undefined = granted({ name: "sys", kind: "hostname" })
  ? attempt(hostname)
  : undefined;

/** Eight hex characters naming a host in file names; `nohost` when unknown. */
export function hostTag(name: string | null | undefined): string {
  return name === undefined || name === null
    ? "nohost"
    : createHash("sha256").update(name).digest("hex").slice(0, 8);
}

/** This host's `hostTag()`. */
export const HOST_TAG: string = hostTag(HOST_NAME);

/**
 * A process's start time in clock ticks since boot (field 22 of
 * `/proc/<pid>/stat`), or `undefined` when it cannot be read.
 */
export function processStart(pid: number | "self"): string | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may hold anything.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = fields[19];
  return start !== undefined && /^\d+$/.test(start) ? start : undefined;
}

/** What a lock file says about the process and thread that holds it. */
export interface ProcessIdentity {
  readonly pid: number;
  /** The host name, when it may be read. */
  readonly host: string | undefined;
  /** The worker thread (0 for the main thread). */
  readonly thread: number | undefined;
  /** The kernel's boot id, the same for every container on one kernel. */
  readonly boot: string | undefined;
  /** The PID namespace: PIDs compare only within one. */
  readonly pidns: string | undefined;
  /** The start time, which tells a reused PID from the process that held it. */
  readonly start: string | undefined;
}

let self: ProcessIdentity | undefined;

/** This process and thread, read once. */
export function selfIdentity(): ProcessIdentity {
  if (self === undefined) {
    const namespace = process.platform === "linux" &&
        granted({ name: "read", path: "/proc/self/ns/pid" })
      ? attempt(() => String(statSync("/proc/self/ns/pid").ino))
      : undefined;
    self = Object.freeze({
      pid: process.pid,
      host: HOST_NAME,
      thread: typeof threadId === "number" ? threadId : undefined,
      boot: readProc("/proc/sys/kernel/random/boot_id")?.trim() || undefined,
      pidns: namespace,
      start: processStart("self"),
    });
  }
  return self;
}

/**
 * Whether a process of this host is running: `false` only when the system
 * says it does not exist, `undefined` when we may not ask.
 */
export function processAlive(pid: number): boolean | undefined {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
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

/** What can be said of a lock's holder. */
export type Holder =
  /** It is gone (or its PID now belongs to another process): the lock is stale now. */
  | "gone"
  /** It is running: the lock is never taken over. */
  | "running"
  /** It is this thread, which knows whether it holds the lock. */
  | "this thread"
  /** It cannot be asked (another machine, PID namespace or thread): only age tells. */
  | "unknown"
  /** Its PID is running but the process cannot be told from a reuse of the PID. */
  | "unverified";

/** What the holder `other` of a lock is, as seen from `me`. */
export function judgeHolder(other: ProcessIdentity, me: ProcessIdentity): Holder {
  // One kernel: the same boot id where both are known, else the same host name.
  const sameKernel = other.boot !== undefined && me.boot !== undefined
    ? other.boot === me.boot
    : other.host !== undefined && other.host === me.host;
  if (!sameKernel) return "unknown";
  if (other.pidns !== undefined && me.pidns !== undefined && other.pidns !== me.pidns) {
    return "unknown";
  }
  if (other.pid === me.pid) {
    // Without both start times, our PID may be a predecessor's (a container
    // restarted) or a live twin's in a PID namespace we cannot see: age tells.
    if (other.start === undefined || me.start === undefined) return "unknown";
    // Our PID and another start time: a process before us had our PID.
    if (other.start !== me.start) return "gone";
    return other.thread === me.thread ? "this thread" : "unknown";
  }
  const alive = processAlive(other.pid);
  if (alive === false) return "gone";
  if (alive === undefined) return "unknown";
  if (other.start !== undefined && me.start !== undefined) {
    const start = processStart(other.pid);
    if (start !== undefined) return start === other.start ? "running" : "gone";
  }
  return "unverified";
}

const HELD_KEY = Symbol.for("@x/replay/held-locks");

/**
 * The locks this thread holds or is creating now, token to lock file. Kept
 * on `globalThis` so that two copies of the library in one thread share it.
 */
export const HELD_LOCKS: Map<string, string> =
  ((globalThis as Record<symbol, unknown>)[HELD_KEY] ??= new Map<string, string>()) as Map<
    string,
    string
  >;
