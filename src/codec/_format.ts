import { extname } from "node:path";
import type { CassetteFormat } from "../core/types.ts";
import { describe } from "../core/_check.ts";

/** Checks a `format` option. */
export function checkFormat(format: unknown, action: string): CassetteFormat {
  if (format === undefined || format === "json") return "json";
  if (format === "yaml") return "yaml";
  throw new RangeError(
    `Cannot ${action} cassette: format must be "json" or "yaml", got ${describe(format)}`,
  );
}

/** The format a file's extension names (`.json`, `.yaml`, `.yml`), if any. */
export function formatFromExtension(path: string): CassetteFormat | undefined {
  switch (extname(path).toLowerCase()) {
    case ".json":
      return "json";
    case ".yaml":
    case ".yml":
      return "yaml";
    default:
      return undefined;
  }
}
