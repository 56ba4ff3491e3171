#!/usr/bin/env node
// The honest npm test: pack the package, install the tarball into a scratch
// consumer project, and run the whole test suite against what got installed,
// on Node 20, 22 and 24 and on Bun. `node tools/npm_check.mjs` (the `test:npm` task).
//
// 1. pack     npm pack into .tmp/ (prepack builds dist/); check the file list
// 2. install  fresh .tmp/npm-consumer/ ("type": "module"), npm install the
//             tarball, fast-check, @types/node and openai from the npm cache
//             (--prefer-offline)
// 3. deps     every bare import in the installed JavaScript is a declared
//             dependency, installed inside the consumer (so the repo's own
//             node_modules cannot hide a missing one)
// 4. smoke    import "@x/replay" and its subpaths (/fetch, /server, /har) from the
//             consumer: they resolve to the installed tarball and have the
//             public exports
// 5. types    tsc type-checks a consumer file against the shipped .d.ts
//             (strict, skipLibCheck off, with @types/node like a Node project)
// 6. compile  tests/**/*.ts -> .tmp/npm-consumer/tests/**/*.js with tsc
//             (--noCheck: Deno already type-checked them); non-.ts files such
//             as fixtures/ are copied alongside, keeping the layout
// 7. node     node --test <every compiled *_test.js>, on the Node that runs
//             this script (20, the machines' own)
// 8. node 22, node 24
//             the same files on each Node of NODE_VERSIONS: the npm package
//             `node@<version>` (a real platform binary) is installed into
//             .tmp/node-<major>/, and only the test run uses it; packing,
//             installing and compiling stay on the Node above
// 9. bun      bun test <the same files>
//
// Plain Node ESM, no dependencies. Every step runs even after a failure
// (except those that need an earlier step's output); exits 1 if any failed.
import { spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { delimiter, dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { builtinModules } from "node:module";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tmp = join(root, ".tmp");
const consumer = join(tmp, "npm-consumer");
const testsDir = join(root, "tests");
const compiledTests = join(consumer, "tests");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const bin = (...parts) => join(root, "node_modules", ...parts);

/** The public API every build must export (runtime values; types are checked in step 5). */
const PUBLIC_EXPORTS = [
  "createRequest",
  "createChunk",
  "createInteraction",
  "createCassette",
  "appendInteraction",
  "fingerprint",
  "match",
  "replay",
  "replayAsync",
  "parseCassette",
  "stringifyCassette",
  "ReplayError",
  "InteractionNotFoundError",
  "InteractionValidationError",
  "CassetteFormatError",
];

/** The public API of each subpath export (runtime values), and its folder under src/. */
const SUBPATH_EXPORTS = {
  "@x/replay/fetch": {
    file: "http/fetch",
    names: ["createReplayFetch", "createFetchResponder", "installFetch"],
  },
  "@x/replay/server": { file: "http/server", names: ["createHandler", "serve"] },
  "@x/replay/har": { file: "http/har", names: ["fromHar", "toHar", "HarFormatError"] },
  "@x/replay/intercept": {
    file: "http/intercept",
    names: ["interceptHttp", "createInterceptResponder"],
  },
};

/**
 * The Node releases the tarball is also tested on, besides the one running
 * this script: the current maintenance and active LTS lines (Node 20 reached
 * its end of life in April 2026). Exact versions, so every run tests the same
 * binaries; README's "Runtimes" section names them.
 */
const NODE_VERSIONS = ["22.23.3", "24.21.0"];

class StepError extends Error {}

/** Runs a command, echoing it; throws StepError on a non-zero exit. */
function run(file, args, options = {}) {
  const short = (word) => (word.startsWith(root + sep) ? relative(root, word) : word);
  const shown = options.display ??
    [file === process.execPath ? "node" : short(file), ...args.map(short)]
      .map((word) => (/\s/.test(word) ? JSON.stringify(word) : word))
      .join(" ");
  console.log(`$ ${shown}${options.cwd ? `   (in ${relative(root, options.cwd) || "."})` : ""}`);
  const result = spawnSync(file, args, {
    cwd: root,
    stdio: options.capture ? ["ignore", "pipe", "inherit"] : "inherit",
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    ...options,
    env: { ...process.env, ...options.env },
  });
  if (result.error) throw new StepError(`could not run ${file}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new StepError(`exited with ${result.status ?? result.signal}: ${shown}`);
  }
  return result.stdout;
}

/** npm, the same one that runs this script when started from an npm script. */
function npm(args, options) {
  const cli = process.env.npm_execpath;
  if (cli && /npm-cli\.[cm]?js$/.test(cli)) return run(process.execPath, [cli, ...args], options);
  return run("npm", args, { shell: process.platform === "win32", ...options });
}

/** A binary from this repo's node_modules, falling back to PATH. */
function tool(candidates, fallback) {
  return candidates.map((parts) => bin(...parts)).find((path) => existsSync(path)) ?? fallback;
}

/** All files under `dir`, as paths relative to it, sorted. */
function walk(dir, base = dir) {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      return entry.isDirectory() ? walk(path, base) : [relative(base, path)];
    })
    .sort();
}

const steps = [];
async function step(name, body) {
  console.log(`\n── npm check ▶ ${name}`);
  const t0 = performance.now();
  let status = "passed";
  try {
    await body();
  } catch (error) {
    status = "failed";
    console.error(
      `✗ ${name}: ${error instanceof StepError ? error.message : error?.stack ?? error}`,
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  steps.push({ name, status, seconds });
  console.log(`${status === "passed" ? "✓" : "✗"} ${name} (${seconds.toFixed(1)}s)`);
  return status === "passed";
}
function skip(name, reason) {
  console.log(`\n── npm check ▶ ${name}: skipped (${reason})`);
  steps.push({ name, status: "skipped", seconds: 0 });
}

// --- 1. pack ----------------------------------------------------------------

let tarball;
const packed = await step("pack", () => {
  rmSync(consumer, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const name of readdirSync(tmp)) if (name.endsWith(".tgz")) rmSync(join(tmp, name));
  const out = npm(["pack", "--json", "--pack-destination", tmp], { capture: true });
  const [info] = JSON.parse(out.slice(out.indexOf("[")));
  tarball = join(tmp, info.filename);
  const files = info.files.map((file) => file.path).sort();
  console.log(
    `${info.filename}: ${files.length} files, ${info.size} bytes packed, ${info.unpackedSize} unpacked`,
  );
  const stray = files.filter((file) =>
    !/^(dist\/.+\.(js|d\.ts)|README\.md|LICENSE|package\.json)$/.test(file)
  );
  if (stray.length) throw new StepError(`unexpected files in the tarball: ${stray.join(", ")}`);
  const missing = [
    "dist/mod.js",
    "dist/mod.d.ts",
    ...Object.values(SUBPATH_EXPORTS).flatMap(({ file }) => [
      `dist/src/${file}/mod.js`,
      `dist/src/${file}/mod.d.ts`,
    ]),
    "README.md",
    "LICENSE",
    "package.json",
  ].filter((file) => !files.includes(file));
  if (missing.length) throw new StepError(`missing from the tarball: ${missing.join(", ")}`);
});

// --- 2. install ---------------------------------------------------------------

const installed = join(consumer, "node_modules", ...pkg.name.split("/"));
// What the compiled tests and the types check need besides the package itself.
const consumerDevDeps = [
  "fast-check",
  "@types/node",
  "openai",
  "ajv",
  "har-schema",
  // The HTTP clients the interception tests drive (tests/_intercept.ts).
  "axios",
  "got",
  "node-fetch",
  "superagent",
  "undici",
  "@aws-sdk/client-s3",
  "@anthropic-ai/sdk",
  // The real Vitest and Jest runs of tests/test_runners_test.ts (vite pinned as in package.json).
  "vitest",
  "vite",
  "jest",
].map((name) => `${name}@${pkg.devDependencies[name]}`);
const install = packed
  ? await step("install", () => {
    mkdirSync(consumer, { recursive: true });
    writeFileSync(
      join(consumer, "package.json"),
      `${JSON.stringify({ name: "npm-consumer", private: true, type: "module" }, null, 2)}\n`,
    );
    npm(
      [
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        "--save-exact",
        relative(consumer, tarball),
        ...consumerDevDeps,
      ],
      { cwd: consumer },
    );
    const version = JSON.parse(readFileSync(join(installed, "package.json"), "utf8")).version;
    if (version !== pkg.version) {
      throw new StepError(`installed ${pkg.name}@${version}, expected ${pkg.version}`);
    }
  })
  : (skip("install", "no tarball"), false);

// --- 3. deps ------------------------------------------------------------------

if (install) {
  await step("deps", () => {
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"));
    const declared = new Set(
      Object.keys({ ...manifest.dependencies, ...manifest.peerDependencies }),
    );
    const builtins = new Set(builtinModules);
    const used = new Map();
    // No ";" before "from": a statement that ends first is not an import
    // (an export followed by a doc comment whose example imports the package).
    const specifier =
      /^\s*(?:import|export)\b[^'";]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']|\bimport\(\s*["']([^"']+)["']\s*\)/gm;
    for (const file of walk(installed).filter((file) => file.endsWith(".js"))) {
      for (const match of readFileSync(join(installed, file), "utf8").matchAll(specifier)) {
        const spec = match[1] ?? match[2] ?? match[3];
        if (spec.startsWith(".") || spec.startsWith("node:") || builtins.has(spec)) continue;
        const name = spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");
        used.set(name, [...(used.get(name) ?? []), file]);
      }
    }
    const problems = [];
    for (const [name, files] of used) {
      if (!declared.has(name)) {
        problems.push(`${name} is imported (${files[0]}) but not a dependency`);
      } else if (!existsSync(join(consumer, "node_modules", ...name.split("/"), "package.json"))) {
        problems.push(`${name} is a dependency but was not installed into the consumer`);
      }
    }
    console.log(
      `bare imports: ${[...used.keys()].join(", ") || "none"}; declared: ${
        [...declared].join(", ")
      }`,
    );
    if (problems.length) throw new StepError(problems.join("; "));
  });
} else skip("deps", "nothing installed");

// --- 4. smoke -----------------------------------------------------------------

const SMOKE = `
import * as m from "@x/replay";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
const where = fileURLToPath(import.meta.resolve("@x/replay"));
assert.ok(where.startsWith(process.env.EXPECTED_DIR), "@x/replay resolved to " + where);
const names = JSON.parse(process.env.EXPECTED_EXPORTS);
const missing = names.filter((name) => typeof m[name] !== "function");
assert.deepEqual(missing, [], "missing exports");
assert.ok(m.ReplayError.prototype instanceof Error);
for (const name of ["InteractionNotFoundError", "InteractionValidationError", "CassetteFormatError"]) {
  assert.ok(m[name].prototype instanceof m.ReplayError, name + " extends ReplayError");
}
const request = m.createRequest({ protocol: "http", action: "GET", target: "/greeting" });
const cassette = m.createCassette([m.createInteraction(request, ["hel", "lo"])]);
const text = (c) => [...m.replay(c, request)].map((chunk) => new TextDecoder().decode(chunk.data)).join("");
assert.equal(text(cassette), "hello");
assert.equal(text(m.parseCassette(m.stringifyCassette(cassette, { format: "yaml" }), { format: "yaml" })), "hello");
assert.equal(m.fingerprint(request), cassette.interactions[0].fingerprint);
console.log("@x/replay from " + where + ": " + Object.keys(m).length + " exports, replay and YAML round trip work");
for (const [specifier, { names: subNames }] of Object.entries(JSON.parse(process.env.EXPECTED_SUBPATHS))) {
  const sub = await import(specifier);
  const subWhere = fileURLToPath(import.meta.resolve(specifier));
  assert.ok(subWhere.startsWith(process.env.EXPECTED_DIR), specifier + " resolved to " + subWhere);
  assert.deepEqual(subNames.filter((name) => typeof sub[name] !== "function"), [], "missing exports of " + specifier);
  console.log(specifier + " from " + subWhere + ": " + Object.keys(sub).length + " exports");
}
const { createReplayFetch } = await import("@x/replay/fetch");
const replayed = await createReplayFetch(m.createBroker({ cassette: m.createCassette([
  m.createInteraction(m.createRequest({ protocol: "http", action: "GET", target: "https://example.com/" }), ["ok"]),
]) }))("https://example.com/");
assert.equal(await replayed.text(), "ok");
`;

if (install) {
  await step("smoke", () => {
    run(process.execPath, ["--input-type=module", "-e", SMOKE], {
      display:
        'node --input-type=module -e <import * as m from "@x/replay"; assert exports, replay, YAML>',
      cwd: consumer,
      env: {
        EXPECTED_DIR: installed + sep,
        EXPECTED_EXPORTS: JSON.stringify(PUBLIC_EXPORTS),
        EXPECTED_SUBPATHS: JSON.stringify(SUBPATH_EXPORTS),
      },
    });
  });
} else skip("smoke", "nothing installed");

// --- 5. types -----------------------------------------------------------------

const tsc = bin("typescript", "bin", "tsc");
if (install) {
  await step("types", () => {
    const dir = join(consumer, "types-check");
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, "consumer.ts"),
      [
        `import { ${PUBLIC_EXPORTS.join(", ")}, createBroker } from "@x/replay";`,
        `import type { Cassette, InteractionRequest, ResponseChunk } from "@x/replay";`,
        `const request: InteractionRequest = createRequest({ protocol: "http", action: "GET", target: "/x" });`,
        `const cassette: Cassette = createCassette([createInteraction(request, ["a", createChunk("b", 1)])]);`,
        `const chunks: ResponseChunk[] = [...replay(cassette, request)];`,
        `const print: string = fingerprint(request);`,
        `void [chunks, print, appendInteraction, match, replayAsync, parseCassette, stringifyCassette];`,
        `void [ReplayError, InteractionNotFoundError, InteractionValidationError, CassetteFormatError];`,
        ...Object.entries(SUBPATH_EXPORTS).map(([specifier, { names }]) =>
          `import { ${names.join(", ")} } from "${specifier}";`
        ),
        `import type { ReplayServer, ServeOptions } from "@x/replay/server";`,
        `const replayFetch: typeof fetch = createReplayFetch(createBroker({ cassette }));`,
        `const options: ServeOptions = { broker: createBroker({ cassette }), port: 0 };`,
        `const started: Promise<ReplayServer> = serve(options);`,
        `void [replayFetch, started, createFetchResponder, installFetch, createHandler];`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(dir, "tsconfig.json"),
      `${
        JSON.stringify(
          {
            compilerOptions: {
              target: "ES2022",
              module: "NodeNext",
              moduleResolution: "NodeNext",
              lib: ["ES2024"],
              types: ["node"],
              strict: true,
              exactOptionalPropertyTypes: true,
              noEmit: true,
              skipLibCheck: false,
            },
            files: ["consumer.ts"],
          },
          null,
          2,
        )
      }\n`,
    );
    // A Node consumer: @types/node and the shipped .d.ts, all from the consumer's node_modules.
    run(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")]);
  });
} else skip("types", "nothing installed");

// --- 6. compile ---------------------------------------------------------------

const sources = walk(testsDir);
const tsSources = sources.filter((file) =>
  file.endsWith(".ts") && !file.endsWith(".d.ts") && !file.startsWith(`fixtures${sep}`)
);
const testFiles = tsSources
  .filter((file) => /(^|[\\/])[^\\/]*_test\.ts$/.test(file))
  .map((file) => join(compiledTests, file.replace(/\.ts$/, ".js")));
let compiled = false;
if (install) {
  compiled = await step("compile", () => {
    if (testFiles.length === 0) throw new StepError("no tests/**/*_test.ts files found");
    rmSync(compiledTests, { recursive: true, force: true });
    run(process.execPath, [
      tsc,
      "--noCheck",
      "--noResolve",
      "--skipLibCheck",
      "--target",
      "ES2022",
      "--module",
      "ESNext",
      "--moduleResolution",
      "Bundler",
      "--verbatimModuleSyntax",
      "--rewriteRelativeImportExtensions",
      "--newLine",
      "lf",
      "--rootDir",
      testsDir,
      "--outDir",
      compiledTests,
      ...tsSources.map((file) => join(testsDir, file)),
    ]);
    const assets = sources.filter((file) => !file.endsWith(".ts"));
    for (const file of assets) cpSync(join(testsDir, file), join(compiledTests, file));
    const missing = testFiles.filter((file) => !existsSync(file));
    if (missing.length) {
      throw new StepError(`tsc did not emit ${missing.map((f) => relative(root, f)).join(", ")}`);
    }
    console.log(
      `${tsSources.length} TypeScript files compiled (${testFiles.length} test files), ${assets.length} other files copied`,
    );
  });
} else skip("compile", "nothing installed");

// --- 7. node / 8. node 22, 24 / 9. bun ---------------------------------------------

/**
 * Installs `node@<version>` from the npm registry into .tmp/node-<major>/
 * and returns the path of its binary, after checking that it reports that
 * version.
 */
function installNode(version) {
  const dir = join(tmp, `node-${version.split(".")[0]}`);
  const binary = join(dir, "node_modules", "node", "bin", "node");
  const reported = () =>
    spawnSync(binary, ["--version"], { encoding: "utf8" }).stdout?.trim() ?? "";
  if (existsSync(binary) && reported() === `v${version}`) return binary;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "package.json"), `${JSON.stringify({ private: true })}\n`);
  npm(
    ["install", "--prefer-offline", "--no-audit", "--no-fund", "--save-exact", `node@${version}`],
    { cwd: dir },
  );
  if (reported() !== `v${version}`) {
    throw new StepError(`node@${version} installed a binary that reports "${reported()}"`);
  }
  return binary;
}

/** Runs the compiled suite with one Node binary, which also comes first on PATH. */
function nodeTests(binary) {
  run(binary, ["--test", "--test-reporter=spec", ...relativeTests], {
    cwd: consumer,
    env: { PATH: [dirname(binary), process.env.PATH ?? ""].join(delimiter) },
  });
}

const relativeTests = testFiles.map((file) => `.${sep}${relative(consumer, file)}`);
if (compiled) {
  await step(`node ${process.version}`, () => nodeTests(process.execPath));
  for (const version of NODE_VERSIONS) {
    await step(`node v${version}`, () => nodeTests(installNode(version)));
  }
  const bun = tool([["bun", "bin", "bun.exe"]], "bun");
  await step("bun", () => {
    run(bun, ["--version"], { cwd: consumer });
    run(bun, ["test", ...relativeTests], { cwd: consumer });
  });
} else {
  for (const name of ["node", ...NODE_VERSIONS.map((version) => `node v${version}`), "bun"]) {
    skip(name, "tests not compiled");
  }
}

// --- summary ------------------------------------------------------------------

const count = (status) => steps.filter((s) => s.status === status).length;
console.log("\n── npm check summary");
for (const s of steps) {
  const mark = { passed: "ok  ", failed: "FAIL", skipped: "skip" }[s.status];
  console.log(
    `  ${mark} ${
      s.status === "skipped" ? "".padStart(6) : `${s.seconds.toFixed(1)}s`.padStart(6)
    }  ${s.name}`,
  );
}
const failed = count("failed") + count("skipped");
console.log(
  `npm check: ${count("passed")} passed, ${count("failed")} failed, ${count("skipped")} skipped`,
);
process.exit(failed ? 1 : 0);
