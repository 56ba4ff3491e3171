// What `x-replay serve` is told, from its flags and from a `--config` JSON
// file, checked into one settings object: every setting has one reader that
// takes a flag's text or the config file's JSON value, so both say the same
// things in the same words (ADR 0031).
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { BrokerMode } from "../broker/create_broker.ts";
import type { BrokerSessionOptions } from "../broker/_session.ts";
import type { Timing } from "../core/_timing.ts";
import type { Normalizer } from "../core/types.ts";
import { canonicalJsonBody } from "../matching/canonical_json_body.ts";
import { composeNormalizers } from "../matching/compose_normalizers.ts";
import { createRedactor, type RedactorOptions } from "../matching/create_redactor.ts";
import { dropHeaders } from "../matching/drop_headers.ts";
import { dropQuery } from "../matching/drop_query.ts";
import { keepHeaders } from "../matching/keep_headers.ts";
import { lowercaseHeaderNames } from "../matching/lowercase_header_names.ts";
import { sortHeaders } from "../matching/sort_headers.ts";
import { sortQuery } from "../matching/sort_query.ts";
import { TOKEN } from "../http/_mapping.ts";
import { alternatives, blobThresholdOption, choice, type OptionValue } from "./_args.ts";
import { fileReason } from "./_cassette_file.ts";
import { CliFailure, usageFailure } from "./_output.ts";

/** Everything `serve` can be told; unset means the default. */
export interface ServeSettings {
  readonly cassette?: string;
  readonly mode?: BrokerMode;
  readonly port?: number;
  readonly host?: string;
  readonly upstream?: string;
  readonly origin?: string;
  readonly matchHeaders?: readonly string[];
  readonly missStatus?: number;
  readonly blobThreshold?: number;
  readonly format?: string;
  readonly timing?: Timing;
  readonly playback?: "first" | "sequential";
  readonly afterLast?: "error" | "repeat";
  readonly headerSchema?: boolean;
  readonly redact?: RedactSettings;
  readonly normalize?: readonly string[];
  readonly bodyLimit?: number;
  readonly allowedHosts?: readonly string[] | true;
  readonly keepEncoding?: boolean;
}

/** The redactor's options that `serve` takes: those of `createRedactor()`. */
export interface RedactSettings {
  readonly headers?: readonly string[];
  readonly query?: readonly string[];
  readonly jsonFields?: readonly string[];
  readonly patterns?: readonly RegExp[];
  readonly placeholder?: string;
  readonly includeDefaults?: boolean;
}

/** Where a value came from, for messages: a flag (`--port`) or a config path (`x.json: port`). */
type Where = string;

function fail(where: Where, expected: string, value: unknown): never {
  throw usageFailure(`${where} must be ${expected}, got ${JSON.stringify(value) ?? String(value)}`);
}

function text(value: unknown, where: Where): string {
  if (typeof value !== "string" || value === "") fail(where, "a non-empty string", value);
  return value;
}

function oneOf<T extends string>(value: unknown, where: Where, allowed: readonly T[]): T {
  if (typeof value !== "string") fail(where, alternatives(allowed), value);
  return choice(value, where, allowed)!;
}

function integer(value: unknown, where: Where, min: number, max: number): number {
  const number = typeof value === "number"
    ? value
    : typeof value === "string" && /^\d{1,16}$/.test(value)
    ? Number(value)
    : Number.NaN;
  if (!(Number.isSafeInteger(number) && number >= min && number <= max)) {
    fail(where, `an integer from ${min} to ${max}`, value);
  }
  return number;
}

function flag(value: unknown, where: Where): boolean {
  if (typeof value !== "boolean") fail(where, "true or false", value);
  return value;
}

/** A list: a JSON array of strings, or flag values each split at commas. */
function list(value: unknown, where: Where, split: boolean): string[] {
  const items = typeof value === "string" ? [value] : value;
  if (!Array.isArray(items) || items.some((item) => typeof item !== "string")) {
    fail(where, "a list of strings", value);
  }
  const out = (items as string[]).flatMap((item) => split ? item.split(",") : [item])
    .map((item) => item.trim());
  if (out.some((item) => item === "")) fail(where, "a list without empty names", value);
  return out;
}

function headerList(value: unknown, where: Where, split: boolean): string[] {
  const names = list(value, where, split);
  const bad = names.find((name) => !TOKEN.test(name));
  if (bad !== undefined) fail(where, "a header name", bad);
  return names;
}

function httpUrl(value: unknown, where: Where): string {
  let url: URL | undefined;
  try {
    url = new URL(text(value, where));
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    fail(where, "an absolute http or https URL", value);
  }
  return url.href;
}

function timing(value: unknown, where: Where): Timing {
  if (value === "recorded" || value === "none") return value;
  const scale = typeof value === "number"
    ? value
    : typeof value === "string" && /^\d+(\.\d+)?$/.test(value)
    ? Number(value)
    : Number.NaN;
  if (!Number.isFinite(scale) || scale < 0) {
    fail(
      where,
      '"recorded", "none" or a scale >= 0 for the recorded gaps (0.5 is twice as fast)',
      value,
    );
  }
  return { scale };
}

const UNITS: Readonly<Record<string, number>> = {
  "": 1,
  b: 1,
  kb: 1000,
  kib: 1024,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
};

/** A size in bytes: a number, or a string such as `65536`, `64MiB`, `1.5GB`. */
function bytes(value: unknown, where: Where): number {
  if (typeof value === "number") return integer(value, where, 0, Number.MAX_SAFE_INTEGER);
  const found = typeof value === "string"
    ? /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim())
    : null;
  const unit = found === null ? undefined : UNITS[found[2]!.toLowerCase()];
  const size = found === null || unit === undefined ? Number.NaN : Number(found[1]) * unit;
  if (!Number.isSafeInteger(Math.floor(size)) || size < 0) {
    fail(where, "a size in bytes, e.g. 1048576 or 64MiB", value);
  }
  return Math.floor(size);
}

/** A pattern: `/source/flags`, or the whole text as the source. */
function pattern(value: unknown, where: Where): RegExp {
  const source = text(value, where);
  const literal = /^\/(.+)\/([a-z]*)$/s.exec(source);
  try {
    return literal === null ? new RegExp(source) : new RegExp(literal[1]!, literal[2]);
  } catch (error) {
    throw usageFailure(
      `${where}: ${JSON.stringify(source)} is not a regular expression (${
        error instanceof Error ? error.message : String(error)
      })`,
    );
  }
}

/** The built-in normalisers by name; those with `=` take a comma-separated list of names. */
const NORMALIZERS: Readonly<Record<string, (names: string[] | undefined) => Normalizer>> = {
  "sort-query": () => sortQuery(),
  "sort-headers": () => sortHeaders(),
  "lowercase-header-names": () => lowercaseHeaderNames(),
  "canonical-json-body": () => canonicalJsonBody(),
  "drop-query": (names) => dropQuery(names!),
  "drop-headers": (names) => dropHeaders(names!),
  "keep-headers": (names) => keepHeaders(names!),
};
const WITH_NAMES: ReadonlySet<string> = new Set(["drop-query", "drop-headers", "keep-headers"]);

/** The names `--normalize` takes, for the help text and messages. */
export const NORMALIZER_NAMES: readonly string[] = Object.keys(NORMALIZERS).map((name) =>
  WITH_NAMES.has(name) ? `${name}=<a,b>` : name
);

/** A `--normalize` spec's normaliser name and what follows its `=`, if any. */
function specParts(spec: string): { name: string; names: string | undefined } {
  const equals = spec.indexOf("=");
  return equals === -1
    ? { name: spec, names: undefined }
    : { name: spec.slice(0, equals), names: spec.slice(equals + 1) };
}

/** Checks a `--normalize` spec, its list of names too, so a problem is named `where` it was given. */
function normalizeSpec(value: unknown, where: Where): string {
  const spec = text(value, where);
  const { name, names } = specParts(spec);
  // A list for the normalisers that take one, and for no other.
  const valid = Object.hasOwn(NORMALIZERS, name) &&
    (WITH_NAMES.has(name) ? names !== undefined && names.trim() !== "" : names === undefined);
  if (!valid) fail(where, `one of ${NORMALIZER_NAMES.join(", ")}`, spec);
  if (names !== undefined) list(names, where, true);
  return spec;
}

/** The normaliser of the specs (checked by `normalizeSpec()`), in their order, or `undefined` for none. */
export function normalizerOf(specs: readonly string[] | undefined): Normalizer | undefined {
  if (specs === undefined || specs.length === 0) return undefined;
  return composeNormalizers(
    ...specs.map((spec) => {
      const { name, names } = specParts(spec);
      return NORMALIZERS[name]!(names === undefined ? undefined : list(names, "--normalize", true));
    }),
  );
}

function redactSettings(value: unknown, where: Where): RedactSettings {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    fail(where, "an object", value);
  }
  const found = value as Record<string, unknown>;
  const out: { -readonly [K in keyof RedactSettings]: RedactSettings[K] } = {};
  for (const [key, item] of Object.entries(found)) {
    const at = `${where}.${key}`;
    if (key === "headers") out.headers = headerList(item, at, false);
    else if (key === "query") out.query = list(item, at, false);
    else if (key === "jsonFields") out.jsonFields = list(item, at, false);
    else if (key === "patterns") {
      if (!Array.isArray(item)) fail(at, "a list of regular expressions", item);
      out.patterns = item.map((entry, i) => pattern(entry, `${at}[${i}]`));
    } else if (key === "placeholder") {
      if (typeof item !== "string") fail(at, "a string", item);
      out.placeholder = item;
    } else if (key === "includeDefaults") out.includeDefaults = flag(item, at);
    else {
      throw usageFailure(
        `${where}: unknown key ${
          JSON.stringify(key)
        } (headers, query, jsonFields, patterns, placeholder, includeDefaults)`,
      );
    }
  }
  return out;
}

const MODES: readonly BrokerMode[] = ["replay", "record", "auto"];

/** The readers of the config file's keys; the flags use the same ones. */
const KEYS: {
  readonly [K in keyof ServeSettings]-?: (value: unknown, where: Where) => ServeSettings[K];
} = {
  cassette: text,
  mode: (value, where) => oneOf(value, where, MODES),
  port: (value, where) => integer(value, where, 0, 65535),
  host: text,
  upstream: httpUrl,
  origin: httpUrl,
  matchHeaders: (value, where) => headerList(value, where, typeof value === "string"),
  missStatus: (value, where) => integer(value, where, 200, 599),
  blobThreshold: blobThresholdOption,
  format: (value, where) => oneOf(value, where, ["json", "yaml"]),
  timing,
  playback: (value, where) => oneOf(value, where, ["first", "sequential"] as const),
  afterLast: (value, where) => oneOf(value, where, ["error", "repeat"] as const),
  headerSchema: flag,
  redact: redactSettings,
  normalize: (value, where) => list(value, where, false).map((spec) => normalizeSpec(spec, where)),
  bodyLimit: bytes,
  allowedHosts: (value, where) => value === true ? true : list(value, where, false),
  keepEncoding: flag,
};

/** Reads a `--config` file: a JSON object whose keys are those of `ServeSettings`. */
export async function readConfig(name: string, cwd: string): Promise<ServeSettings> {
  let source: string;
  try {
    source = await readFile(resolve(cwd, name), "utf8");
  } catch (error) {
    throw new CliFailure(`cannot read config ${JSON.stringify(name)}: ${fileReason(error)}`, 1, {
      cause: error,
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (error) {
    throw usageFailure(
      `${name}: not JSON (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw usageFailure(`${name}: expected a JSON object of settings`);
  }
  const settings: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed)) {
    // Own keys only: `toString`, `__proto__` and the rest of what every object has are unknown.
    const read = Object.hasOwn(KEYS, key)
      ? (KEYS as Record<string, (value: unknown, where: Where) => unknown>)[key]
      : undefined;
    if (read === undefined) {
      throw usageFailure(
        `${name}: unknown key ${JSON.stringify(key)} (see "x-replay serve --help")`,
      );
    }
    settings[key] = read(value, `${name}: ${key}`);
  }
  return settings as ServeSettings;
}

/** The settings the flags give (only the flags that were given). */
export function flagSettings(values: Readonly<Record<string, OptionValue>>): ServeSettings {
  const settings: Record<string, unknown> = {};
  const take = <K extends keyof ServeSettings>(key: K, name: string): void => {
    const value = values[name];
    if (value !== undefined) settings[key] = KEYS[key](value, `--${name}`);
  };
  take("mode", "mode");
  take("port", "port");
  take("host", "host");
  take("upstream", "upstream");
  take("origin", "origin");
  take("missStatus", "miss-status");
  take("blobThreshold", "blob-threshold");
  take("format", "format");
  take("timing", "timing");
  take("playback", "playback");
  take("afterLast", "after-last");
  take("bodyLimit", "body-limit");
  take("headerSchema", "header-schema");
  take("keepEncoding", "keep-encoding");
  const headers = [
    ...headerList(values["match-header"] ?? [], "--match-header", false),
    ...headerList(values["match-headers"] ?? [], "--match-headers", true),
  ];
  if (values["match-header"] !== undefined || values["match-headers"] !== undefined) {
    settings.matchHeaders = headers;
  }
  take("normalize", "normalize");
  const hosts = values["allowed-hosts"];
  if (hosts !== undefined) {
    const names = list(hosts, "--allowed-hosts", true);
    settings.allowedHosts = names.includes("*") ? true : names;
  }
  const redact: { -readonly [K in keyof RedactSettings]: RedactSettings[K] } = {};
  if (values["redact-headers"] !== undefined) {
    redact.headers = headerList(values["redact-headers"], "--redact-headers", true);
  }
  if (values["redact-query"] !== undefined) {
    redact.query = list(values["redact-query"], "--redact-query", true);
  }
  if (values["redact-json-fields"] !== undefined) {
    redact.jsonFields = list(values["redact-json-fields"], "--redact-json-fields", true);
  }
  if (values["redact-pattern"] !== undefined) {
    redact.patterns = list(values["redact-pattern"], "--redact-pattern", false).map((source) =>
      pattern(source, "--redact-pattern")
    );
  }
  if (typeof values["redact-placeholder"] === "string") {
    redact.placeholder = values["redact-placeholder"];
  }
  if (values["no-default-redaction"] === true) redact.includeDefaults = false;
  if (Object.keys(redact).length > 0) settings.redact = redact;
  return settings as ServeSettings;
}

/** The config's settings with the flags' on top: a flag replaces the config's value. */
export function mergeSettings(config: ServeSettings, flags: ServeSettings): ServeSettings {
  const redact = config.redact === undefined && flags.redact === undefined
    ? undefined
    : { ...config.redact, ...flags.redact };
  return { ...config, ...flags, ...(redact === undefined ? {} : { redact }) };
}

/** The broker's session options for the settings. */
export function sessionOptions(settings: ServeSettings): BrokerSessionOptions {
  const redactor = settings.redact === undefined
    ? undefined
    : createRedactor(settings.redact satisfies RedactorOptions);
  const normalize = normalizerOf(settings.normalize);
  return {
    ...(normalize === undefined ? {} : { normalize }),
    ...(redactor === undefined ? {} : { redact: redactor }),
    ...(settings.playback === undefined ? {} : { playback: settings.playback }),
    ...(settings.afterLast === undefined ? {} : { afterLast: settings.afterLast }),
    ...(settings.headerSchema === undefined ? {} : { headerSchema: settings.headerSchema }),
  };
}
