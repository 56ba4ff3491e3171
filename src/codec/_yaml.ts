// The yaml package, loaded on the first YAML parse or stringify instead of
// with the library (ADR 0009): most users never read a YAML cassette, and
// loading yaml costs about 30 ms on every runtime.
//
// parseCassette() and stringifyCassette() are synchronous, so the load must
// be too. Where this file is a local file (the npm build on Node and Bun, the
// sources on Deno, an npm package on Deno) a require() made with
// createRequire() loads yaml's CommonJS build synchronously on all three
// runtimes. Deno running the sources from a remote URL (JSR) has no
// synchronous loader, so there yaml is imported while this module loads, as
// before.
import { createRequire } from "node:module";
import type * as Yaml from "yaml";

const preloaded: typeof Yaml | undefined = import.meta.url.startsWith("file:")
  ? undefined
  : await import("yaml");

let loaded: typeof Yaml | undefined = preloaded;

/** The yaml package, loaded synchronously on the first call. */
export function loadYaml(): typeof Yaml {
  return loaded ??= createRequire(import.meta.url)("yaml") as typeof Yaml;
}
