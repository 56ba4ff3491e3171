// Running the x-replay command line in-process, for the CLI tests.
import assert from "node:assert/strict";
import { type CliIo, main } from "@x/replay/cli";

/** What one in-process run printed. */
export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `main()` to its end with captured output. */
export async function run(
  args: readonly string[],
  io?: Omit<CliIo, "stdout" | "stderr">,
): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, {
    ...io,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { code, stdout, stderr };
}

/** Asserts a failure: the exit code and exactly one line on stderr, nothing on stdout. */
export function assertOneLineFailure(result: Run, code: number, line: string | RegExp): void {
  assert.equal(result.code, code, `exit code of ${JSON.stringify(result)}`);
  assert.equal(result.stdout, "");
  assert.ok(result.stderr.endsWith("\n"), `stderr ends with a newline: ${result.stderr}`);
  const lines = result.stderr.slice(0, -1).split("\n");
  assert.equal(lines.length, 1, `one line on stderr: ${result.stderr}`);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
  if (typeof line === "string") assert.equal(lines[0], line);
  else assert.match(lines[0]!, line);
}

/** A running `x-replay serve`, started in-process. */
export interface RunningServe {
  /** Its base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Stops it; resolves to its exit code. */
  readonly stop: () => Promise<number>;
}

/** Runs `main()` in-process until its first stdout line; `stop()` ends it. */
export async function startServe(args: readonly string[], cwd: string): Promise<RunningServe> {
  const controller = new AbortController();
  let stdout = "";
  let stderr = "";
  let announce!: () => void;
  const announced = new Promise<void>((resolve) => (announce = resolve));
  const running = main(["serve", ...args], {
    cwd,
    signal: controller.signal,
    stdout: (text) => {
      stdout += text;
      if (stdout.includes("\n")) announce();
    },
    stderr: (text) => void (stderr += text),
  });
  const code = await Promise.race([announced.then(() => undefined), running]);
  assert.equal(code, undefined, `serve ended early: ${stderr}`);
  const found = /^listening on (http:\/\/127\.0\.0\.1:(\d+))\n$/.exec(stdout);
  assert.ok(found, `one "listening on" line: ${JSON.stringify(stdout)}`);
  assert.notEqual(found[2], "0");
  return {
    url: found[1]!,
    stdout: () => stdout,
    stderr: () => stderr,
    stop: () => {
      controller.abort();
      return running;
    },
  };
}

/** Serves in-process, runs `body`, and always stops (expecting exit code 0). */
export async function serving<T>(
  args: readonly string[],
  folder: string,
  body: (server: RunningServe) => Promise<T>,
): Promise<T> {
  const server = await startServe(args, folder);
  try {
    return await body(server);
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
}
