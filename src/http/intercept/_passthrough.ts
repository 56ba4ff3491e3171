// Which intercepted requests go to the network untouched: the `passthrough`
// option of interceptHttp(), compiled once into one predicate.
import { describe } from "../../core/_check.ts";

/** What a `passthrough` predicate is shown of a request (never its body). */
export interface PassthroughRequest {
  /** The method, upper-cased. */
  readonly method: string;
  /** The absolute URL. */
  readonly url: string;
  /** The request headers. */
  readonly headers: Headers;
}

/**
 * One `passthrough` rule: a host (`"localhost"`, `"127.0.0.1:5432"`), a URL
 * prefix (`"http://127.0.0.1:9200/_search"`), a regular expression tested
 * against the absolute URL, or a predicate.
 */
export type PassthroughRule = string | RegExp | ((request: PassthroughRequest) => boolean);

/**
 * The absolute URL of a `ClientRequest` an agent is given: its origin (the
 * default port left out, as URLs write it) and its request-target. A path
 * that starts with "//" stays a path on that origin, not another host.
 */
export function clientRequestUrl(
  protocol: "http:" | "https:",
  request: { readonly host?: unknown; readonly path?: unknown },
  connection: { readonly host?: unknown; readonly port?: unknown },
): string {
  const host = String(request.host ?? connection.host ?? "localhost");
  const port = connection.port ?? (protocol === "https:" ? 443 : 80);
  const origin = new URL(`${protocol}//${host.includes(":") ? `[${host}]` : host}:${port}`).origin;
  const path = typeof request.path === "string" ? request.path : "/";
  return path.startsWith("/") ? origin + path : new URL(path, origin).href;
}

/** Whether a request goes to the network untouched. */
export type Passes = (request: PassthroughRequest) => boolean;

const NEVER: Passes = () => false;

/** Compiles the `passthrough` option, checking every rule. */
export function compilePassthrough(option: unknown): Passes {
  if (option === undefined) return NEVER;
  const rules: readonly unknown[] = Array.isArray(option) ? option : [option];
  const tests = rules.map((rule, index): Passes => {
    const where = Array.isArray(option) ? `passthrough[${index}]` : "passthrough";
    if (typeof rule === "function") {
      return (request) => (rule as (request: PassthroughRequest) => unknown)(request) === true;
    }
    if (rule instanceof RegExp) {
      // A global or sticky expression keeps state between tests; a copy without those flags does not.
      const pattern = new RegExp(rule.source, rule.flags.replace(/[gy]/g, ""));
      return (request) => pattern.test(request.url);
    }
    if (typeof rule === "string" && rule !== "") {
      if (rule.includes("://")) {
        let prefix: string;
        try {
          prefix = new URL(rule).href;
        } catch {
          throw badRule(where, rule);
        }
        // "http://host:1/" and "http://host:1" name the same origin.
        if (!rule.endsWith("/") && prefix.endsWith("/") && new URL(prefix).pathname === "/") {
          prefix = prefix.slice(0, -1);
        }
        return (request) => request.url.startsWith(prefix);
      }
      const host = rule.toLowerCase();
      return (request) => {
        const url = new URL(request.url);
        return url.host === host || url.hostname === host;
      };
    }
    throw badRule(where, rule);
  });
  if (tests.length === 0) return NEVER;
  return (request) => tests.some((test) => test(request));
}

/** The error for a rule that is none of the four kinds (or a URL that does not parse). */
function badRule(where: string, rule: unknown): TypeError {
  return new TypeError(
    `Cannot intercept HTTP: ${where} must be a host, an absolute URL prefix, a RegExp or a function, got ${
      describe(rule)
    }`,
  );
}
