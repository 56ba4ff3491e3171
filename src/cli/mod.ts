#!/usr/bin/env node
/**
 * The `x-replay` command line: serve a cassette over HTTP (a replay server
 * or a recording proxy), inspect it, validate it, convert it between JSON
 * and YAML.
 *
 * Run it with `deno run -A jsr:@x/replay/cli <command>` (the flags it needs:
 * `--allow-read`, `--allow-write` for `convert` and recording, `--allow-env`
 * for YAML, `--allow-net` for `serve`), or after `npm install @x/replay` as
 * `npx x-replay <command>` (Node 20+, or `bunx x-replay`). Use `main()` to run
 * it in-process, e.g. from a test or a build script.
 *
 * @example Validate a cassette from code
 * ```ts
 * import { main } from "@x/replay/cli";
 * import { createCassette, createInteraction, createRequest, stringifyCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const folder = mkdtempSync(join(tmpdir(), "x-replay-"));
 * const request = createRequest({ protocol: "http", action: "GET", target: "/" });
 * writeFileSync(
 *   join(folder, "c.json"),
 *   stringifyCassette(createCassette([createInteraction(request, ["hi"])])),
 * );
 * let text = "";
 * const code = await main(["validate", "c.json"], { cwd: folder, stdout: (t) => void (text += t) });
 * assert.equal(code, 0);
 * assert.equal(text, "c.json: OK, 1 interaction\n");
 * ```
 *
 * @module
 */
import { realpathSync } from "node:fs";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { checkOptions, describe } from "../core/_check.ts";
import { parseCommandArgs } from "./_args.ts";
import type { Command } from "./_command.ts";
import { compactCommand } from "./_compact.ts";
import { convertCommand } from "./_convert.ts";
import { inspectCommand } from "./_inspect.ts";
import { CliFailure, createOutput, oneLine, type Output, usageFailure } from "./_output.ts";
import { serveCommand } from "./_serve.ts";
import { validateCommand } from "./_validate.ts";

/**
 * Where `main()` reads and writes, so it can run in-process with captured
 * output. Everything is optional; the defaults are the process's own.
 *
 * @example Capture the output
 * ```ts
 * import { type CliIo, main } from "@x/replay/cli";
 * import assert from "node:assert/strict";
 *
 * const errors: string[] = [];
 * const io: CliIo = { stdout: () => {}, stderr: (text) => void errors.push(text) };
 * assert.equal(await main(["frobnicate"], io), 2);
 * assert.deepEqual(errors, ['x-replay: unknown command "frobnicate" (see "x-replay --help")\n']);
 * ```
 */
export interface CliIo {
  /**
   * Receives standard output, in pieces; may return a promise, which is awaited.
   *
   * @default {writes to process.stdout}
   */
  readonly stdout?: ((text: string) => void | Promise<void>) | undefined;
  /**
   * Receives standard error (one line per failure), in pieces; may return a promise.
   *
   * @default {writes to process.stderr}
   */
  readonly stderr?: ((text: string) => void | Promise<void>) | undefined;
  /**
   * The folder relative paths are resolved against.
   *
   * @default {process.cwd()}
   */
  readonly cwd?: string | undefined;
  /**
   * Stops `serve`: once aborted, the server closes and `main()` resolves.
   * When given, `serve` does not listen for SIGINT/SIGTERM.
   *
   * @default {undefined (serve stops on SIGINT or SIGTERM)}
   */
  readonly signal?: AbortSignal | undefined;
}

const COMMANDS: readonly Command[] = [
  serveCommand,
  inspectCommand,
  validateCommand,
  convertCommand,
  compactCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return `Usage: x-replay <command> [options]

Record and replay cassettes (@x/replay) from the command line.

Commands:
${COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`).join("\n")}

Options:
  -h, --help  show this help; "x-replay <command> --help" (or "x-replay help <command>")
              describes a command

Cassette formats come from the file extension (.json, .yaml, .yml). A JSON
cassette with a journal beside it (<cassette>.journal, kept by a journalStore)
is read with it: the snapshot's interactions, then the journal's.
Exit codes: 0 success, 1 failure (unreadable or invalid cassette, ...), 2 wrong usage.
`;
}

/**
 * Runs the `x-replay` command line with the given arguments (without the
 * program name) and resolves to the exit code: 0 on success, 1 when the
 * command failed (a file that cannot be read or holds no valid cassette, a
 * cassette with problems, a port in use), 2 for wrong usage. Failures are
 * reported as one line on standard error, never as a stack trace; `main()`
 * itself does not reject for them.
 *
 * Commands: `serve`, `inspect`, `validate`, `convert`, `compact`; `x-replay --help`
 * lists them and `x-replay <command> --help` describes one.
 *
 * @param args The arguments, e.g. `["inspect", "cassette.json", "--json"]`.
 * @param io Output writers, working folder and a stop signal for `serve`;
 * defaults to the process's own.
 * @returns A promise of the exit code.
 * @throws {TypeError} When `args` is not an array of strings, or `io` not an object of the
 * documented members.
 *
 * @example Inspect a cassette as JSON
 * ```ts
 * import { main } from "@x/replay/cli";
 * import {
 *   createCassette,
 *   createChunk,
 *   createInteraction,
 *   createRequest,
 *   stringifyCassette,
 * } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "x-replay-")), "weather.yaml");
 * const request = createRequest({ protocol: "http", action: "GET", target: "/weather" });
 * const cassette = createCassette([
 *   createInteraction(request, [createChunk("sunny", 0, [["status_code", "200"]])]),
 * ]);
 * writeFileSync(path, stringifyCassette(cassette, { format: "yaml" }));
 *
 * let stdout = "";
 * const code = await main(["inspect", path, "--json"], { stdout: (text) => void (stdout += text) });
 * assert.equal(code, 0);
 * assert.deepEqual(JSON.parse(stdout), [{
 *   index: 0,
 *   protocol: "http",
 *   action: "GET",
 *   target: "/weather",
 *   status: "200",
 *   chunks: 1,
 *   bytes: 5,
 *   recorded_at: null,
 * }]);
 * ```
 *
 * @example Serve a cassette over HTTP until aborted
 * ```ts
 * import { main } from "@x/replay/cli";
 * import {
 *   createCassette,
 *   createChunk,
 *   createInteraction,
 *   createRequest,
 *   stringifyCassette,
 * } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync, writeFileSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const path = join(mkdtempSync(join(tmpdir(), "x-replay-")), "api.json");
 * const request = createRequest({
 *   protocol: "http",
 *   action: "GET",
 *   target: "https://api.example.com/v1/status",
 * });
 * const chunk = createChunk("up", 0, [["status_code", "200"]]);
 * writeFileSync(path, stringifyCassette(createCassette([createInteraction(request, [chunk])])));
 *
 * const stop = new AbortController();
 * let announced!: (url: string) => void;
 * const listening = new Promise<string>((resolve) => (announced = resolve));
 * const running = main(["serve", path, "--port", "0"], {
 *   signal: stop.signal,
 *   stdout: (line) => announced(line.replace(/^listening on (.*)\n$/, "$1")),
 * });
 * const url = await listening; // e.g. http://127.0.0.1:43117
 * const response = await fetch(`${url}/v1/status`);
 * assert.equal(await response.text(), "up");
 * stop.abort();
 * assert.equal(await running, 0);
 * ```
 *
 * @example Failures are one line on stderr
 * ```ts
 * import { main } from "@x/replay/cli";
 * import assert from "node:assert/strict";
 *
 * let stderr = "";
 * const code = await main(["inspect", "no-such-file.json"], {
 *   stdout: () => {},
 *   stderr: (text) => void (stderr += text),
 * });
 * assert.equal(code, 1);
 * assert.equal(stderr, 'x-replay: inspect: cannot read "no-such-file.json": no such file\n');
 * ```
 */
export async function main(args: readonly string[], io?: CliIo): Promise<number> {
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === "string")) {
    throw new TypeError("Cannot run x-replay: args must be an array of strings");
  }
  checkIo(io);
  const output = createOutput(io);
  let command: Command | undefined;
  try {
    const [name, ...rest] = args;
    if (name === undefined) throw usageFailure("missing command");
    if (name === "-h" || name === "--help") {
      await output.out(usage());
      return 0;
    }
    if (name === "help") {
      if (rest.length > 1) throw usageFailure(`unexpected argument ${JSON.stringify(rest[1])}`);
      const topic = rest[0] === undefined ? undefined : findCommand(rest[0]);
      await output.out(topic?.help ?? usage());
      return 0;
    }
    command = findCommand(name);
    const parsed = parseCommandArgs(rest, command.options);
    if (parsed.help) {
      await output.out(command.help);
      return 0;
    }
    return await command.run(parsed, output);
  } catch (error) {
    return await fail(output, command?.name, error);
  }
}

function checkIo(io: unknown): void {
  checkOptions(io, "run x-replay", "io");
  const { stdout, stderr, cwd, signal } = (io ?? {}) as Record<string, unknown>;
  for (const [name, value] of [["stdout", stdout], ["stderr", stderr]] as const) {
    if (value !== undefined && typeof value !== "function") {
      throw new TypeError(
        `Cannot run x-replay: io.${name} must be a function, got ${describe(value)}`,
      );
    }
  }
  if (cwd !== undefined && typeof cwd !== "string") {
    throw new TypeError(`Cannot run x-replay: io.cwd must be a string, got ${describe(cwd)}`);
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(
      `Cannot run x-replay: io.signal must be an AbortSignal, got ${describe(signal)}`,
    );
  }
}

function findCommand(name: string): Command {
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (command !== undefined) return command;
  throw usageFailure(
    name.startsWith("-")
      ? `unknown option ${JSON.stringify(name)}`
      : `unknown command ${JSON.stringify(name)}`,
  );
}

/** Reports a failure as one line on stderr and returns its exit code. */
async function fail(output: Output, command: string | undefined, error: unknown): Promise<number> {
  const prefix = command === undefined ? "x-replay: " : `x-replay: ${command}: `;
  if (error instanceof CliFailure) {
    const hint = error.showHelpHint
      ? ` (see "x-replay${command === undefined ? "" : ` ${command}`} --help")`
      : "";
    await output.err(`${prefix}${error.message}${hint}\n`);
    return error.exitCode;
  }
  if (
    error instanceof Error && (error.name === "NotCapable" || error.name === "PermissionDenied")
  ) {
    // Deno's message names the flag to add, e.g. "run again with the --allow-read flag".
    await output.err(`${prefix}${oneLine(error.message)}\n`);
    return 1;
  }
  // A bug or an unforeseen environment failure: still one line, no stack.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  await output.err(`${prefix}unexpected error: ${oneLine(message)}\n`);
  return 1;
}

/**
 * Whether this module is the program being run: `import.meta.main` on Deno
 * and Bun (and newer Node); otherwise the script Node was started with,
 * compared after resolving symlinks (an npm bin is a symlink to this file).
 */
function isMainModule(): boolean {
  const meta = import.meta as ImportMeta & { readonly main?: unknown };
  if (typeof meta.main === "boolean") return meta.main;
  const script = process.argv[1];
  if (script === undefined || !import.meta.url.startsWith("file:")) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isMainModule()) {
  // `x-replay inspect c.json | head -1` closes the pipe early: not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: { code?: unknown }) => {
      process.exit(error.code === "EPIPE" ? 0 : 1);
    });
  }
  process.exit(await main(process.argv.slice(2)));
}
