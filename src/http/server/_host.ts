// Which Host headers serve() answers (ADR 0037). A web page can make a
// browser send requests to 127.0.0.1 under its own domain name by rebinding
// that name's DNS record (DNS rebinding); the Host header still names the
// page's domain, so answering only known names keeps such pages out.
import { isIP } from "node:net";
import { describe } from "../../core/_check.ts";

/** A hostname as a URL writes it: an IPv6 address in brackets. */
export function urlHost(hostname: string): string {
  return hostname.includes(":") ? `[${hostname}]` : hostname;
}

/** The host name of a Host header, without its port, lower-cased, without a trailing dot. */
export function hostName(header: string): string {
  let name = header.trim().toLowerCase();
  if (name.startsWith("[")) {
    const end = name.indexOf("]");
    name = end === -1 ? name : name.slice(1, end);
  } else {
    const colon = name.lastIndexOf(":");
    if (colon !== -1 && name.indexOf(":") === colon) name = name.slice(0, colon);
  }
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

/**
 * Builds the check of a request's Host header: IP addresses (a rebinding
 * page cannot send one, since the page's own address is not the server's),
 * `localhost` and names under `.localhost`, the address the server binds,
 * and the `allowed` names (`.example.com` also allows its subdomains), or any
 * host at all with `true`. A request without a Host header (HTTP/1.0) passes.
 */
export function hostCheck(
  allowed: unknown,
  bound: string,
  action: string,
): (header: string | undefined) => boolean {
  if (allowed === true) return () => true;
  const exact = new Set<string>(["localhost"]);
  const suffixes: string[] = [".localhost"];
  if (allowed !== undefined) {
    if (
      typeof allowed !== "object" || allowed === null ||
      typeof (allowed as Iterable<unknown>)[Symbol.iterator] !== "function"
    ) {
      throw new TypeError(
        `Cannot ${action}: allowedHosts must be an array of host names or true, got ${
          describe(allowed)
        }`,
      );
    }
    for (const entry of allowed as Iterable<unknown>) {
      if (typeof entry !== "string" || hostName(entry) === "" || /[\s/@]/.test(entry)) {
        throw new TypeError(
          `Cannot ${action}: allowedHosts must hold host names, got ${describe(entry)}`,
        );
      }
      if (entry.startsWith(".")) suffixes.push(entry.toLowerCase());
      else exact.add(hostName(entry));
    }
  }
  const own = hostName(bound);
  if (own !== "0.0.0.0" && own !== "::") exact.add(own);
  return (header) => {
    if (header === undefined) return true;
    const name = hostName(header);
    if (isIP(name) !== 0 || exact.has(name)) return true;
    return suffixes.some((suffix) => name.endsWith(suffix) || name === suffix.slice(1));
  };
}
