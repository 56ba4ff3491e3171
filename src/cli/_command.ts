// The shape every subcommand has: its options, its help text and what it does.
import type { OptionSpecs, ParsedArgs } from "./_args.ts";
import type { Output } from "./_output.ts";

/** A subcommand of `x-replay`. */
export interface Command {
  /** The word that selects it. */
  readonly name: string;
  /** One line for the command list in `x-replay --help`. */
  readonly summary: string;
  /** Its `--help` text, ending with a newline. */
  readonly help: string;
  /** Its options, besides `-h`/`--help`. */
  readonly options: OptionSpecs;
  /** Runs it; resolves to the exit code. Throws `CliFailure` for usage mistakes and bad files. */
  readonly run: (args: ParsedArgs, output: Output) => Promise<number>;
}
