import type { CassetteFormat } from "./types.ts";

/** Checks a `format` option. */
export function checkFormat(format: unknown, action: string): CassetteFormat {
  if (format === undefined || format === "json") return "json";
  if (format === "yaml") return "yaml";
  throw new RangeError(
    `Cannot ${action} cassette: format must be "json" or "yaml", got ${JSON.stringify(format)}`,
  );
}
