// The checks every store's `save()` shares.
import { checkOptions, describe } from "../core/_check.ts";

/** Whether a `save()` replaces the stored cassette; throws `TypeError` for bad options. */
export function replaceOf(options: unknown): boolean {
  checkOptions(options, "save cassette");
  const replace = (options as { replace?: unknown } | undefined)?.replace;
  if (replace !== undefined && typeof replace !== "boolean") {
    throw new TypeError(
      `Cannot save cassette: options.replace must be a boolean, got ${describe(replace)}`,
    );
  }
  return replace === true;
}
