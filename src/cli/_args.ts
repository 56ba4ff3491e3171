// Argument parsing with node:util's parseArgs (the same on Deno, Node and
// Bun), strict, with its errors rewritten as one short line that does not
// depend on the runtime's wording.
import { parseArgs } from "node:util";
import { usageFailure } from "./_output.ts";

/** One option a command accepts. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** Whether it may be given several times (its value is then an array). */
  readonly multiple?: boolean;
}

/** A command's options, by long name. */
export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** An option's parsed value. */
export type OptionValue = string | boolean | readonly string[] | undefined;

/** What parsing found. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, OptionValue>>;
  readonly positionals: readonly string[];
  readonly help: boolean;
}

const HELP: OptionSpecs = { help: { type: "boolean", short: "h" } };

/**
 * Parses a command's arguments; every command also takes `-h`/`--help`.
 * Throws a usage failure for an unknown option, a missing value or a value
 * given to a flag.
 */
export function parseCommandArgs(args: readonly string[], options: OptionSpecs): ParsedArgs {
  const config = { ...options, ...HELP };
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: config, allowPositionals: true, strict: true });
  } catch (error) {
    const tokens = lenientTokens(args, config);
    // `x-replay inspect --bogus --help` asks for help: give it.
    if (tokens.some((token) => token.kind === "option" && token.name === "help")) {
      return { values: {}, positionals: [], help: true };
    }
    throw usageFailure(explain(tokens, config, error));
  }
  const { help, ...values } = parsed.values as Record<string, OptionValue>;
  return { values, positionals: parsed.positionals, help: help === true };
}

type Token = ReturnType<typeof lenientTokens>[number];

/** The arguments as parseArgs sees them without judging them. */
function lenientTokens(args: readonly string[], config: OptionSpecs) {
  return parseArgs({
    args: [...args],
    options: config,
    allowPositionals: true,
    strict: false,
    tokens: true,
  }).tokens;
}

/** Says what strict parsing rejected, from the lenient parse's tokens. */
function explain(tokens: readonly Token[], config: OptionSpecs, error: unknown): string {
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    // Own names only: `--toString` is not an option because every object has one.
    const spec = Object.hasOwn(config, token.name) ? config[token.name] : undefined;
    if (spec === undefined) return `unknown option ${JSON.stringify(token.rawName)}`;
    if (
      spec.type === "string" &&
      (token.value === undefined || (!token.inlineValue && token.value.startsWith("-")))
    ) {
      return `option ${token.rawName} needs a value`;
    }
    if (spec.type === "boolean" && token.value !== undefined) {
      return `option ${token.rawName} takes no value`;
    }
  }
  // Not expected: parseArgs rejected something the tokens do not show.
  return error instanceof Error ? error.message : String(error);
}

/** The positionals, which must be exactly the named ones. */
export function takePositionals(
  positionals: readonly string[],
  names: readonly string[],
): string[] {
  if (positionals.length < names.length) {
    return failMissing(names.slice(positionals.length));
  }
  if (positionals.length > names.length) {
    throw usageFailure(
      `unexpected argument ${JSON.stringify(positionals[names.length])}`,
    );
  }
  return [...positionals];
}

function failMissing(missing: readonly string[]): never {
  throw usageFailure(
    `missing ${missing.map((name) => `<${name}>`).join(" and ")} argument${
      missing.length === 1 ? "" : "s"
    }`,
  );
}

/** The allowed values as a message lists them: `"a", "b" or "c"`. */
export function alternatives(allowed: readonly string[]): string {
  return allowed.map((item) => JSON.stringify(item)).join(", ").replace(/, ([^,]*)$/, " or $1");
}

/** A string option restricted to a few values. */
export function choice<T extends string>(
  value: OptionValue,
  flag: string,
  allowed: readonly T[],
): T | undefined {
  if (typeof value !== "string") return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw usageFailure(`${flag} must be ${alternatives(allowed)}, got ${JSON.stringify(value)}`);
}

/**
 * A blob threshold, a whole number of bytes >= 1, or `undefined`: the text
 * of `--blob-threshold`, or a number from `serve`'s config file (`where`
 * names it in the message).
 */
export function blobThresholdOption(
  value: unknown,
  where = "--blob-threshold",
): number | undefined {
  if (value === undefined) return undefined;
  const bytes = typeof value === "number"
    ? value
    : typeof value === "string" && /^[1-9][0-9]*$/.test(value)
    ? Number(value)
    : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1) {
    throw usageFailure(
      `${where} must be a whole number of bytes >= 1, got ${JSON.stringify(value)}`,
    );
  }
  return bytes;
}
