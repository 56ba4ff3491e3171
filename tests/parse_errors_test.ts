// Every error parseCassette() gives for a broken cassette, compared with the
// errors of the implementation before chunk bytes were made lazily (ADR 0050):
// tests/fixtures/parse_errors.json holds, for each broken document below in
// JSON and in YAML, the error class, path, line, column and message that the
// earlier implementation gave. Lazy bytes must not make any error later,
// vaguer or different.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { stringify as stringifyYaml } from "yaml";
import {
  CassetteFormatError,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  parseCassette,
  stringifyCassette,
} from "@x/replay";

const base = stringifyCassette(createCassette([
  createInteraction(
    createRequest({ protocol: "http", action: "GET", target: "/a", headers: [["x", "1"]] }),
    [createChunk("hi", 0, [["status_code", "200"]])],
  ),
  createInteraction(
    createRequest({ protocol: "http", action: "POST", target: "/b", body: "p" }),
    ["a", "b", new Uint8Array([0xff, 1])],
    { metadata: [["k", "v"]] },
  ),
]));

// The edits poke at arbitrary places of parsed JSON, which has no useful static type.
// deno-lint-ignore no-explicit-any
type Edit = (document: any) => void;
const edits: [string, Edit][] = [
  ["no request", (d) => delete d.interactions[0].request],
  ["item 5", (d) => (d.interactions[1] = 5)],
  ["request null", (d) => (d.interactions[1].request = null)],
  ["protocol 1", (d) => (d.interactions[1].request.protocol = 1)],
  ["action lone", (d) => (d.interactions[1].request.action = "\ud800")],
  ["target arr", (d) => (d.interactions[0].request.target = [])],
  ["headers obj", (d) => (d.interactions[0].request.headers = {})],
  ["headers pair short", (d) => (d.interactions[0].request.headers = [["a"]])],
  ["headers pair val", (d) => (d.interactions[0].request.headers[0][1] = 2)],
  ["headers pair key lone", (d) => (d.interactions[0].request.headers[0][0] = "\udc00")],
  ["body 5", (d) => (d.interactions[1].request.body = 5)],
  ["body lone", (d) => (d.interactions[1].request.body = "\ud800")],
  ["body b64 bad", (d) => (d.interactions[1].request.body = { base64: "QR==" })],
  ["fp missing", (d) => delete d.interactions[0].fingerprint],
  ["fp str", (d) => (d.interactions[0].fingerprint = "abc")],
  ["fp upper", (d) => (d.interactions[0].fingerprint.value = "ABC")],
  ["fp num", (d) => (d.interactions[0].fingerprint.value = 5)],
  ["fp mismatch", (d) => (d.interactions[0].fingerprint.value = "0".repeat(64))],
  ["fp mismatch + bad seq", (d) => {
    d.interactions[0].fingerprint.value = "0".repeat(64);
    d.interactions[0].response_chunks[0].sequence = 3;
  }],
  ["fp bad + bad seq", (d) => {
    d.interactions[0].fingerprint.value = "zz";
    d.interactions[0].response_chunks[0].sequence = 3;
  }],
  ["target changed", (d) => (d.interactions[0].request.target = "/other")],
  ["chunks obj", (d) => (d.interactions[0].response_chunks = {})],
  ["chunks empty", (d) => (d.interactions[0].response_chunks = [])],
  ["chunk 5", (d) => (d.interactions[1].response_chunks[1] = 5)],
  ["chunk data arr", (d) => (d.interactions[1].response_chunks[2].data = [1])],
  ["chunk data lone", (d) => (d.interactions[1].response_chunks[1].data = "a\ud800")],
  ["chunk data b64 bad", (d) => (d.interactions[1].response_chunks[2].data = { base64: "not!" })],
  ["chunk data b64 stray", (d) => (d.interactions[1].response_chunks[2].data = { base64: "QR==" })],
  ["chunk data b64 num", (d) => (d.interactions[1].response_chunks[2].data = { base64: 5 })],
  ["chunk data null", (d) => (d.interactions[1].response_chunks[2].data = null)],
  ["chunk data missing", (d) => delete d.interactions[1].response_chunks[2].data],
  [
    "chunk blob",
    (d) => (d.interactions[1].response_chunks[2].data = { blob: "a".repeat(64), size: 2 }),
  ],
  ["seq str", (d) => (d.interactions[1].response_chunks[1].sequence = "1")],
  ["seq neg", (d) => (d.interactions[1].response_chunks[1].sequence = -1)],
  ["seq frac", (d) => (d.interactions[1].response_chunks[1].sequence = 1.5)],
  ["seq wrong", (d) => (d.interactions[1].response_chunks[1].sequence = 2)],
  ["seq missing", (d) => delete d.interactions[1].response_chunks[1].sequence],
  ["chunk meta obj", (d) => (d.interactions[1].response_chunks[0].metadata = { a: 1 })],
  ["chunk meta triple", (d) => (d.interactions[1].response_chunks[0].metadata = [["a", "b", "c"]])],
  ["chunk meta val", (d) => (d.interactions[0].response_chunks[0].metadata[0][1] = 200)],
  ["meta triple", (d) => (d.interactions[1].metadata = [["a", "b", "c"]])],
  ["meta null", (d) => (d.interactions[1].metadata = null)],
  ["meta val lone", (d) => (d.interactions[1].metadata[0][0] = "\ud800")],
  ["two problems chunk then meta", (d) => {
    d.interactions[1].response_chunks[1].data = 1;
    d.interactions[1].metadata = 5;
  }],
  ["headers bad + body bad", (d) => {
    d.interactions[0].request.headers = 5;
    d.interactions[0].request.body = 5;
  }],
];

const expected = JSON.parse(
  readFileSync(new URL("./fixtures/parse_errors.json", import.meta.url), "utf8"),
) as Record<string, string>;

test("parseCassette() gives exactly the errors it gave before bytes were made lazily", () => {
  assert.equal(Object.keys(expected).length, edits.length * 2);
  for (const [name, edit] of edits) {
    for (const format of ["json", "yaml"] as const) {
      const document = JSON.parse(base);
      edit(document);
      const text = format === "json" ? JSON.stringify(document, null, 2) : stringifyYaml(document);
      let got = "OK";
      try {
        parseCassette(text, { format });
      } catch (error) {
        // Only CassetteFormatError has a line and column (Bun puts its own on every error).
        const { path } = error as { path: string };
        const { line, column } = error instanceof CassetteFormatError
          ? error
          : { line: undefined, column: undefined };
        got = `${(error as Error).constructor.name} ${path} ${line ?? ""}:${column ?? ""} ${
          (error as Error).message
        }`;
      }
      assert.equal(got, expected[`${name} ${format}`], `${name} (${format})`);
    }
  }
});

test("parseCassette() makes chunk bytes on first read, the same bytes on every read", () => {
  const cassette = parseCassette(base);
  const [text, , binary] = cassette.interactions[1]!.responseChunks;
  for (const chunk of [text!, binary!]) {
    const descriptor = Object.getOwnPropertyDescriptor(chunk, "data");
    assert.ok(descriptor?.enumerable, "data is an own, enumerable property");
    assert.ok(Object.isFrozen(chunk));
    assert.equal(chunk.data, chunk.data);
    assert.deepEqual(Object.keys(chunk), ["data", "sequence", "metadata"]);
  }
  assert.deepEqual([...text!.data], [0x61]);
  assert.deepEqual([...binary!.data], [0xff, 1]);
  // Equal to the same cassette built in code, chunk by chunk.
  assert.deepEqual(cassette, parseCassette(stringifyCassette(cassette)));
  assert.deepEqual(
    cassette.interactions[1]!.responseChunks.map((chunk) => ({ ...chunk })),
    ["a", "b", new Uint8Array([0xff, 1])].map((data, sequence) => ({
      ...createChunk(data, sequence),
    })),
  );
});

/** The longest text `body` hands to `JSON.parse`, and how many times it calls it. */
function jsonParseCalls(
  body: () => void,
  texts?: string[],
): { calls: number; longest: number } {
  const original = JSON.parse;
  const seen = { calls: 0, longest: 0 };
  JSON.parse = (text: string, reviver?: Parameters<typeof JSON.parse>[1]) => {
    seen.calls++;
    seen.longest = Math.max(seen.longest, text.length);
    texts?.push(text);
    return original(text, reviver);
  };
  try {
    body();
  } finally {
    JSON.parse = original;
  }
  return seen;
}

test("parseCassette() reads JSON in stringifyCassette()'s layout a few interactions at a time", () => {
  const interactions = parseCassette(base).interactions;
  const many = stringifyCassette(
    createCassette(Array.from({ length: 300 }, (_, i) => interactions[i % 2]!)),
  );
  for (const text of [many, many.trimEnd()]) {
    const seen = jsonParseCalls(() => parseCassette(text));
    assert.ok(seen.calls > 2, `${seen.calls} calls`);
    assert.ok(seen.longest < text.length / 2, `${seen.longest} characters at once`);
  }
  // Another layout is parsed whole, at once.
  const oneLine = JSON.stringify(JSON.parse(many));
  assert.deepEqual(jsonParseCalls(() => parseCassette(oneLine)), {
    calls: 1,
    longest: oneLine.length,
  });
});

test("parseCassette() reads a long JSON item from the text as it stands, not copied into a piece", () => {
  const big = (i: number) =>
    createInteraction(
      createRequest({ protocol: "http", action: "GET", target: `/big/${i}` }),
      [createChunk("x".repeat(100_000 + i), 0), createChunk("y".repeat(70_000), 1)],
    );
  const small = parseCassette(base).interactions;
  // Long items first, among short ones, last, and one after another.
  const interactions = [big(0), ...small, big(1), ...small, big(2), big(3), ...small, big(4)];
  const cassette = createCassette(interactions);
  const text = stringifyCassette(cassette);
  const texts: string[] = [];
  jsonParseCalls(() => assert.deepEqual(parseCassette(text), cassette), texts);
  assert.ok(texts.length > 5, `${texts.length} calls`);
  for (const piece of texts) {
    // A long one holds one item, and is no copy with brackets around it.
    if (piece.length > 65_536) {
      assert.ok(piece.startsWith("{") && piece.length < 200_000, piece.slice(0, 40));
    }
  }
});

test("parseCassette() reads JSON in any layout, one item at a time or whole", () => {
  const cassette = parseCassette(base);
  const document = JSON.parse(base);
  // Chunks at the items' own indentation: the cut between items falls inside
  // an interaction, so the pieces do not parse and the whole text is read.
  const chunksAtItemDepth = atItemDepth(base);
  assert.notEqual(chunksAtItemDepth, base);
  const variants = [
    base,
    base.trimEnd(),
    `${base}\n\n`,
    base.replaceAll("\n", "\r\n"),
    JSON.stringify(document),
    JSON.stringify(document, null, 4),
    JSON.stringify({ ...document, future_key: 1 }, null, 2),
    JSON.stringify({ future_key: 1, ...document }, null, 2),
    // A second "interactions" key wins, as in JSON.parse.
    base.replace("\n  ]\n}", '\n  ],\n  "interactions": []\n}'),
    chunksAtItemDepth,
  ];
  for (const [i, text] of variants.entries()) {
    const expected = i === 8 ? createCassette([]) : cassette;
    assert.deepEqual(parseCassette(text), expected, text.slice(0, 80));
  }
  // Long enough for several pieces, with so many chunks to an interaction
  // (about 6 KB each) that the cut before a piece's 64 KiB falls between
  // chunks.
  const chunky = createInteraction(
    createRequest({ protocol: "http", action: "GET", target: "/many" }),
    Array.from({ length: 40 }, (_, i) => `chunk ${i} ${"x".repeat(50)}`),
  );
  const many = createCassette(Array.from({ length: 60 }, () => chunky));
  const manyText = atItemDepth(stringifyCassette(many));
  assert.ok(manyText.length > 150_000);
  const seen = jsonParseCalls(() => assert.deepEqual(parseCassette(manyText), many));
  assert.equal(seen.longest, manyText.length, "read whole after a piece failed");
});

/** `text` with its chunks moved to the indentation of the interactions. */
function atItemDepth(text: string): string {
  return text.replace(/"response_chunks": \[\n( *)\{/g, '"response_chunks": [\n    {')
    .replace(/\n {8}\},\n {8}\{/g, "\n    },\n    {");
}

test("parseCassette() of JSON reports a syntax error before any problem in an earlier interaction", () => {
  // Read one interaction at a time, the first problem found would be the
  // first item's; JSON.parse of the whole text reports the syntax error, and
  // so must parseCassette().
  const document = JSON.parse(base);
  for (const [name, edit] of edits) {
    const broken = JSON.parse(base);
    edit(broken);
    if (!Array.isArray(broken.interactions)) continue;
    const text = `${
      JSON.stringify({ interactions: [broken.interactions[0], document.interactions[1]] }, null, 2)
    }\n`
      .replace('"action": "POST",', '"action": "POST",,');
    const line = text.slice(0, text.indexOf(",,")).split("\n").length;
    assert.throws(
      () => parseCassette(text),
      (error: unknown) =>
        error instanceof CassetteFormatError && error.path === "" &&
        /invalid JSON/.test(error.message) && (error.line === undefined || error.line === line),
      name,
    );
  }
});

test("parseCassette() shares equal pair lists and pairs between interactions", () => {
  const get = (target: string, headers: [string, string][]) =>
    createRequest({ protocol: "http", action: "GET", target, headers });
  const status = (code: string) =>
    [["status_code", code], ["offset_ms", "0"]] as [string, string][];
  const built = createCassette([
    createInteraction(get("/a", [["accept", "*/*"], ["x", "1"]]), [
      createChunk("a", 0, status("200")),
    ]),
    createInteraction(get("/b", [["accept", "*/*"], ["x", "1"]]), [
      createChunk("b", 0, status("200")),
    ]),
    createInteraction(get("/c", [["accept", "*/*"], ["x", "2"]]), [
      createChunk("c", 0, status("404")),
    ]),
  ]);
  for (const format of ["json", "yaml"] as const) {
    const parsed = parseCassette(stringifyCassette(built, { format }), { format });
    assert.deepEqual(parsed, built);
    const [a, b, c] = parsed.interactions.map((interaction) => interaction.request.headers);
    const [ca, cb, cc] = parsed.interactions.map((interaction) =>
      interaction.responseChunks[0]!.metadata
    );
    // Equal lists in the same place are one list; otherwise equal pairs are one pair.
    assert.equal(a, b, format);
    assert.equal(ca, cb, format);
    assert.notEqual(b, c);
    assert.equal(c![0], a![0], format);
    assert.equal(cc![1], ca![1], format);
    assert.deepEqual(c, [["accept", "*/*"], ["x", "2"]]);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c![1]));
  }
});

test("parseCassette() reads YAML in any layout, one item at a time or whole", () => {
  const json = parseCassette(base);
  const yaml = stringifyCassette(json, { format: "yaml" });
  assert.ok(yaml.startsWith("interactions:\n  - "), "the layout read one item at a time");
  const anchored = stringifyYaml(JSON.parse(base)).replace(
    /(\n {2}- request:\n {6}protocol:) http/,
    "$1 &proto http",
  ).replace(/(\n {2}- request:\n(?:.*\n)*? {6}protocol:) http(\n(?:.*\n)*?$)/, "$1 *proto$2");
  assert.ok(anchored.includes("&proto") && anchored.includes("*proto"), anchored);
  const variants = [
    yaml,
    // Comments, a document marker, another top-level key, an alias across items, flow style.
    `# recorded by hand\n${yaml}`,
    `---\n${yaml}...\n`,
    `${yaml}future_key: 1\n`,
    anchored,
    `interactions: ${JSON.stringify(JSON.parse(base).interactions)}\n`,
    yaml.replace("\n  - ", "\n  # the second one follows\n  - "),
  ];
  for (const text of variants) {
    assert.deepEqual(parseCassette(text, { format: "yaml" }), json, text.slice(0, 60));
  }
});
