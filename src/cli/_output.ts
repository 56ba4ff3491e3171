// Where the CLI writes, and the one error type its commands throw. Every
// failure reaches the user as one line, so messages are flattened here.
import process from "node:process";

/** A text sink; may return a promise that settles once the text is written. */
export type Writer = (text: string) => void | Promise<void>;

/** What a command may touch besides its arguments. */
export interface Output {
  /** Writes to standard output. */
  readonly out: (text: string) => Promise<void>;
  /** Writes to standard error. */
  readonly err: (text: string) => Promise<void>;
  /** The folder relative paths are resolved against. */
  readonly cwd: string;
  /** Stops `serve`; `undefined` means SIGINT/SIGTERM do. */
  readonly signal: AbortSignal | undefined;
}

/**
 * A failure the user caused or can fix: a usage mistake (exit code 2) or a
 * file that cannot be used (exit code 1). Its message is one line, without
 * the `x-replay: command:` prefix.
 */
export class CliFailure extends Error {
  /** The process exit code. */
  readonly exitCode: 1 | 2;
  /** Whether to point at the command's `--help`. */
  readonly showHelpHint: boolean;

  constructor(message: string, exitCode: 1 | 2, options?: ErrorOptions) {
    super(oneLine(message), options);
    this.name = "CliFailure";
    this.exitCode = exitCode;
    this.showHelpHint = exitCode === 2;
  }
}

/** A usage mistake: exit code 2. */
export function usageFailure(message: string): CliFailure {
  return new CliFailure(message, 2);
}

/** Collapses a message to one line: the CLI never prints multi-line errors. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/** Writes to a Node stream, settling once the text is handed to the system. */
function streamWriter(stream: {
  write(text: string, callback: (error?: Error | null) => void): boolean;
}): Writer {
  return (text) =>
    new Promise<void>((resolve) => {
      // A closed pipe (`x-replay inspect c.json | head -1`) is not our
      // failure; the entry point ends the process quietly on EPIPE.
      stream.write(text, () => resolve());
    });
}

/** Builds the output from the caller's writers, defaulting to the process's streams. */
export function createOutput(
  io: {
    readonly stdout?: Writer | undefined;
    readonly stderr?: Writer | undefined;
    readonly cwd?: string | undefined;
    readonly signal?: AbortSignal | undefined;
  } | undefined,
): Output {
  const stdout = io?.stdout ?? streamWriter(process.stdout);
  const stderr = io?.stderr ?? streamWriter(process.stderr);
  let cwd = io?.cwd;
  return {
    out: async (text) => await stdout(text),
    err: async (text) => await stderr(text),
    // Read when first needed: on Deno it needs read permission, and a
    // failure must surface inside a command, as one line.
    get cwd(): string {
      return cwd ??= process.cwd();
    },
    signal: io?.signal,
  };
}
