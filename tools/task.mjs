#!/usr/bin/env node
// Runs a deno.json task from npm: `node tools/task.mjs [--keep-going] <task>`.
//
// Why not plain `deno task <task>`: once `npm ci` has run, Deno 2.9.5's task
// runner resolves bare command names through node_modules/.bin and runs what
// it finds there as JavaScript, including the native `deno` and `bun`
// binaries, so every task that starts with `deno` dies with "SyntaxError:
// Invalid or unexpected token". This script runs the same task strings itself,
// so deno.json stays the single place where tasks and permissions are defined.
//
// It understands only the subset of task syntax deno.json uses: commands joined
// by `&&`, words separated by spaces. `deno task <name>` is expanded in place.
// A task using anything else (quotes, pipes, redirection, `$VAR`, globs) is
// refused with a clear message rather than run differently from Deno.
//
// Every leaf command is timed and, for a task of several commands, a summary
// ends the output. With --keep-going the remaining commands still run after
// one fails (one run reports every broken check); the exit code is non-zero if
// any failed.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tasks = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")).tasks ?? {};

function fail(message) {
  console.error(`tools/task.mjs: ${message}`);
  process.exit(2);
}

/** The command that runs the pinned deno from node_modules, else deno on PATH. */
function denoCommand() {
  const native = join(
    root,
    "node_modules",
    "deno",
    process.platform === "win32" ? "deno.exe" : "deno",
  );
  if (existsSync(native)) return [native];
  const shim = join(root, "node_modules", "deno", "bin.cjs");
  if (existsSync(shim)) return [process.execPath, shim];
  return ["deno"];
}

/** Flattens a task into its leaf commands (arrays of words), expanding `deno task`. */
function expand(name, seen = []) {
  const text = tasks[name];
  if (typeof text !== "string") {
    fail(`no task "${name}" in deno.json${seen.length ? ` (used by "${seen.at(-1)}")` : ""}`);
  }
  if (seen.includes(name)) fail(`task cycle: ${[...seen, name].join(" -> ")}`);
  if (/['"`|;<>$*?(){}\\&#]/.test(text.replaceAll("&&", " "))) {
    fail(`task "${name}" uses shell syntax this runner does not support: ${text}`);
  }
  return text.split("&&").flatMap((part) => {
    const words = part.trim().split(/\s+/).filter((word) => word !== "");
    if (words.length === 0) fail(`task "${name}" has an empty command: ${text}`);
    if (/^\w+=/.test(words[0])) {
      fail(`task "${name}" sets an environment variable, unsupported: ${text}`);
    }
    if (words[0] === "deno" && words[1] === "task") {
      if (words.length !== 3) {
        fail(`task "${name}": only "deno task <name>" is supported: ${part.trim()}`);
      }
      return expand(words[2], [...seen, name]);
    }
    return [words];
  });
}

function resolve(words) {
  const [command, ...args] = words;
  if (command === "deno") {
    const [file, ...prefix] = denoCommand();
    return { file, args: [...prefix, ...args] };
  }
  if (command === "node") return { file: process.execPath, args };
  return { file: command, args };
}

const argv = process.argv.slice(2);
const keepGoing = argv.includes("--keep-going");
const names = argv.filter((arg) => arg !== "--keep-going");
if (names.length !== 1) fail("usage: node tools/task.mjs [--keep-going] <task>");
const [taskName] = names;
const steps = expand(taskName).map((words) => ({ words, status: "skipped", seconds: 0 }));

const env = {
  ...process.env,
  PATH: [join(root, "node_modules", ".bin"), process.env.PATH ?? ""].join(delimiter),
};
const started = performance.now();
let failed = false;
for (const step of steps) {
  if (failed && !keepGoing) break;
  const display = step.words.join(" ");
  console.log(`\n━━ ${taskName} ▶ ${display}`);
  const { file, args } = resolve(step.words);
  const t0 = performance.now();
  const result = spawnSync(file, args, { cwd: root, env, stdio: "inherit" });
  step.seconds = (performance.now() - t0) / 1000;
  if (result.error) {
    console.error(`tools/task.mjs: could not run ${display}: ${result.error.message}`);
  }
  const ok = !result.error && result.status === 0;
  if (!ok && result.signal) {
    console.error(`tools/task.mjs: ${display} was killed by ${result.signal}`);
  }
  step.status = ok ? "passed" : "failed";
  if (!ok) failed = true;
}

if (steps.length === 1) process.exit(failed ? 1 : 0); // the command's own output says it all
const count = (status) => steps.filter((step) => step.status === status).length;
const total = ((performance.now() - started) / 1000).toFixed(1);
console.log(`\n━━ ${taskName} summary`);
for (const step of steps) {
  const mark = { passed: "ok  ", failed: "FAIL", skipped: "skip" }[step.status];
  const time = step.status === "skipped" ? "" : `${step.seconds.toFixed(1)}s`;
  console.log(`  ${mark} ${time.padStart(7)}  ${step.words.join(" ")}`);
}
const tally = [`${count("passed")} passed`, `${count("failed")} failed`];
if (count("skipped")) tally.push(`${count("skipped")} skipped`);
console.log(`${taskName}: ${tally.join(", ")} (${steps.length} steps, ${total}s)`);
process.exit(failed ? 1 : 0);
