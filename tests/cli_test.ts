// The x-replay command line: every command in-process with captured output,
// and the real program as a child process (the TypeScript entry on Deno, the
// installed npm bin on Node and Bun).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import {
  appendFileSync,
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createHash } from "node:crypto";
import { createServer, request } from "node:http";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { main } from "@x/replay/cli";
import {
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fileStore,
  journalStore,
  parseCassette,
  stringifyCassette,
} from "@x/replay";
import { strayFiles, withFolder } from "./_helpers.ts";
import { assertOneLineFailure, run, serving, startServe } from "./_cli.ts";

const FIXTURE = readFileSync(
  new URL("./fixtures/interposition-0.6-cassette.json", import.meta.url),
  "utf8",
);
const FIXTURE_YAML = stringifyCassette(parseCassette(FIXTURE), { format: "yaml" });

/** A folder holding the fixture as `c.json` (and `c.yaml`). */
function withFixture(body: (folder: string) => Promise<void>): Promise<void> {
  return withFolder(async (folder) => {
    writeFileSync(join(folder, "c.json"), FIXTURE);
    writeFileSync(join(folder, "c.yaml"), FIXTURE_YAML);
    await body(folder);
  });
}

const EXPECTED_ROWS = [
  {
    index: 0,
    protocol: "http",
    action: "GET",
    target: "/api/data",
    status: "200",
    chunks: 1,
    bytes: 20,
    recorded_at: null,
  },
  {
    index: 1,
    protocol: "http",
    action: "POST",
    target: "/v1/chat/completions",
    status: "200",
    chunks: 3,
    bytes: 59,
    recorded_at: "2026-01-05T00:00:00Z",
  },
  {
    index: 2,
    protocol: "test-proto",
    action: "fetch",
    target: "resource-123",
    status: null,
    chunks: 1,
    bytes: 5,
    recorded_at: null,
  },
  {
    index: 3,
    protocol: "test-proto",
    action: "fetch",
    target: "resource-123",
    status: null,
    chunks: 1,
    bytes: 6,
    recorded_at: null,
  },
  {
    index: 4,
    protocol: "mqtt",
    action: "subscribe",
    target: "sensors/temp/room1",
    status: null,
    chunks: 3,
    bytes: 12,
    recorded_at: null,
  },
  {
    index: 5,
    protocol: "http",
    action: "GET",
    target: "/café",
    status: "404",
    chunks: 1,
    bytes: 14,
    recorded_at: null,
  },
];

// --- help -------------------------------------------------------------------

test("main() prints the usage for --help, -h and help, on stdout with exit code 0", async () => {
  for (const args of [["--help"], ["-h"], ["help"]]) {
    const result = await run(args);
    assert.equal(result.code, 0, args.join(" "));
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /^Usage: x-replay <command> \[options\]\n/);
    for (const command of ["serve", "inspect", "validate", "convert"]) {
      assert.match(result.stdout, new RegExp(`^  ${command} +\\S`, "m"), `lists ${command}`);
    }
  }
});

test("main() prints each command's help for <command> --help and help <command>", async () => {
  for (const command of ["serve", "inspect", "validate", "convert"]) {
    for (const args of [[command, "--help"], [command, "-h"], ["help", command]]) {
      const result = await run(args);
      assert.equal(result.code, 0, args.join(" "));
      assert.equal(result.stderr, "");
      assert.match(result.stdout, new RegExp(`^Usage: x-replay ${command} <`));
      assert.match(result.stdout, /^ {2}-h, --help +show this help$/m);
    }
  }
  // Help wins over missing arguments and unknown options.
  for (const args of [["convert", "only-one.json", "--help"], ["convert", "--bogus", "-h"]]) {
    const result = await run(args);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Usage: x-replay convert <in> <out>/);
  }
});

// --- inspect ----------------------------------------------------------------

test("main() inspect prints an aligned table of the interactions", async () => {
  await withFixture(async (folder) => {
    const result = await run(["inspect", "c.json"], { cwd: folder });
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
    assert.equal(
      result.stdout,
      [
        "index  protocol    action     target                status  chunks  bytes  recorded_at",
        "    0  http        GET        /api/data             200          1     20  -",
        "    1  http        POST       /v1/chat/completions  200          3     59  2026-01-05T00:00:00Z",
        "    2  test-proto  fetch      resource-123          -            1      5  -",
        "    3  test-proto  fetch      resource-123          -            1      6  -",
        "    4  mqtt        subscribe  sensors/temp/room1    -            3     12  -",
        "    5  http        GET        /café                 404          1     14  -",
        "",
      ].join("\n"),
    );
  });
});

test("main() inspect --json prints the same fields as a JSON array, from JSON or YAML", async () => {
  await withFixture(async (folder) => {
    for (const name of ["c.json", "c.yaml"]) {
      const result = await run(["inspect", name, "--json"], { cwd: folder });
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      assert.deepEqual(JSON.parse(result.stdout), EXPECTED_ROWS, name);
    }
    // --format reads a file whose extension says nothing.
    writeFileSync(join(folder, "cassette.txt"), FIXTURE_YAML);
    const result = await run(["inspect", "--format", "yaml", "cassette.txt", "--json"], {
      cwd: folder,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), EXPECTED_ROWS);
  });
});

test("main() inspect escapes control characters and reports an empty cassette", async () => {
  await withFolder(async (folder) => {
    const request = createRequest({
      protocol: "test-proto",
      action: "fetch",
      target: "line\nbreak",
    });
    const cassette = createCassette([createInteraction(request, ["x"])]);
    writeFileSync(join(folder, "w.json"), stringifyCassette(cassette));
    const table = await run(["inspect", "w.json"], { cwd: folder });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ {4}0 {2}test-proto {2}fetch {3}line\\nbreak {2}- /m);
    assert.equal(table.stdout.split("\n").length, 3);

    writeFileSync(join(folder, "empty.yaml"), "interactions: []\n");
    const empty = await run(["inspect", "empty.yaml"], { cwd: folder });
    assert.deepEqual(empty, { code: 0, stdout: "empty.yaml: no interactions\n", stderr: "" });
    const emptyJson = await run(["inspect", "empty.yaml", "--json"], { cwd: folder });
    assert.deepEqual(emptyJson, { code: 0, stdout: "[]\n", stderr: "" });
  });
});

// --- validate ---------------------------------------------------------------

test("main() validate prints one OK line for a valid cassette", async () => {
  await withFixture(async (folder) => {
    for (const name of ["c.json", "c.yaml"]) {
      const result = await run(["validate", name], { cwd: folder });
      assert.deepEqual(result, { code: 0, stdout: `${name}: OK, 6 interactions\n`, stderr: "" });
    }
  });
});

/** The fixture with four interactions broken in four different ways. */
function brokenDocument(): { interactions: Record<string, unknown>[] } {
  const document = JSON.parse(FIXTURE);
  document.interactions[1].fingerprint.value = "0".repeat(64);
  document.interactions[2].response_chunks[0].sequence = 3;
  document.interactions[3].request = 42;
  document.interactions[5].response_chunks[0].data = { base64: "!!" };
  return document;
}

test("main() validate lists every problem with its path, not only the first", async () => {
  await withFolder(async (folder) => {
    writeFileSync(join(folder, "bad.json"), `${JSON.stringify(brokenDocument(), null, 2)}\n`);
    const result = await run(["validate", "bad.json"], { cwd: folder });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "");
    assert.equal(
      result.stdout,
      [
        "bad.json: interactions[1].fingerprint.value: expected the request's fingerprint " +
        "90ee5b73d63a045dcc9431246acc6e75402bb863b1326f4f2ff2bf9b8d74caac, got " + "0".repeat(64),
        "bad.json: interactions[2].response_chunks[0].sequence: expected 0, got 3",
        "bad.json: interactions[3].request: expected an object, got number 42",
        'bad.json: interactions[5].response_chunks[0].data.base64: expected canonical padded base64, got string "!!"',
        "bad.json: invalid, 4 problems in 6 interactions",
        "",
      ].join("\n"),
    );
  });
});

test("main() validate lists every problem inside one interaction, the fingerprint too", async () => {
  await withFolder(async (folder) => {
    const document = JSON.parse(FIXTURE);
    // Interaction 1 has three chunks: break two of them and its fingerprint.
    const second = document.interactions[1];
    second.fingerprint.value = "0".repeat(64);
    second.response_chunks[0].sequence = 7;
    second.response_chunks[2].data = { base64: "!!" };
    second.metadata = 5;
    // Interaction 4: a bad request hides nothing else, but its fingerprint
    // cannot be checked against a request that is not one.
    document.interactions[4].request.headers = [["a", "b"], "c", ["d", 1]];
    document.interactions[4].response_chunks = [];
    writeFileSync(join(folder, "bad.json"), JSON.stringify(document));
    const result = await run(["validate", "bad.json"], { cwd: folder });
    assert.equal(result.code, 1);
    assert.equal(
      result.stdout,
      [
        'bad.json: interactions[1].response_chunks[2].data.base64: expected canonical padded base64, got string "!!"',
        "bad.json: interactions[1].metadata: expected an array of [key, value] pairs, got number 5",
        "bad.json: interactions[1].response_chunks[0].sequence: expected 0, got 7",
        "bad.json: interactions[1].fingerprint.value: expected the request's fingerprint " +
        "90ee5b73d63a045dcc9431246acc6e75402bb863b1326f4f2ff2bf9b8d74caac, got " + "0".repeat(64),
        'bad.json: interactions[4].request.headers[1]: expected a [key, value] pair, got string "c"',
        "bad.json: interactions[4].request.headers[2][1]: expected a string, got number 1",
        "bad.json: interactions[4].response_chunks: expected at least one chunk, got none",
        "bad.json: invalid, 7 problems in 6 interactions",
        "",
      ].join("\n"),
    );
    // The same problems in YAML, each with its place in the file.
    const { stringify } = await import("yaml");
    writeFileSync(join(folder, "bad.yaml"), stringify(document));
    const yaml = await run(["validate", "bad.yaml"], { cwd: folder });
    const lines = yaml.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 8, yaml.stdout);
    for (const line of lines.slice(0, 7)) assert.match(line, / \(line \d+, column \d+\)$/);
    assert.equal(lines[7], "bad.yaml: invalid, 7 problems in 6 interactions");
  });
});

test("main() validate counts exactly the problems planted in a cassette", async () => {
  const fc = (await import("fast-check")).default;
  // Each fault breaks one value on its own; a broken request leaves its
  // fingerprint unchecked, so the two are never planted together.
  const faults = ["fingerprint", "protocol", "header", "sequence", "data", "metadata", "chunk"];
  const cassette = parseCassette(FIXTURE);
  const base = JSON.parse(stringifyCassette(cassette));
  await withFolder(async (folder) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.subarray(faults), { minLength: base.interactions.length, maxLength: 6 }),
        fc.constantFrom("json", "yaml"),
        async (plan, format) => {
          const document = structuredClone(base);
          let planted = 0;
          for (const [i, kinds] of plan.entries()) {
            const interaction = document.interactions[i];
            const chosen = kinds.includes("fingerprint")
              ? kinds.filter((kind) => kind !== "protocol" && kind !== "header")
              : kinds;
            for (const kind of chosen) {
              planted++;
              if (kind === "fingerprint") interaction.fingerprint.value = "f".repeat(64);
              if (kind === "protocol") interaction.request.protocol = 1;
              if (kind === "header") interaction.request.headers = [["k"]];
              if (kind === "sequence") interaction.response_chunks[0].sequence = 9;
              if (kind === "data") interaction.response_chunks[0].data = 3;
              if (kind === "metadata") interaction.metadata = "m";
              if (kind === "chunk") interaction.response_chunks.push("x");
            }
          }
          const { stringify } = await import("yaml");
          const name = `c.${format}`;
          writeFileSync(
            join(folder, name),
            format === "json" ? JSON.stringify(document) : stringify(document),
          );
          const result = await run(["validate", name], { cwd: folder });
          const lines = result.stdout.trimEnd().split("\n");
          if (planted === 0) return result.code === 0;
          return result.code === 1 && lines.length === planted + 1 &&
            lines.at(-1) ===
              `${name}: invalid, ${planted} problem${planted === 1 ? "" : "s"} in 6 interactions`;
        },
      ),
      { numRuns: 40 },
    );
  });
});

test("main() validate gives YAML problems the line and column in the original file", async () => {
  await withFolder(async (folder) => {
    const { stringify } = await import("yaml");
    const text = stringify(brokenDocument());
    writeFileSync(join(folder, "bad.yaml"), text);
    const result = await run(["validate", "bad.yaml"], { cwd: folder });
    assert.equal(result.code, 1);
    const lines = text.split("\n");
    const problems = result.stdout.trimEnd().split("\n");
    assert.equal(problems.length, 5);
    assert.equal(problems[4], "bad.yaml: invalid, 4 problems in 6 interactions");
    // Each reported position points at the offending value in bad.yaml.
    const expected: [string, string][] = [
      ["interactions[1].fingerprint.value", '"0000'],
      ["interactions[2].response_chunks[0].sequence", "3"],
      ["interactions[3].request", "42"],
      ["interactions[5].response_chunks[0].data.base64", '"!!"'],
    ];
    for (const [i, [path, value]] of expected.entries()) {
      const found = /^bad\.yaml: (\S+): .* \(line (\d+), column (\d+)\)$/.exec(problems[i]!);
      assert.ok(found, problems[i]);
      assert.equal(found[1], path);
      const line = lines[Number(found[2]) - 1]!;
      assert.ok(line.slice(Number(found[3]) - 1).startsWith(value), `${problems[i]} -> ${line}`);
    }
  });
});

test("main() validate lists every YAML syntax error and one JSON syntax error", async () => {
  await withFolder(async (folder) => {
    writeFileSync(join(folder, "syntax.yaml"), "interactions:\n  - a: 1\n    a: 2\n  - [\n");
    const yaml = await run(["validate", "syntax.yaml"], { cwd: folder });
    assert.equal(yaml.code, 1);
    assert.equal(yaml.stderr, "");
    const yamlLines = yaml.stdout.trimEnd().split("\n");
    assert.equal(yamlLines.length, 3, yaml.stdout);
    assert.match(
      yamlLines[0]!,
      /^syntax\.yaml: Cannot parse cassette: invalid YAML at line 3, column 5: /,
    );
    assert.match(
      yamlLines[1]!,
      /^syntax\.yaml: Cannot parse cassette: invalid YAML at line \d+, column \d+: /,
    );
    assert.equal(yamlLines[2], "syntax.yaml: invalid, 2 problems");

    writeFileSync(join(folder, "syntax.json"), '{"interactions": [');
    const json = await run(["validate", "syntax.json"], { cwd: folder });
    assert.equal(json.code, 1);
    const jsonLines = json.stdout.trimEnd().split("\n");
    assert.equal(jsonLines.length, 2, json.stdout);
    assert.match(jsonLines[0]!, /^syntax\.json: Cannot parse cassette: invalid JSON/);
    assert.equal(jsonLines[1], "syntax.json: invalid, 1 problem");

    writeFileSync(join(folder, "shape.json"), '{"interactions": {}}');
    const shape = await run(["validate", "shape.json"], { cwd: folder });
    assert.deepEqual(shape, {
      code: 1,
      stdout: "shape.json: interactions: expected an array, got an object\n" +
        "shape.json: invalid, 1 problem\n",
      stderr: "",
    });
  });
});

// --- convert ----------------------------------------------------------------

test("main() convert turns JSON into YAML and back, byte for byte", async () => {
  await withFixture(async (folder) => {
    const toYaml = await run(["convert", "c.json", "out/round.yaml"], { cwd: folder });
    assert.deepEqual(toYaml, {
      code: 0,
      stdout: "c.json (json) -> out/round.yaml (yaml): 6 interactions\n",
      stderr: "",
    });
    assert.equal(readFileSync(join(folder, "out", "round.yaml"), "utf8"), FIXTURE_YAML);
    const back = await run(["convert", "out/round.yaml", "out/round.json"], { cwd: folder });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(readFileSync(join(folder, "out", "round.json"), "utf8"), FIXTURE);
    // No lock or temporary files are left behind.
    assert.deepEqual(strayFiles(join(folder, "out"), "round.yaml", "round.json"), []);
    // --from/--to override the extensions.
    writeFileSync(join(folder, "in.txt"), FIXTURE);
    const overridden = await run([
      "convert",
      "in.txt",
      "out.data",
      "--from",
      "json",
      "--to",
      "yaml",
    ], {
      cwd: folder,
    });
    assert.equal(overridden.code, 0, overridden.stderr);
    assert.equal(readFileSync(join(folder, "out.data"), "utf8"), FIXTURE_YAML);
  });
});

test("main() convert reads a Playwright HAR with its side files, and warns of skipped entries", async () => {
  await withFolder(async (folder) => {
    const har = fileURLToPath(new URL("./fixtures/har/playwright/recording.har", import.meta.url));
    const result = await run(["convert", har, "out.json"], { cwd: folder });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${har} (har) -> out.json (json): 6 interactions\n`);
    assert.equal(
      result.stderr,
      `x-replay: convert: warning: ${har}: log.entries[5] skipped: status -1: no response ` +
        "(a failed or blocked request)\n",
    );
    const cassette = parseCassette(readFileSync(join(folder, "out.json"), "utf8"));
    const cart = cassette.interactions[0]!.responseChunks[0]!;
    assert.match(new TextDecoder().decode(cart.data), /^\{"items":/);

    // --match-header keeps a request header for matching.
    const matched = await run(["convert", har, "matched.json", "--match-header", "Accept"], {
      cwd: folder,
    });
    assert.equal(matched.code, 0, matched.stderr);
    const first = parseCassette(readFileSync(join(folder, "matched.json"), "utf8"))
      .interactions[0]!;
    assert.deepEqual(first.request.headers, [["accept", "application/json"]]);
  });
});

test("main() convert writes HAR and reads it back to the same cassette", async () => {
  await withFolder(async (folder) => {
    const http = createCassette(
      parseCassette(FIXTURE).interactions.filter(({ request }) => request.protocol === "http"),
    );
    writeFileSync(join(folder, "c.json"), stringifyCassette(http));
    const out = await run(["convert", "c.json", "sub/c.har"], { cwd: folder });
    assert.equal(out.code, 0, out.stderr);
    assert.equal(
      out.stdout,
      `c.json (json) -> sub/c.har (har): ${http.interactions.length} interactions\n`,
    );
    const har = JSON.parse(readFileSync(join(folder, "sub/c.har"), "utf8"));
    assert.equal(har.log.version, "1.2");
    const back = await run(["convert", "sub/c.har", "back.json"], { cwd: folder });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(readFileSync(join(folder, "back.json"), "utf8"), stringifyCassette(http));
    assert.deepEqual(strayFiles(folder, "c.json", "back.json"), ["sub"]);
    assert.deepEqual(strayFiles(join(folder, "sub"), "c.har"), []);

    // Only HTTP fits in a HAR; a HAR output holds every body itself.
    writeFileSync(join(folder, "mixed.json"), FIXTURE);
    assertOneLineFailure(
      await run(["convert", "mixed.json", "mixed.har"], { cwd: folder }),
      1,
      'x-replay: convert: cannot write "mixed.har": Cannot write HAR: interactions[2] has ' +
        'protocol "test-proto", and HAR holds HTTP exchanges only',
    );
    assert.equal(existsSync(join(folder, "mixed.har")), false);
    assertOneLineFailure(
      await run(["convert", "c.json", "x.har", "--blob-threshold", "10"], { cwd: folder }),
      2,
      /^x-replay: convert: --blob-threshold does not apply to a HAR <out>/,
    );
    assertOneLineFailure(
      await run(["convert", "c.json", "x.yaml", "--match-header", "accept"], { cwd: folder }),
      2,
      /^x-replay: convert: --match-header applies to a HAR <in> only/,
    );
    assertOneLineFailure(
      await run(["convert", "c.json", "x.txt", "--to", "xml"], { cwd: folder }),
      2,
      /^x-replay: convert: --to must be "json", "yaml" or "har", got "xml"/,
    );
  });
});

test("main() convert replaces an existing HAR only with --force, keeping its permissions", async () => {
  await withFolder(async (folder) => {
    const http = createCassette(
      parseCassette(FIXTURE).interactions.filter(({ request }) => request.protocol === "http"),
    );
    writeFileSync(join(folder, "c.json"), stringifyCassette(http));
    const target = join(folder, "c.har");
    writeFileSync(target, "{}\n");
    chmodSync(target, 0o640);
    assertOneLineFailure(
      await run(["convert", "c.json", "c.har"], { cwd: folder }),
      1,
      'x-replay: convert: "c.har" already exists (pass --force to replace it)',
    );
    assert.equal(readFileSync(target, "utf8"), "{}\n");
    const forced = await run(["convert", "c.json", "c.har", "--force"], { cwd: folder });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(JSON.parse(readFileSync(target, "utf8")).log.version, "1.2");
    if (process.platform !== "win32") assert.equal(statSync(target).mode & 0o777, 0o640);
    assert.deepEqual(strayFiles(folder, "c.json", "c.har"), []);
  });
});

test("main() convert refuses a HAR side file that is a link or outside its folder", async () => {
  await withFolder(async (folder) => {
    const entry = (file: string) => ({
      startedDateTime: "2026-01-01T00:00:00Z",
      time: 1,
      request: { method: "GET", url: "https://x.example/" },
      response: {
        status: 200,
        headers: [],
        content: { size: 6, mimeType: "text/plain", _file: file },
      },
      timings: { send: 0, wait: 1, receive: 0 },
    });
    const write = (file: string) =>
      writeFileSync(join(folder, "in.har"), JSON.stringify({ log: { entries: [entry(file)] } }));
    writeFileSync(join(folder, "secret.txt"), "secret");
    symlinkSync(join(folder, "secret.txt"), join(folder, "link.txt"));
    write("link.txt");
    assertOneLineFailure(
      await run(["convert", "in.har", "out.json"], { cwd: folder }),
      1,
      'x-replay: convert: "in.har" is not a HAR file it can read: log.entries[0].response.content._file: cannot read ' +
        'the side file "link.txt": it is a symbolic link, which is not followed',
    );
    write("../secret.txt");
    assertOneLineFailure(
      await run(["convert", "in.har", "out.json"], { cwd: folder }),
      1,
      /^x-replay: convert: "in\.har" is not a HAR file it can read: .*expected a plain file name beside the HAR/,
    );
    write("secret.txt");
    assert.equal((await run(["convert", "in.har", "out.json"], { cwd: folder })).code, 0);
    assert.equal(existsSync(join(folder, "out.json")), true);
  });
});

test("main() convert leaves an existing output alone unless --force replaces it", async () => {
  await withFixture(async (folder) => {
    const target = join(folder, "target.yaml");
    writeFileSync(target, "interactions: []\n");
    chmodSync(target, 0o640);
    const refused = await run(["convert", "c.json", "target.yaml"], { cwd: folder });
    assertOneLineFailure(
      refused,
      1,
      'x-replay: convert: "target.yaml" already exists (pass --force to replace it)',
    );
    assert.equal(readFileSync(target, "utf8"), "interactions: []\n");

    // Replaced, not merged with what was there; permissions kept.
    const document = JSON.parse(FIXTURE);
    document.interactions = document.interactions.slice(0, 1);
    writeFileSync(
      target,
      stringifyCassette(parseCassette(JSON.stringify(document)), { format: "yaml" }),
    );
    const forced = await run(["convert", "c.json", "target.yaml", "--force"], { cwd: folder });
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readFileSync(target, "utf8"), FIXTURE_YAML);
    if (process.platform !== "win32") assert.equal(statSync(target).mode & 0o777, 0o640);

    // In place: rewrite a file in its own format (here: YAML saved as JSON text).
    writeFileSync(join(folder, "inplace.json"), FIXTURE);
    const inPlace = await run([
      "convert",
      "inplace.json",
      "inplace.json",
      "--to",
      "yaml",
      "--force",
    ], {
      cwd: folder,
    });
    assert.equal(inPlace.code, 0, inPlace.stderr);
    assert.equal(readFileSync(join(folder, "inplace.json"), "utf8"), FIXTURE_YAML);
    assert.deepEqual(
      strayFiles(folder, "c.json", "c.yaml", "target.yaml", "inplace.json"),
      [],
    );
  });
});

// --- wrong usage and bad files ----------------------------------------------

test("main() reports wrong usage as one line on stderr with exit code 2", async () => {
  const cases: [string[], string][] = [
    [[], 'x-replay: missing command (see "x-replay --help")'],
    [["frobnicate"], 'x-replay: unknown command "frobnicate" (see "x-replay --help")'],
    [["--bogus"], 'x-replay: unknown option "--bogus" (see "x-replay --help")'],
    [["help", "nope"], 'x-replay: unknown command "nope" (see "x-replay --help")'],
    [["inspect"], 'x-replay: inspect: missing <cassette> argument (see "x-replay inspect --help")'],
    [
      ["inspect", "a.json", "b.json"],
      'x-replay: inspect: unexpected argument "b.json" (see "x-replay inspect --help")',
    ],
    [
      ["inspect", "a.json", "--bogus"],
      'x-replay: inspect: unknown option "--bogus" (see "x-replay inspect --help")',
    ],
    [
      ["inspect", "a.json", "-z"],
      'x-replay: inspect: unknown option "-z" (see "x-replay inspect --help")',
    ],
    // A name every object inherits is no option either.
    [
      ["inspect", "a.json", "--toString"],
      'x-replay: inspect: unknown option "--toString" (see "x-replay inspect --help")',
    ],
    [
      ["inspect", "a.json", "--format"],
      'x-replay: inspect: option --format needs a value (see "x-replay inspect --help")',
    ],
    [
      ["inspect", "--format", "--json", "a.json"],
      'x-replay: inspect: option --format needs a value (see "x-replay inspect --help")',
    ],
    [
      ["inspect", "a.json", "--json=yes"],
      'x-replay: inspect: option --json takes no value (see "x-replay inspect --help")',
    ],
    [
      ["inspect", "a.json", "--format", "xml"],
      'x-replay: inspect: --format must be "json" or "yaml", got "xml" (see "x-replay inspect --help")',
    ],
    [
      ["validate", "notes.txt"],
      'x-replay: validate: cannot tell the format of "notes.txt" from its extension (.json, .yaml or .yml); ' +
      'pass --format json or --format yaml (see "x-replay validate --help")',
    ],
    [
      ["convert", "a.json"],
      'x-replay: convert: missing <out> argument (see "x-replay convert --help")',
    ],
    [
      ["convert"],
      'x-replay: convert: missing <in> and <out> arguments (see "x-replay convert --help")',
    ],
    [
      ["convert", "a.json", "b.csv"],
      'x-replay: convert: cannot tell the format of "b.csv" from its extension (.json, .yaml or .yml); ' +
      'pass --to json or --to yaml (see "x-replay convert --help")',
    ],
    [
      ["serve"],
      'x-replay: serve: missing <cassette> argument (see "x-replay serve --help")',
    ],
    [
      ["serve", "a.json", "--port", "http"],
      'x-replay: serve: --port must be an integer from 0 to 65535, got "http" (see "x-replay serve --help")',
    ],
    [
      ["serve", "a.json", "--port", "65536"],
      'x-replay: serve: --port must be an integer from 0 to 65535, got "65536" (see "x-replay serve --help")',
    ],
    [
      ["serve", "a.json", "--mode", "live"],
      'x-replay: serve: --mode must be "replay", "record" or "auto", got "live" (see "x-replay serve --help")',
    ],
    [
      ["serve", "a.json", "--mode", "record"],
      'x-replay: serve: --mode record needs --upstream <url> (see "x-replay serve --help")',
    ],
    [
      ["serve", "a.json", "--mode", "auto", "--upstream", "not a url"],
      'x-replay: serve: --upstream must be an absolute http or https URL, got "not a url" (see "x-replay serve --help")',
    ],
    [
      ["serve", "a.json", "--match-header", "x api key"],
      'x-replay: serve: --match-header must be a header name, got "x api key" (see "x-replay serve --help")',
    ],
    [
      ["serve", "a.json", "--upstream", "http://127.0.0.1:9"],
      'x-replay: serve: --upstream is only used with --mode record or auto (see "x-replay serve --help")',
    ],
  ];
  await withFolder(async (folder) => {
    for (const [args, line] of cases) {
      assertOneLineFailure(await run(args, { cwd: folder }), 2, line);
    }
    // Wrong usage is found before any file is touched.
    assert.deepEqual(strayFiles(folder), []);
  });
});

test("main() reports unreadable and invalid files as one line on stderr with exit code 1", async () => {
  await withFolder(async (folder) => {
    mkdirSync(join(folder, "folder.json"));
    writeFileSync(join(folder, "corrupt.json"), '{"interactions": [');
    writeFileSync(join(folder, "wrong.yaml"), "interactions:\n  - request: 42\n");
    const cases: [string[], string | RegExp][] = [
      [["inspect", "missing.json"], 'x-replay: inspect: cannot read "missing.json": no such file'],
      [
        ["validate", "missing.yaml"],
        'x-replay: validate: cannot read "missing.yaml": no such file',
      ],
      [
        ["convert", "missing.json", "x.yaml"],
        'x-replay: convert: cannot read "missing.json": no such file',
      ],
      [["inspect", "folder.json"], 'x-replay: inspect: cannot read "folder.json": it is a folder'],
      [
        ["inspect", "corrupt.json"],
        /^x-replay: inspect: "corrupt\.json" is not a valid cassette: Cannot parse cassette: invalid JSON.* \(run "x-replay validate corrupt\.json" to list every problem\)$/,
      ],
      [
        ["inspect", "wrong.yaml"],
        'x-replay: inspect: "wrong.yaml" is not a valid cassette: interactions[0].request: expected an object, ' +
        'got number 42 (line 2, column 14) (run "x-replay validate wrong.yaml" to list every problem)',
      ],
      [
        ["convert", "corrupt.json", "out.yaml"],
        /^x-replay: convert: "corrupt\.json" is not a valid cassette: /,
      ],
    ];
    for (const [args, line] of cases) {
      assertOneLineFailure(await run(args, { cwd: folder }), 1, line);
    }
    // A failed conversion writes nothing.
    assert.ok(!existsSync(join(folder, "out.yaml")));
    assert.ok(!existsSync(join(folder, "x.yaml")));
  });
});

test("main() reports an output it cannot write as one line with exit code 1", async () => {
  await withFixture(async (folder) => {
    writeFileSync(join(folder, "file"), "");
    const result = await run(["convert", "c.json", "file/out.yaml"], { cwd: folder });
    assertOneLineFailure(result, 1, /^x-replay: convert: cannot write "file\/out\.yaml": /);
  });
});

test("main() rejects arguments that are not an array of strings", async () => {
  await assert.rejects(main("inspect" as unknown as string[]), TypeError);
  await assert.rejects(main([1] as unknown as string[]), TypeError);
});

// --- the real program -------------------------------------------------------

interface ChildRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const deno = (globalThis as { Deno?: unknown }).Deno !== undefined;
const compiled = !import.meta.url.endsWith(".ts");

/**
 * How to start the CLI as its own process. From TypeScript sources: the
 * entry module with the current runtime (`deno run -A` on Deno). From the
 * compiled suite (Node and Bun against the installed npm package): the
 * package's `x-replay` bin, through its node_modules/.bin symlink.
 */
function cliCommand(): { file: string; args: string[]; cwd: string; bin: string | undefined } {
  if (!compiled) {
    const entry = fileURLToPath(new URL("../src/cli/mod.ts", import.meta.url));
    return {
      file: process.execPath,
      args: deno ? ["run", "-A", entry] : [entry],
      cwd: dirname(dirname(entry)),
      bin: undefined,
    };
  }
  const entry = fileURLToPath(import.meta.resolve("@x/replay/cli"));
  const packageRoot = dirname(dirname(dirname(dirname(entry))));
  const manifest = JSON.parse(readFileSync(join(packageRoot, "package.json"), "utf8"));
  assert.equal(join(packageRoot, manifest.bin["x-replay"]), entry, "the bin is the cli module");
  const bin = join(dirname(dirname(packageRoot)), ".bin", "x-replay");
  assert.equal(realpathSync(bin), realpathSync(entry), "node_modules/.bin/x-replay links to it");
  return { file: process.execPath, args: [bin], cwd: dirname(dirname(dirname(packageRoot))), bin };
}

function runChild(file: string, args: readonly string[], cwd: string): Promise<ChildRun> {
  const child = spawn(file, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (data: string) => (stdout += data));
  child.stderr.setEncoding("utf8").on("data", (data: string) => (stderr += data));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("x-replay runs as a program: help, inspect --json, and a one-line failure", async () => {
  const command = cliCommand();
  await withFixture(async (folder) => {
    const path = join(folder, "c.yaml");
    const help = await runChild(command.file, [...command.args, "--help"], command.cwd);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^Usage: x-replay <command> \[options\]\n/);

    const inspect = await runChild(
      command.file,
      [...command.args, "inspect", path, "--json"],
      command.cwd,
    );
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual(JSON.parse(inspect.stdout), EXPECTED_ROWS);

    const missing = join(folder, "missing.json");
    const failure = await runChild(
      command.file,
      [...command.args, "validate", missing],
      command.cwd,
    );
    assert.equal(failure.code, 1);
    assert.equal(failure.stdout, "");
    assert.equal(
      failure.stderr,
      `x-replay: validate: cannot read ${JSON.stringify(missing)}: no such file\n`,
    );

    const usage = await runChild(
      command.file,
      [...command.args, "inspect", "--port", "1"],
      command.cwd,
    );
    assert.equal(usage.code, 2);
    assert.equal(
      usage.stderr,
      'x-replay: inspect: unknown option "--port" (see "x-replay inspect --help")\n',
    );

    if (command.bin !== undefined) {
      // The bin also runs on its own, through its #!/usr/bin/env node line.
      const direct = await runChild(command.bin, ["validate", path], command.cwd);
      assert.equal(direct.code, 0, direct.stderr);
      assert.equal(direct.stdout, `${path}: OK, 6 interactions\n`);
    }
  });
});

// --- serve ------------------------------------------------------------------

interface HttpAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A plain node:http request, as any HTTP client would make it. */
function httpRequest(
  url: string,
  method = "GET",
  headers: Record<string, string> = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method, headers }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (piece: string) => (body += piece));
      response.on(
        "end",
        () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }),
      );
      response.on("error", reject);
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** A cassette as the fetch adapter records it: absolute URL targets, status and headers in chunk 0. */
function httpCassette(): string {
  const greeting = createRequest({
    protocol: "http",
    action: "GET",
    target: "https://api.example.com/v1/greeting",
  });
  return stringifyCassette(createCassette([
    createInteraction(greeting, [
      createChunk("Hel", 0, [["status_code", "200"], ["header:content-type", "text/plain"]]),
      "lo",
    ]),
  ]));
}

test("main() serve replays a cassette over HTTP until stopped", async () => {
  await withFolder(async (folder) => {
    writeFileSync(join(folder, "c.json"), httpCassette());
    const server = await startServe(["c.json", "--port", "0"], folder);
    let stopped = false;
    try {
      const hit = await httpRequest(`${server.url}/v1/greeting`);
      assert.equal(hit.status, 200);
      assert.equal(hit.headers["content-type"], "text/plain");
      assert.equal(hit.body, "Hello");
      const miss = await httpRequest(`${server.url}/v1/other`);
      assert.equal(miss.status, 500);
      assert.match(miss.body, /^Interaction Not Found\n/);
      assert.equal(await server.stop(), 0);
      stopped = true;
      assert.equal(server.stderr(), "");
      assert.equal(server.stdout(), `listening on ${server.url}\n`);
      // The port is closed.
      await assert.rejects(httpRequest(`${server.url}/v1/greeting`));
    } finally {
      if (!stopped) await server.stop();
    }
  });
});

test("main() serve --mode auto is a recording proxy whose cassette then replays", async () => {
  const upstream = createServer((incoming, outgoing) => {
    outgoing.writeHead(200, { "content-type": "text/event-stream" });
    outgoing.write(`data: ${incoming.method} ${incoming.url}\n\n`);
    setTimeout(() => outgoing.end("data: [DONE]\n\n"), 5);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  try {
    await withFolder(async (folder) => {
      const live = await serving(
        ["cassettes/proxy.yaml", "--mode", "auto", "--upstream", upstreamUrl],
        folder,
        (recorder) => httpRequest(`${recorder.url}/v1/stream?x=1`),
      );
      assert.equal(live.status, 200);
      assert.equal(live.body, "data: GET /v1/stream?x=1\n\ndata: [DONE]\n\n");
      const recorded = parseCassette(
        readFileSync(join(folder, "cassettes", "proxy.yaml"), "utf8"),
        { format: "yaml" },
      );
      assert.equal(recorded.interactions.length, 1);
      assert.equal(recorded.interactions[0]!.request.target, `${upstreamUrl}/v1/stream?x=1`);

      // The upstream is no longer needed: replay mode answers from the file.
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
      await serving(["cassettes/proxy.yaml"], folder, async (player) => {
        const replayed = await httpRequest(`${player.url}/v1/stream?x=1`);
        assert.equal(replayed.status, 200);
        assert.equal(replayed.headers["content-type"], "text/event-stream");
        assert.equal(replayed.body, live.body);
      });
    });
  } finally {
    upstream.closeAllConnections();
    if (upstream.listening) await new Promise((resolve) => upstream.close(resolve));
  }
});

test("main() serve passes --origin, --miss-status and --match-header to the server", async () => {
  await withFolder(async (folder) => {
    const recorded = (target: string, body: string, headers: [string, string][] = []) =>
      createInteraction(
        createRequest({ protocol: "http", action: "GET", target, headers }),
        [createChunk(body, 0, [["status_code", "200"]])],
      );
    writeFileSync(
      join(folder, "two-hosts.yaml"),
      stringifyCassette(
        createCassette([
          recorded("https://a.example.com/who", "a"),
          recorded("https://b.example.com/who", "b"),
          recorded("https://b.example.com/private", "secret", [["x-tenant", "k1"]]),
        ]),
        { format: "yaml" },
      ),
    );
    // Two recorded hosts: without --origin the request's own origin is used, which misses.
    await serving(["two-hosts.yaml", "--miss-status", "404"], folder, async (plain) => {
      const miss = await httpRequest(`${plain.url}/who`);
      assert.equal(miss.status, 404);
      assert.match(miss.body, /^Interaction Not Found\n/);
    });
    await serving(
      ["two-hosts.yaml", "--origin", "https://b.example.com", "--match-header", "X-Tenant"],
      folder,
      async (b) => {
        const hit = await httpRequest(`${b.url}/who`);
        assert.equal(hit.status, 200);
        assert.equal(hit.body, "b");
        // The header takes part in matching: without it the private answer is a miss.
        assert.equal((await httpRequest(`${b.url}/private`)).status, 500);
        const withKey = await httpRequest(`${b.url}/private`, "GET", { "x-tenant": "k1" });
        assert.equal(withKey.status, 200);
        assert.equal(withKey.body, "secret");
      },
    );
  });
});

test("main() serve reports a missing cassette and a taken port as one line", async () => {
  await withFolder(async (folder) => {
    assertOneLineFailure(
      await run(["serve", "missing.json"], { cwd: folder }),
      1,
      'x-replay: serve: cannot read "missing.json": no such file',
    );
    writeFileSync(join(folder, "c.json"), httpCassette());
    const taken = createServer(() => {});
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      assertOneLineFailure(
        await run(["serve", "c.json", "--port", String(port)], { cwd: folder }),
        1,
        `x-replay: serve: cannot listen on 127.0.0.1:${port}: the address is already in use`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

test("x-replay serve runs as a program and exits 0 on SIGTERM", async () => {
  const command = cliCommand();
  await withFolder(async (folder) => {
    const path = join(folder, "c.json");
    writeFileSync(path, httpCassette());
    const child = spawn(command.file, [...command.args, "serve", path, "--port", "0"], {
      cwd: command.cwd,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (data: string) => (stderr += data));
    const exited = new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code) => resolve(code));
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding("utf8").on("data", (data: string) => {
          stdout += data;
          const found = /^listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
          if (found) resolve(found[1]!);
        });
        exited.then((code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
      });
      const hit = await httpRequest(`${url}/v1/greeting`);
      assert.equal(hit.body, "Hello");
      // process.kill() rather than child.kill(): Deno's node:child_process
      // reports a child it was asked to kill as killed by that signal, even
      // when the child handled it and exited with 0.
      process.kill(child.pid!, "SIGTERM");
      assert.equal(await exited, 0, stderr);
      assert.equal(stderr, "");
      assert.equal(stdout, `listening on ${url}\n`);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited.catch(() => {});
    }
  });
});

test("main() compact folds a journal store's appended lines into the snapshot", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "c.json");
    const store = journalStore(path, { createIfMissing: true });
    const first = parseCassette(FIXTURE);
    store.save(first);
    assert.ok(existsSync(store.journalPath));
    const compacted = await run(["compact", "c.json"], { cwd: folder });
    assert.deepEqual(compacted, {
      code: 0,
      stdout: "c.json: compacted, 6 interactions\n",
      stderr: "",
    });
    assert.equal(existsSync(store.journalPath), false);
    assert.deepEqual(fileStore(path).load(), first);
    assert.deepEqual(await run(["compact", "c.json"], { cwd: folder }), {
      code: 0,
      stdout: "c.json: no journal, nothing to compact\n",
      stderr: "",
    });
    assertOneLineFailure(
      await run(["compact", "c.yaml"], { cwd: folder }),
      2,
      /journal stores keep JSON cassettes only/,
    );
  });
});

// --- journals ---------------------------------------------------------------

/**
 * A folder holding the fixture as a journal store keeps it: `c.json`, a
 * snapshot of the first four interactions, and `c.json.journal` with the
 * last two.
 */
function withJournalFixture(body: (folder: string) => Promise<void>): Promise<void> {
  return withFolder(async (folder) => {
    const store = journalStore(join(folder, "c.json"), { createIfMissing: true });
    const fixture = parseCassette(FIXTURE);
    store.save(createCassette(fixture.interactions.slice(0, 4)));
    store.compact();
    store.save(fixture);
    assert.equal(readFileSync(store.journalPath, "utf8").split("\n").length, 3);
    await body(folder);
  });
}

test("main() inspect lists a journal store's snapshot and journal interactions", async () => {
  await withJournalFixture(async (folder) => {
    const json = await run(["inspect", "c.json", "--json"], { cwd: folder });
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), EXPECTED_ROWS);
    const table = await run(["inspect", "c.json"], { cwd: folder });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^ {4}5 {2}http {8}GET {8}\/café /m);

    // A torn last line (a crash mid-append) is dropped, as the store drops it.
    appendFileSync(join(folder, "c.json.journal"), '{"request": {"protocol": "ht');
    const torn = await run(["inspect", "c.json", "--json"], { cwd: folder });
    assert.equal(torn.code, 0, torn.stderr);
    assert.deepEqual(JSON.parse(torn.stdout), EXPECTED_ROWS);

    // Journal stores keep JSON only: beside a YAML cassette a journal is not read.
    writeFileSync(join(folder, "c.yaml"), FIXTURE_YAML);
    writeFileSync(join(folder, "c.yaml.journal"), "not an interaction\n{}\n");
    const yaml = await run(["inspect", "c.yaml", "--json"], { cwd: folder });
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.deepEqual(JSON.parse(yaml.stdout), EXPECTED_ROWS);
  });
});

test("main() validate checks a journal's lines and names the bad ones by line number", async () => {
  await withJournalFixture(async (folder) => {
    const snapshotPath = join(folder, "c.json");
    const journalPath = join(folder, "c.json.journal");
    const snapshot = readFileSync(snapshotPath, "utf8");
    const journal = readFileSync(journalPath, "utf8");
    assert.deepEqual(await run(["validate", "c.json"], { cwd: folder }), {
      code: 0,
      stdout: "c.json: OK, 6 interactions (2 in c.json.journal)\n",
      stderr: "",
    });

    // A torn last line is a warning, not a problem.
    appendFileSync(journalPath, '{"request": {"proto');
    assert.deepEqual(await run(["validate", "c.json"], { cwd: folder }), {
      code: 0,
      stdout: "c.json.journal line 3: warning: the last line has no line end, as a crash in the " +
        "middle of an append leaves it; loading ignores it and the next save cuts it away\n" +
        "c.json: OK, 6 interactions (2 in c.json.journal)\n",
      stderr: "",
    });

    // Problems in the snapshot and in the journal are all listed, each with its place.
    const document = JSON.parse(snapshot);
    document.interactions[2].response_chunks[0].sequence = 3;
    writeFileSync(snapshotPath, JSON.stringify(document));
    const [fourth, fifth] = journal.split("\n");
    const noRequest = { ...JSON.parse(fourth!), request: 42 };
    writeFileSync(
      journalPath,
      `${JSON.stringify(noRequest)}\n${fourth}\n{"request": oops}\n${fifth}\n[1, 2`,
    );
    const result = await run(["validate", "c.json"], { cwd: folder });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, "");
    const lines = result.stdout.trimEnd().split("\n");
    assert.equal(lines.length, 5, result.stdout);
    assert.equal(
      lines[0],
      "c.json: interactions[2].response_chunks[0].sequence: expected 0, got 3",
    );
    assert.equal(lines[1], "c.json.journal line 1: request: expected an object, got number 42");
    assert.match(lines[2]!, /^c\.json\.journal line 3: invalid JSON: \S/);
    assert.match(lines[3]!, /^c\.json\.journal line 5: warning: the last line has no line end/);
    assert.equal(lines[4], "c.json: invalid, 3 problems in 8 interactions");
  });
});

test("main() validate lists every problem of a journal line, each under its line", async () => {
  await withJournalFixture(async (folder) => {
    const journalPath = join(folder, "c.json.journal");
    const [fourth, fifth] = readFileSync(journalPath, "utf8").split("\n");
    const broken = JSON.parse(fourth!);
    broken.fingerprint.value = "1".repeat(64);
    broken.response_chunks[0].sequence = 2;
    broken.metadata = 5;
    writeFileSync(journalPath, `${JSON.stringify(broken)}\n${fifth}\n`);
    const result = await run(["validate", "c.json"], { cwd: folder });
    assert.equal(result.code, 1);
    const lines = result.stdout.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((line) => line.replace(/fingerprint [0-9a-f]{64}/, "fingerprint F")),
      [
        "c.json.journal line 1: metadata: expected an array of [key, value] pairs, got number 5",
        "c.json.journal line 1: response_chunks[0].sequence: expected 0, got 2",
        "c.json.journal line 1: fingerprint.value: expected the request's fingerprint F, got " +
        "1".repeat(64),
        "c.json: invalid, 3 problems in 6 interactions",
      ],
    );
  });
});

test("main() inspect, convert and serve name a journal's bad line, and a missing snapshot", async () => {
  await withJournalFixture(async (folder) => {
    const journalPath = join(folder, "c.json.journal");
    const [fourth, fifth] = readFileSync(journalPath, "utf8").split("\n");
    const noRequest = { ...JSON.parse(fifth!), request: 42 };
    writeFileSync(journalPath, `${fourth}\n${JSON.stringify(noRequest)}\n${fifth}\n`);
    const reason = '"c.json" is not a valid cassette: c.json.journal line 2: request: expected ' +
      'an object, got number 42 (run "x-replay validate c.json" to list every problem)';
    const cases: [string, string[]][] = [
      ["inspect", ["c.json"]],
      ["convert", ["c.json", "out.yaml"]],
      ["serve", ["c.json"]],
      ["serve", ["c.json", "--mode", "auto", "--upstream", "http://127.0.0.1:9"]],
    ];
    for (const [command, args] of cases) {
      assertOneLineFailure(
        await run([command, ...args], { cwd: folder }),
        1,
        `x-replay: ${command}: ${reason}`,
      );
    }
    assert.ok(!existsSync(join(folder, "out.yaml")));

    // A journal without its snapshot: the snapshot is what is missing.
    writeFileSync(journalPath, `${fourth}\n`);
    rmSync(join(folder, "c.json"));
    assertOneLineFailure(
      await run(["inspect", "c.json"], { cwd: folder }),
      1,
      'x-replay: inspect: cannot read "c.json": no such file',
    );
    assertOneLineFailure(
      await run(["serve", "c.json"], { cwd: folder }),
      1,
      'x-replay: serve: cannot read "c.json": no such file',
    );
  });
});

test("main() convert writes a journal cassette as one self-contained file", async () => {
  await withJournalFixture(async (folder) => {
    const toYaml = await run(["convert", "c.json", "out/whole.yaml"], { cwd: folder });
    assert.deepEqual(toYaml, {
      code: 0,
      stdout: "c.json (json, with c.json.journal) -> out/whole.yaml (yaml): 6 interactions\n",
      stderr: "",
    });
    assert.equal(readFileSync(join(folder, "out", "whole.yaml"), "utf8"), FIXTURE_YAML);
    const toJson = await run(["convert", "c.json", "out/whole.json"], { cwd: folder });
    assert.equal(toJson.code, 0, toJson.stderr);
    assert.equal(readFileSync(join(folder, "out", "whole.json"), "utf8"), FIXTURE);
    assert.deepEqual(strayFiles(join(folder, "out"), "whole.yaml", "whole.json"), []);

    // Writing over a snapshot that has a journal would leave the journal
    // following another cassette (in place: the journal read twice).
    const snapshot = readFileSync(join(folder, "c.json"), "utf8");
    for (const args of [["c.json", "c.json", "--force"], ["out/whole.yaml", "c.json", "--force"]]) {
      assertOneLineFailure(
        await run(["convert", ...args], { cwd: folder }),
        1,
        'x-replay: convert: "c.json" has a journal beside it, "c.json.journal", which would ' +
          "then follow another cassette (compact or remove it first, or choose another output)",
      );
    }
    assert.equal(readFileSync(join(folder, "c.json"), "utf8"), snapshot);
    assert.deepEqual(strayFiles(folder, "c.json", "c.json.journal", "out"), []);
  });
});

test("main() serve replays a journal cassette and records by appending to the journal", async () => {
  const upstream = createServer((incoming, outgoing) => {
    outgoing.writeHead(200, { "content-type": "text/plain" });
    outgoing.end(`live ${incoming.url}`);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  try {
    await withFolder(async (folder) => {
      // The snapshot is empty; the recorded greeting sits in the journal only.
      const path = join(folder, "c.json");
      const store = journalStore(path, { createIfMissing: true });
      store.save(parseCassette(httpCassette()));
      const snapshot = readFileSync(path, "utf8");
      assert.equal(parseCassette(snapshot).interactions.length, 0);

      await serving(["c.json"], folder, async (player) => {
        assert.equal((await httpRequest(`${player.url}/v1/greeting`)).body, "Hello");
      });

      await serving(
        [
          "c.json",
          "--mode",
          "auto",
          "--upstream",
          upstreamUrl,
          "--origin",
          "https://api.example.com",
        ],
        folder,
        async (recorder) => {
          assert.equal((await httpRequest(`${recorder.url}/v1/greeting`)).body, "Hello");
          assert.equal((await httpRequest(`${recorder.url}/v1/new`)).body, "live /v1/new");
        },
      );
      // Appended as one more journal line; the snapshot was not rewritten.
      assert.equal(readFileSync(path, "utf8"), snapshot);
      assert.equal(readFileSync(store.journalPath, "utf8").split("\n").length, 3);
      assert.deepEqual(
        journalStore(path).load().interactions.map((interaction) => interaction.request.target),
        ["https://api.example.com/v1/greeting", "https://api.example.com/v1/new"],
      );
      assert.deepEqual(strayFiles(folder, "c.json", "c.json.journal"), []);
    });
  } finally {
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  }
});

/** A folder holding `big.json`, whose two big chunks (equal bytes) live in `big.json.blobs/`. */
function withBlobFixture(
  body: (folder: string, blob: string, inline: string) => Promise<void>,
): Promise<void> {
  return withFolder(async (folder) => {
    const bytes = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
    const cassette = createCassette([
      createInteraction(createRequest({ protocol: "http", action: "GET", target: "/a" }), [
        bytes,
        "tail",
      ]),
      createInteraction(createRequest({ protocol: "http", action: "GET", target: "/b" }), [bytes]),
    ]);
    const path = join(folder, "big.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(cassette);
    const [blob] = readdirSync(`${path}.blobs`);
    await body(folder, blob!, stringifyCassette(cassette));
  });
}

test("main() convert --inline and --blob-threshold move chunks between the file and blob files", async () => {
  await withBlobFixture(async (folder, blob, inline) => {
    const toInline = await run(["convert", "big.json", "whole.json", "--inline"], { cwd: folder });
    assert.equal(toInline.code, 0, toInline.stderr);
    assert.equal(readFileSync(join(folder, "whole.json"), "utf8"), inline);
    assert.ok(!existsSync(join(folder, "whole.json.blobs")));

    const back = await run(["convert", "whole.json", "again.json", "--blob-threshold", "1024"], {
      cwd: folder,
    });
    assert.equal(back.code, 0, back.stderr);
    assert.equal(
      readFileSync(join(folder, "again.json"), "utf8"),
      readFileSync(join(folder, "big.json"), "utf8"),
    );
    assert.deepEqual(readdirSync(join(folder, "again.json.blobs")), [blob]);

    // Without either option the layout is kept, here in another format and
    // over an existing file.
    writeFileSync(join(folder, "kept.yaml"), "interactions: []\n");
    const kept = await run(["convert", "big.json", "kept.yaml", "--force"], { cwd: folder });
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(readFileSync(join(folder, "kept.yaml"), "utf8"), new RegExp(`blob: ${blob}`));
    assert.deepEqual(readdirSync(join(folder, "kept.yaml.blobs")), [blob]);
    assert.deepEqual(
      strayFiles(
        folder,
        "big.json",
        "big.json.blobs",
        "whole.json",
        "again.json",
        "again.json.blobs",
        "kept.yaml",
        "kept.yaml.blobs",
      ),
      [],
    );

    assertOneLineFailure(
      await run(["convert", "big.json", "x.json", "--inline", "--blob-threshold", "9"], {
        cwd: folder,
      }),
      2,
      /--inline and --blob-threshold contradict each other/,
    );
    assertOneLineFailure(
      await run(["convert", "big.json", "x.json", "--blob-threshold", "1k"], { cwd: folder }),
      2,
      /--blob-threshold must be a whole number of bytes >= 1, got "1k"/,
    );
  });
});

test("main() validate reads every blob once and names a missing or altered one", async () => {
  await withBlobFixture(async (folder, blob) => {
    assert.deepEqual(await run(["validate", "big.json"], { cwd: folder }), {
      code: 0,
      stdout: "big.json: OK, 2 interactions, 1 blob file checked\n",
      stderr: "",
    });
    const file = join(folder, "big.json.blobs", blob);
    writeFileSync(file, new Uint8Array(3000));
    const altered = await run(["validate", "big.json"], { cwd: folder });
    assert.equal(altered.code, 1);
    assert.equal(
      altered.stdout,
      `big.json: interactions[0].response_chunks[0].data: Cannot read blob "${
        realpathSync(file)
      }": its bytes hash to ${
        createHash("sha256").update(new Uint8Array(3000)).digest("hex")
      }, not to its name\nbig.json: invalid, 1 problem in 2 interactions\n`,
    );
    rmSync(file);
    const missing = await run(["validate", "big.json"], { cwd: folder });
    assert.match(missing.stdout, /data: Cannot read blob ".*": the file does not exist\n/);
    // inspect needs no blob: sizes come from the references.
    const inspect = await run(["inspect", "big.json", "--json"], { cwd: folder });
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual(JSON.parse(inspect.stdout).map((row: { bytes: number }) => row.bytes), [
      3004,
      3000,
    ]);
    // convert names the input's blob, not the output.
    assertOneLineFailure(
      await run(["convert", "big.json", "whole.json", "--inline"], { cwd: folder }),
      1,
      /^x-replay: convert: cannot read a blob of "big\.json": Cannot read blob ".*": the file does not exist$/,
    );
  });
});

test("main() compact --blobs removes blob files no interaction refers to", async () => {
  await withBlobFixture(async (folder, blob) => {
    const blobs = join(folder, "big.json.blobs");
    writeFileSync(join(blobs, "0".repeat(64)), "orphan");
    writeFileSync(join(blobs, `.${"1".repeat(64)}.123.abcd.tmp`), "left by a crash");
    assert.deepEqual(await run(["compact", "big.json", "--blobs"], { cwd: folder }), {
      code: 0,
      stdout: "big.json: no journal, nothing to compact; removed 2 unused blob files\n",
      stderr: "",
    });
    assert.deepEqual(readdirSync(blobs), [blob]);
    assert.equal((await run(["validate", "big.json"], { cwd: folder })).code, 0);
    // Also for YAML, which has no journal store.
    assert.equal((await run(["convert", "big.json", "big.yaml"], { cwd: folder })).code, 0);
    writeFileSync(join(folder, "big.yaml.blobs", "2".repeat(64)), "orphan");
    assert.deepEqual(await run(["compact", "big.yaml", "--blobs"], { cwd: folder }), {
      code: 0,
      stdout: "big.yaml: no journal, nothing to compact; removed 1 unused blob file\n",
      stderr: "",
    });
    assert.deepEqual(readdirSync(join(folder, "big.yaml.blobs")), [blob]);
  });
});

test("main() validate, compact --blobs and convert handle request bodies kept in blob files", async () => {
  await withFolder(async (folder) => {
    const body = new Uint8Array(3000).map((_, i) => (i * 11) % 256);
    const cassette = createCassette([
      createInteraction(
        createRequest({ protocol: "http", action: "PUT", target: "/file", body }),
        ["small"],
      ),
    ]);
    const path = join(folder, "up.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(cassette);
    const [blob] = readdirSync(`${path}.blobs`);
    assert.deepEqual(await run(["validate", "up.json"], { cwd: folder }), {
      code: 0,
      stdout: "up.json: OK, 1 interaction, 1 blob file checked\n",
      stderr: "",
    });
    // compact --blobs keeps what a request body refers to.
    writeFileSync(join(`${path}.blobs`, "0".repeat(64)), "orphan");
    assert.deepEqual(await run(["compact", "up.json", "--blobs"], { cwd: folder }), {
      code: 0,
      stdout: "up.json: no journal, nothing to compact; removed 1 unused blob file\n",
      stderr: "",
    });
    assert.deepEqual(readdirSync(`${path}.blobs`), [blob]);
    // convert --inline writes the body into the file, and --blob-threshold takes it out again.
    assert.equal(
      (await run(["convert", "up.json", "whole.json", "--inline"], { cwd: folder })).code,
      0,
    );
    assert.equal(readFileSync(join(folder, "whole.json"), "utf8"), stringifyCassette(cassette));
    assert.equal(
      (await run(["convert", "whole.json", "again.json", "--blob-threshold", "1024"], {
        cwd: folder,
      }))
        .code,
      0,
    );
    assert.equal(readFileSync(join(folder, "again.json"), "utf8"), readFileSync(path, "utf8"));
    // Without either, the layout is kept: the body is as big as the smallest blob.
    assert.equal((await run(["convert", "up.json", "kept.yaml"], { cwd: folder })).code, 0);
    assert.deepEqual(readdirSync(join(folder, "kept.yaml.blobs")), [blob]);
    // A body whose blob is missing is a problem at its place.
    rmSync(join(`${path}.blobs`, blob!));
    const missing = await run(["validate", "up.json"], { cwd: folder });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stdout,
      /^up\.json: interactions\[0\]\.request\.body: Cannot read blob ".*": the file does not exist\n/,
    );
  });
});

test("main() validate reports a journal's last line whose body blob is missing, not a torn append", async () => {
  await withFolder(async (folder) => {
    const body = new Uint8Array(3000).map((_, i) => (i * 13) % 256);
    const path = join(folder, "j.json");
    journalStore(path, { createIfMissing: true, blobThreshold: 1024 }).save(
      createCassette([
        createInteraction(
          createRequest({ protocol: "http", action: "PUT", target: "/file", body }),
          ["small"],
        ),
      ]),
    );
    assert.deepEqual(await run(["validate", "j.json"], { cwd: folder }), {
      code: 0,
      stdout: "j.json: OK, 1 interaction (1 in j.json.journal), 1 blob file checked\n",
      stderr: "",
    });
    const [blob] = readdirSync(`${path}.blobs`);
    rmSync(join(`${path}.blobs`, blob!));
    const missing = await run(["validate", "j.json"], { cwd: folder });
    assert.equal(missing.code, 1);
    assert.match(
      missing.stdout,
      /^j\.json\.journal line 1: request\.body: Cannot read blob ".*": the file does not exist\n/,
    );
    assert.doesNotMatch(missing.stdout, /torn|cut short/);
    // Loading refuses it too, rather than dropping the line.
    assert.throws(() => journalStore(path).load(), /Cannot read blob/);
  });
});

test("main() serve --blob-threshold records big streamed chunks into blob files", async () => {
  const big = "x".repeat(5000);
  const upstream = createServer((_incoming, outgoing) => {
    outgoing.writeHead(200, { "content-type": "application/octet-stream" });
    outgoing.end(big);
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  try {
    await withFolder(async (folder) => {
      assertOneLineFailure(
        await run(["serve", "big.json", "--blob-threshold", "1024"], { cwd: folder }),
        2,
        /--blob-threshold is only used with --mode record or auto/,
      );
      await serving(
        ["big.json", "--mode", "record", "--upstream", upstreamUrl, "--blob-threshold", "1024"],
        folder,
        async (recorder) => {
          assert.equal((await httpRequest(`${recorder.url}/file`)).body, big);
        },
      );
      // However the body was split on its way, no big piece is in the file:
      // each is a blob file.
      const text = readFileSync(join(folder, "big.json"), "utf8");
      assert.ok(!text.includes("x".repeat(1024)), "no big chunk is in the cassette file");
      const blobs = readdirSync(join(folder, "big.json.blobs"));
      assert.ok(blobs.length >= 1);
      for (const name of blobs) {
        assert.match(readFileSync(join(folder, "big.json.blobs", name), "utf8"), /^x{1024,}$/);
      }
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
      await serving(["big.json"], folder, async (player) => {
        assert.equal((await httpRequest(`${player.url}/file`)).body, big);
      });
    });
  } finally {
    upstream.closeAllConnections();
    if (upstream.listening) await new Promise((resolve) => upstream.close(resolve));
  }
});
