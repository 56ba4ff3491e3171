// The benchmarks measure the npm build (dist/). This builds it once, the
// way `npm run build` does, when a file a benchmark needs is not there.
import { execSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";

/**
 * Runs `npm run build` in `root` when any of `paths` (relative to `root`,
 * or absolute) is missing.
 * @param {string} root the project folder
 * @param {...string} paths the files the caller needs
 */
export function buildIfMissing(root, ...paths) {
  if (paths.every((path) => existsSync(resolve(root, path)))) return;
  console.log("dist/ is missing: running `npm run build` ...");
  execSync("npm run build", { cwd: root, stdio: "inherit" });
}
