// Reading HAR JSON with paths: each helper returns the value checked, or
// throws a HarFormatError that names where it is and what it is.
import { describe } from "../../core/_check.ts";
import type { Pairs } from "../../core/types.ts";
import { HarFormatError } from "./har_format_error.ts";

/** A plain object of HAR JSON. */
export type HarObject = Readonly<Record<string, unknown>>;

/** Whether a value is a JSON object. */
export function isObject(value: unknown): value is HarObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function wrong(path: string, expected: string, value: unknown): never {
  throw new HarFormatError(path, `expected ${expected}, got ${describe(value)}`);
}

/** An object. */
export function object(value: unknown, path: string): HarObject {
  return isObject(value) ? value : wrong(path, "an object", value);
}

/** An array. */
export function array(value: unknown, path: string): readonly unknown[] {
  return Array.isArray(value) ? value : wrong(path, "an array", value);
}

/** A string. */
export function text(value: unknown, path: string): string {
  return typeof value === "string" ? value : wrong(path, "a string", value);
}

/** A string, or `undefined` when absent (or `null`, which some producers write). */
export function optionalText(value: unknown, path: string): string | undefined {
  return value === undefined || value === null ? undefined : text(value, path);
}

/** A finite number. */
export function number(value: unknown, path: string): number {
  return typeof value === "number" && Number.isFinite(value)
    ? value
    : wrong(path, "a number", value);
}

/** A number, or `undefined` when absent or not a finite number (timings are advisory). */
export function optionalNumber(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** A HAR name/value list (`headers`, `params`) as pairs, names and values as written. */
export function nameValues(value: unknown, path: string): [string, string][] {
  if (value === undefined) return [];
  return array(value, path).map((item, i) => {
    const entry = object(item, `${path}[${i}]`);
    return [text(entry.name, `${path}[${i}].name`), text(entry.value, `${path}[${i}].value`)];
  });
}

/** `[[key, value], ...]` as `toHar()` writes metadata. */
export function pairs(value: unknown, path: string): Pairs {
  return array(value, path).map((item, i) => {
    if (!Array.isArray(item) || item.length !== 2) {
      return wrong(`${path}[${i}]`, "a [key, value] pair", item);
    }
    return [text(item[0], `${path}[${i}][0]`), text(item[1], `${path}[${i}][1]`)] as const;
  });
}
