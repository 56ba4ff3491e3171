// Shared test helpers: temporary folders, request builders, child processes
// run by whatever runtime runs the tests, and the store subjects that the
// conformance suites run against.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  type AsyncCassetteStore,
  type CassetteStore,
  createCassette,
  createRequest,
  fileStore,
  fileStoreAsync,
  type Interaction,
  type InteractionRequest,
  journalStore,
  journalStoreAsync,
  memoryStore,
  type ResponseChunk,
  stringifyCassette,
} from "@x/replay";

const decoder = new TextDecoder();

/** The text of a chunk. */
export function text(chunk: ResponseChunk): string {
  return decoder.decode(chunk.data);
}

/** The texts of chunks. */
export function texts(chunks: readonly ResponseChunk[]): string[] {
  return chunks.map(text);
}

/**
 * The content of interactions as plain data, whether their chunk bytes are in
 * memory or in blob files: what two equal cassettes have in common.
 */
export function contentOf(interactions: readonly Interaction[]): unknown {
  return JSON.parse(stringifyCassette(createCassette(interactions)));
}

/** An HTTP GET request for `target`. */
export function get(target: string): InteractionRequest {
  return createRequest({ protocol: "http", action: "GET", target });
}

/** A fresh temporary folder. */
export function tempFolder(): string {
  return mkdtempSync(join(tmpdir(), "replay-test-"));
}

/** Removes a temporary folder, even one a test made read-only. */
export function removeFolder(path: string): void {
  try {
    chmodSync(path, 0o755);
  } catch {
    // Already gone or never changed.
  }
  rmSync(path, { recursive: true, force: true });
}

/** Runs `body` with a temporary folder that is removed afterwards. */
export async function withFolder<T>(body: (folder: string) => T | Promise<T>): Promise<T> {
  const folder = tempFolder();
  try {
    return await body(folder);
  } finally {
    removeFolder(folder);
  }
}

/** Names in a folder other than the ones given (leftover temporary and lock files). */
export function strayFiles(folder: string, ...expected: string[]): string[] {
  return readdirSync(folder).filter((name) => !expected.includes(name)).sort();
}

const here = dirname(fileURLToPath(import.meta.url));
// The tests run from TypeScript on Deno and Bun, and compiled to JavaScript
// on Node: child scripts have the extension this file has.
const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";

/** The command that runs a script beside this file with the current runtime. */
export function childCommand(script: string): { command: string; args: string[]; cwd: string } {
  const path = join(here, `${script}${extension}`);
  const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
  return {
    command: process.execPath,
    args: deno ? ["run", "-A", path] : [path],
    // Deno finds the import map for "@x/replay" from the project folder.
    cwd: dirname(here),
  };
}

/** What a finished child process left. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a child script to completion; `shellPrefix` runs shell commands
 * before it, `prefix` runs it through another program (`unshare …`).
 */
export function runChild(
  script: string,
  args: readonly string[],
  options?: { readonly shellPrefix?: string; readonly prefix?: readonly string[] },
): Promise<ChildResult> {
  const { command, args: base, cwd } = childCommand(script);
  const [program, ...rest] = [...(options?.prefix ?? []), command, ...base, ...args];
  const child = options?.shellPrefix === undefined
    ? spawn(program!, rest, { cwd, stdio: ["ignore", "pipe", "pipe"] })
    : spawn(
      "/bin/sh",
      ["-c", `${options.shellPrefix}; exec "$0" "$@"`, command, ...base, ...args],
      { cwd, stdio: ["ignore", "pipe", "pipe"] },
    );
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (data: string) => (stdout += data));
  child.stderr.setEncoding("utf8").on("data", (data: string) => (stderr += data));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Either kind of store. */
export type AnyStore = CassetteStore | AsyncCassetteStore;

/** A store implementation under test. */
export interface StoreSubject {
  /** How tests name it, e.g. `fileStore() (.yaml)`. */
  readonly name: string;
  /** Whether its `load()`/`save()` are synchronous. */
  readonly sync: boolean;
  /** A new store over a new, empty backing. */
  readonly fresh: () => AnyStore;
  /** Another store over the same backing, as a second writer would open it. */
  readonly reopen: (store: AnyStore) => AnyStore;
}

const folders: string[] = [];

/** Removes the folders the store subjects created. */
export function cleanUpStores(): void {
  for (const folder of folders.splice(0)) removeFolder(folder);
}

function fileSubject(
  name: string,
  sync: boolean,
  file: string,
  kind: "file" | "journal" = "file",
  blobThreshold?: number,
): StoreSubject {
  const options = { createIfMissing: true, blobThreshold };
  const open = (path: string) =>
    kind === "journal"
      ? (sync ? journalStore(path, options) : journalStoreAsync(path, options))
      : sync
      ? fileStore(path, options)
      : fileStoreAsync(path, options);
  return {
    name,
    sync,
    fresh: () => {
      const folder = tempFolder();
      folders.push(folder);
      return open(join(folder, file));
    },
    reopen: (store) => open((store as { path: string }).path),
  };
}

/** The four file store constructors, by name, for tests that open their own paths. */
export const fileStoreKinds = [
  { name: "fileStore()", open: fileStore },
  { name: "fileStoreAsync()", open: fileStoreAsync },
  { name: "journalStore()", open: journalStore },
  { name: "journalStoreAsync()", open: journalStoreAsync },
] as const;

/** Every built-in store. */
export const storeSubjects: readonly StoreSubject[] = [
  { name: "memoryStore()", sync: true, fresh: () => memoryStore(), reopen: (store) => store },
  fileSubject("fileStore() (.json)", true, "cassette.json"),
  fileSubject("fileStore() (.yaml)", true, "cassette.yaml"),
  fileSubject("fileStore() (.yml)", true, "cassette.yml"),
  fileSubject("fileStoreAsync() (.json)", false, "cassette.json"),
  fileSubject("fileStoreAsync() (.yaml)", false, "cassette.yaml"),
  fileSubject("journalStore()", true, "cassette.json", "journal"),
  fileSubject("journalStoreAsync()", false, "cassette.json", "journal"),
  // Every non-empty chunk in a blob file: the blob layout must behave the same.
  fileSubject("fileStore() with blobs (.json)", true, "cassette.json", "file", 1),
  fileSubject("fileStore() with blobs (.yaml)", true, "cassette.yaml", "file", 1),
  fileSubject("fileStoreAsync() with blobs", false, "cassette.json", "file", 1),
  fileSubject("journalStore() with blobs", true, "cassette.json", "journal", 1),
  fileSubject("journalStoreAsync() with blobs", false, "cassette.json", "journal", 1),
];

/**
 * Forces a full garbage collection where the runtime allows it (Node and Deno
 * through V8's flag, Bun through its own call), so memory tests measure what
 * is still referenced rather than what the collector has not reached yet.
 */
export function collectGarbage(): void {
  const global = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (typeof global.gc === "function") return global.gc();
  if (global.Bun !== undefined) return global.Bun.gc(true);
  setFlagsFromString("--expose-gc");
  (runInNewContext("gc") as () => void)();
}

/** `size` random bytes (getRandomValues fills at most 64 KiB at a time). */
export function randomBytes(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += 65536) {
    crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65536)));
  }
  return bytes;
}

/** SHA-256 of bytes, lowercase hex. */
export function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
