import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import {
  type Cassette,
  CassetteFormatError,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  InteractionValidationError,
  parseCassette,
  replay,
  stringifyCassette,
} from "@x/replay";
import { pythonLoadCassette } from "./_python.ts";

const fixtureText = readFileSync(
  new URL("./fixtures/interposition-0.6-cassette.json", import.meta.url),
  "utf8",
);
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const formats = ["json", "yaml"] as const;

// --- interposition interop -------------------------------------------------

test("parseCassette() reads interposition 0.6's cassette and every interaction replays", () => {
  const raw = JSON.parse(fixtureText);
  const cassette = parseCassette(fixtureText);
  assert.equal(cassette.interactions.length, raw.interactions.length);
  raw.interactions.forEach((entry: { fingerprint: { value: string } }, i: number) => {
    const interaction = cassette.interactions[i]!;
    assert.equal(interaction.fingerprint, entry.fingerprint.value);
    const first = raw.interactions.find((other: { fingerprint: { value: string } }) =>
      other.fingerprint.value === entry.fingerprint.value
    );
    const texts = [...replay(cassette, interaction.request)].map((chunk) => decode(chunk.data));
    assert.deepEqual(texts, first.response_chunks.map((chunk: { data: string }) => chunk.data));
  });
  const sse = cassette.interactions[1]!;
  assert.deepEqual(sse.metadata, [["recorded_at", "2026-01-05T00:00:00Z"]]);
  assert.deepEqual(sse.responseChunks[0]!.metadata, [["status_code", "200"]]);
});

test("stringifyCassette() writes interposition's file back byte for byte", () => {
  assert.equal(stringifyCassette(parseCassette(fixtureText)), fixtureText);
});

/** Generated interaction fields as a cassette; chunk i carries sequence i. */
interface GeneratedInteraction {
  readonly protocol: string;
  readonly action: string;
  readonly target: string;
  readonly headers: [string, string][];
  readonly body: string | Uint8Array;
  readonly chunks: [string | Uint8Array, [string, string][]][];
  readonly metadata: [string, string][];
}

function cassetteOf(list: readonly GeneratedInteraction[]): Cassette {
  return createCassette(list.map((item) =>
    createInteraction(
      createRequest(item),
      item.chunks.map(([data, metadata], i) => createChunk(data, i, metadata)),
      { metadata: item.metadata },
    )
  ));
}

const utf8Text = fc.string({ unit: "binary", maxLength: 20 });
const pairs = fc.array(fc.tuple(utf8Text, utf8Text), { maxLength: 3 });
const textCassette: fc.Arbitrary<Cassette> = fc
  .array(
    fc.record({
      protocol: utf8Text,
      action: utf8Text,
      target: utf8Text,
      headers: pairs,
      body: utf8Text,
      chunks: fc.array(fc.tuple(utf8Text, pairs), { minLength: 1, maxLength: 4 }),
      metadata: pairs,
    }),
    { maxLength: 6 },
  )
  .map(cassetteOf);

test("stringifyCassette() JSON of text-only cassettes loads the way interposition 0.6 loads it (CPython)", () => {
  const samples = fc.sample(textCassette, { numRuns: 40, seed: 7 });
  const all = createCassette(samples.flatMap((cassette) => cassette.interactions));
  const loaded = pythonLoadCassette(stringifyCassette(all));
  assert.deepEqual(
    loaded,
    all.interactions.map((interaction) =>
      interaction.responseChunks.map((chunk) => decode(chunk.data))
    ),
  );
});

// --- bytes ---------------------------------------------------------------

test("stringifyCassette() writes non-UTF-8 bytes as base64 and text as text", () => {
  const request = createRequest({
    protocol: "http",
    action: "POST",
    target: "/img",
    body: new Uint8Array([0xff, 0x00]),
  });
  const cassette = createCassette([
    createInteraction(request, [new Uint8Array([0x89, 0x50]), "plain"]),
  ]);
  const document = JSON.parse(stringifyCassette(cassette));
  const interaction = document.interactions[0];
  assert.deepEqual(interaction.request.body, { base64: "/wA=" });
  assert.deepEqual(interaction.response_chunks[0].data, { base64: "iVA=" });
  assert.equal(interaction.response_chunks[1].data, "plain");
  assert.deepEqual(Object.keys(interaction), [
    "request",
    "fingerprint",
    "response_chunks",
    "metadata",
  ]);
  assert.deepEqual(Object.keys(interaction.request), [
    "protocol",
    "action",
    "target",
    "headers",
    "body",
  ]);
});

test("stringifyCassette() keeps a leading byte-order mark and lone UTF-8 fragments exactly", () => {
  const request = createRequest({ protocol: "p", action: "a", target: "t" });
  const pieces = [
    new Uint8Array([0xef, 0xbb, 0xbf, 0x41]),
    new Uint8Array([0xe2, 0x82]),
    new Uint8Array([0xed, 0xa0, 0x80]),
    new Uint8Array([]),
  ];
  const cassette = createCassette([createInteraction(request, pieces)]);
  for (const format of formats) {
    const back = parseCassette(stringifyCassette(cassette, { format }), { format });
    assert.deepEqual(
      back.interactions[0]!.responseChunks.map((chunk) => [...chunk.data]),
      pieces.map((p) => [...p]),
    );
  }
});

/** Text made of what YAML's block scalars are sensitive to: spaces, tabs, line breaks, indicators. */
const layoutText = fc.string({
  unit: fc.constantFrom(" ", "\t", "\n", "\r", "a", "-", "#", ":", "|"),
  maxLength: 12,
});

const anyCassette: fc.Arbitrary<Cassette> = fc
  .array(
    fc.record({
      protocol: utf8Text,
      action: utf8Text,
      target: fc.oneof(utf8Text, fc.string({ unit: "grapheme", maxLength: 30 }), layoutText),
      headers: fc.oneof(pairs, fc.array(fc.tuple(layoutText, layoutText), { maxLength: 2 })),
      body: fc.oneof(fc.uint8Array({ maxLength: 40 }), utf8Text, layoutText),
      chunks: fc.array(
        fc.tuple(
          fc.oneof(
            fc.uint8Array({ maxLength: 40 }),
            utf8Text,
            layoutText,
            fc.constantFrom(
              "line 1\nline 2\n",
              "  leading\n",
              "trailing  \n\n\n",
              "a\r\nb",
              "tab\there",
              "- not a list",
              "yes",
              "0x1F",
              "null",
              "~",
              "'",
              '"',
              "#",
              ": x",
              "\u2028\u0085",
            ),
          ),
          pairs,
        ),
        { minLength: 1, maxLength: 4 },
      ),
      metadata: pairs,
    }),
    { maxLength: 5 },
  )
  .map(cassetteOf);

for (const format of formats) {
  test(`parseCassette() inverts stringifyCassette() for arbitrary bytes and unicode in ${format} (property)`, () => {
    fc.assert(
      fc.property(anyCassette, (cassette) => {
        const text = stringifyCassette(cassette, { format });
        const back = parseCassette(text, { format });
        assert.deepEqual(back, cassette);
        assert.equal(stringifyCassette(back, { format }), text);
      }),
      { numRuns: 150 },
    );
  });
}

test("parseCassette() of JSON gives the same cassette one item at a time as whole (property)", () => {
  // The layout stringifyCassette() writes is parsed one interaction at a time;
  // the same document on one line is parsed whole.
  fc.assert(
    fc.property(anyCassette, (cassette) => {
      const text = stringifyCassette(cassette);
      assert.deepEqual(parseCassette(text), parseCassette(JSON.stringify(JSON.parse(text))));
    }),
    { numRuns: 150 },
  );
});

test("stringifyCassette() output is deterministic and ends with one newline", () => {
  fc.assert(
    fc.property(anyCassette, (cassette) => {
      for (const format of formats) {
        const text = stringifyCassette(cassette, { format });
        assert.equal(text, stringifyCassette(cassette, { format }));
        assert.ok(text.endsWith("\n") && !text.endsWith("\n\n"));
      }
    }),
    { numRuns: 50 },
  );
});

test("stringifyCassette() YAML writes multi-line text as literal blocks and pairs on one line", () => {
  const yaml = stringifyCassette(parseCassette(fixtureText), { format: "yaml" });
  assert.ok(yaml.includes('      - data: |+\n          data: {"delta":"Hel"}\n\n'), yaml);
  assert.ok(yaml.includes("        - [content-type, application/json]\n"), yaml);
  assert.ok(yaml.includes("      - data: déjà vu 😀\n"), yaml);
  assert.doesNotMatch(yaml, /[&*]a\d/, "no anchors or aliases");
});

test("stringifyCassette() YAML keeps text whose lines hold only spaces and tabs", () => {
  for (const body of [" \n", "  \n\n", " \t\n", "\n  \n", "   \n \n"]) {
    const request = createRequest({ protocol: "http", action: "POST", target: "/", body });
    const cassette = createCassette([createInteraction(request, [body])]);
    const back = parseCassette(stringifyCassette(cassette, { format: "yaml" }), { format: "yaml" });
    assert.deepEqual(back, cassette, JSON.stringify(body));
  }
});

test("parseCassette() YAML equals JSON for the same cassette", () => {
  const cassette = parseCassette(fixtureText);
  assert.deepEqual(
    parseCassette(stringifyCassette(cassette, { format: "yaml" }), { format: "yaml" }),
    cassette,
  );
});

test("parseCassette() YAML reads values shared through anchors and aliases in every place", () => {
  const request = (target: string) => createRequest({ protocol: "http", action: "GET", target });
  const cassette = createCassette([
    createInteraction(request("/a"), ["one", "two"]),
    createInteraction(request("/b"), ["one", "two"]),
    createInteraction(request("/a"), ["one", "two"]),
  ]);
  const fingerprints = cassette.interactions.map(({ fingerprint }) => fingerprint);
  // Hand-written YAML: /b shares /a's chunk list, and the third item is /a again.
  const text = `interactions:
  - &first
    request: { protocol: http, action: GET, target: /a, headers: &none [] }
    fingerprint: { value: ${fingerprints[0]} }
    response_chunks: &chunks
      - { data: one, sequence: 0, metadata: *none }
      - { data: two, sequence: 1, metadata: *none }
  - request: { protocol: http, action: GET, target: /b, headers: *none }
    fingerprint: { value: ${fingerprints[1]} }
    response_chunks: *chunks
  - *first
`;
  assert.deepEqual(parseCassette(text, { format: "yaml" }), cassette);
});

test("parseCassette() YAML reads a header list shared through an alias after other values of its header", () => {
  const request = (target: string, value: string) =>
    createRequest({ protocol: "http", action: "GET", target, headers: [["k", value]] });
  const requests = [
    request("/a", "v1"),
    request("/b", "v2"),
    request("/c", "v1"),
    request("/d", "v1"),
  ];
  const cassette = createCassette(requests.map((r) => createInteraction(r, ["x"])));
  const item = (target: string, headers: string, i: number) =>
    `  - request: { protocol: http, action: GET, target: ${target}, headers: ${headers} }
    fingerprint: { value: ${cassette.interactions[i]!.fingerprint} }
    response_chunks: [{ data: x, sequence: 0 }]
`;
  // /d's headers are /a's list again, read after /b and /c repeated its header.
  const text = `interactions:
${item("/a", "&h [[k, v1]]", 0)}${item("/b", "[[k, v2]]", 1)}${item("/c", "[[k, v1]]", 2)}${
    item("/d", "*h", 3)
  }`;
  assert.deepEqual(parseCassette(text, { format: "yaml" }), cassette);
});

test("parseCassette() returns deeply frozen values and defaults absent headers, body and metadata", () => {
  const cassette = parseCassette(JSON.stringify({
    interactions: [{
      request: { protocol: "p", action: "a", target: "t" },
      fingerprint: {
        value: createInteraction(createRequest({ protocol: "p", action: "a", target: "t" }), ["x"])
          .fingerprint,
      },
      response_chunks: [{ data: "x", sequence: 0 }],
    }],
    future_key: "ignored",
  }));
  const [interaction] = cassette.interactions;
  assert.deepEqual(interaction!.request.headers, []);
  assert.equal(interaction!.request.body.length, 0);
  assert.deepEqual(interaction!.metadata, []);
  assert.ok(
    Object.isFrozen(cassette) && Object.isFrozen(interaction) &&
      Object.isFrozen(interaction!.request),
  );
  assert.ok(
    Object.isFrozen(interaction!.responseChunks[0]) &&
      Object.isFrozen(interaction!.responseChunks[0]!.metadata),
  );
});

// --- bad input -------------------------------------------------------------

// The edits poke at arbitrary places of parsed JSON, which has no useful static type.
// deno-lint-ignore no-explicit-any
function fixtureWith(edit: (document: any) => void): string {
  const document = JSON.parse(fixtureText);
  edit(document);
  return JSON.stringify(document);
}

function formatError(path: string, message?: string) {
  return (error: unknown) => {
    assert.ok(error instanceof CassetteFormatError, `expected CassetteFormatError, got ${error}`);
    assert.equal(error.path, path);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  };
}

function validationError(path: string, message?: string) {
  return (error: unknown) => {
    assert.ok(
      error instanceof InteractionValidationError,
      `expected InteractionValidationError, got ${error}`,
    );
    assert.equal(error.path, path);
    if (message !== undefined) assert.equal(error.message, message);
    return true;
  };
}

test("parseCassette() reports syntax errors as CassetteFormatError with the parser's error as cause", () => {
  for (
    const [text, format] of [
      ["{", "json"],
      ["not json", "json"],
      ["", "json"],
      ["a: [1\nb: 2", "yaml"],
      ["a: 1\n---\nb: 2\n", "yaml"],
      ["a: 1\na: 2\n", "yaml"],
    ] as const
  ) {
    assert.throws(() => parseCassette(text, { format }), (error: unknown) => {
      assert.ok(error instanceof CassetteFormatError, String(error));
      assert.equal(error.format, format);
      assert.equal(error.path, "");
      assert.ok(error.cause !== undefined);
      assert.match(error.message, /^Cannot parse cassette: invalid (JSON|YAML)/);
      return true;
    });
  }
});

test("parseCassette() gives line and column for YAML syntax and shape errors", () => {
  assert.throws(
    () => parseCassette("interactions:\n  - [1\n  x: 2\n", { format: "yaml" }),
    (error: unknown) => {
      assert.ok(error instanceof CassetteFormatError);
      assert.equal(typeof error.line, "number");
      assert.equal(typeof error.column, "number");
      return true;
    },
  );
  const yaml = stringifyCassette(parseCassette(fixtureText), { format: "yaml" }).replace(
    "sequence: 1",
    "sequence: one",
  );
  assert.throws(() => parseCassette(yaml, { format: "yaml" }), (error: unknown) => {
    assert.ok(error instanceof CassetteFormatError);
    assert.equal(error.path, "interactions[1].response_chunks[1].sequence");
    assert.equal(yaml.split("\n")[error.line! - 1]!.trim(), "sequence: one");
    return true;
  });
});

test("parseCassette() names the path of shape and type errors", () => {
  const cases: [string, string, string?][] = [
    [
      "[]",
      "",
      'cassette: expected an object with an "interactions" array, got an array of length 0',
    ],
    ["{}", "interactions", "interactions: expected an array, got undefined"],
    ['{"interactions": [5]}', "interactions[0]"],
    [fixtureWith((d) => delete d.interactions[0].request), "interactions[0].request"],
    [
      fixtureWith((d) => (d.interactions[2].request.protocol = 1)),
      "interactions[2].request.protocol",
      "interactions[2].request.protocol: expected a string, got number 1",
    ],
    [
      fixtureWith((d) => (d.interactions[1].request.headers = [["a"]])),
      "interactions[1].request.headers[0]",
    ],
    [
      fixtureWith((d) => (d.interactions[1].request.headers[0][1] = null)),
      "interactions[1].request.headers[0][1]",
    ],
    [fixtureWith((d) => (d.interactions[0].request.body = 5)), "interactions[0].request.body"],
    [fixtureWith((d) => (d.interactions[0].fingerprint = "abc")), "interactions[0].fingerprint"],
    [
      fixtureWith((d) => (d.interactions[0].fingerprint.value = "ABC")),
      "interactions[0].fingerprint.value",
    ],
    [
      fixtureWith((d) => (d.interactions[0].response_chunks = {})),
      "interactions[0].response_chunks",
    ],
    [
      fixtureWith((d) => (d.interactions[1].response_chunks[2].data = [1, 2])),
      "interactions[1].response_chunks[2].data",
    ],
    [
      fixtureWith((d) => (d.interactions[1].response_chunks[2].data = { base64: "not base64!" })),
      "interactions[1].response_chunks[2].data.base64",
    ],
    [
      fixtureWith((d) => (d.interactions[1].response_chunks[2].data = { base64: "QR==" })),
      "interactions[1].response_chunks[2].data.base64",
    ],
    [
      fixtureWith((d) => (d.interactions[1].response_chunks[2].data = { base64: "QQ" })),
      "interactions[1].response_chunks[2].data.base64",
    ],
    [
      fixtureWith((d) => (d.interactions[1].response_chunks[1].sequence = "1")),
      "interactions[1].response_chunks[1].sequence",
    ],
    [
      fixtureWith((d) => (d.interactions[1].response_chunks[1].sequence = -1)),
      "interactions[1].response_chunks[1].sequence",
    ],
    [
      fixtureWith((d) => (d.interactions[1].response_chunks[1].sequence = 1.5)),
      "interactions[1].response_chunks[1].sequence",
    ],
    [
      fixtureText.replace('"sequence": 1', '"sequence": 1e999'),
      "interactions[1].response_chunks[1].sequence",
      "interactions[1].response_chunks[1].sequence: expected a non-negative integer, got number Infinity",
    ],
    [
      fixtureText.replace('"sequence": 1', '"sequence": 123456789012345678901234567890'),
      "interactions[1].response_chunks[1].sequence",
    ],
    [
      fixtureWith((d) => (d.interactions[0].metadata = [["a", "b", "c"]])),
      "interactions[0].metadata[0]",
    ],
    [fixtureText.replace('"/api/data"', '"/api/\\ud800data"'), "interactions[0].request.target"],
  ];
  for (const [text, path, message] of cases) {
    assert.throws(() => parseCassette(text), formatError(path, message), path);
  }
});

test("parseCassette() reports data-rule breaches as InteractionValidationError with the file path", () => {
  assert.throws(
    () => parseCassette(fixtureWith((d) => (d.interactions[1].response_chunks[1].sequence = 2))),
    validationError(
      "interactions[1].response_chunks[1].sequence",
      "interactions[1].response_chunks[1].sequence: expected 1, got 2",
    ),
  );
  assert.throws(
    () => parseCassette(fixtureWith((d) => (d.interactions[3].response_chunks = []))),
    validationError("interactions[3].response_chunks"),
  );
  assert.throws(
    () => parseCassette(fixtureWith((d) => (d.interactions[0].request.target = "/api/other"))),
    validationError("interactions[0].fingerprint.value"),
  );
});

test("parseCassette() survives deeply nested junk and alias bombs with a CassetteFormatError", () => {
  const deepJson = "[".repeat(200_000) + "]".repeat(200_000);
  assert.throws(() => parseCassette(deepJson), formatError(""));
  const deepInside = `{"interactions": [{"request": ${"[".repeat(50_000)}${"]".repeat(50_000)}}]}`;
  assert.throws(() => parseCassette(deepInside), formatError("interactions[0].request"));
  const deepYaml = "[".repeat(5_000) + "]".repeat(5_000);
  assert.throws(() => parseCassette(deepYaml, { format: "yaml" }), formatError(""));
  const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    .concat(
      Array.from(
        { length: 8 },
        (_, i) =>
          `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${
            Array(9).fill(`*${String.fromCharCode(97 + i)}`).join(",")
          }]`,
      ),
    )
    .join("\n");
  assert.throws(
    () => parseCassette(`${bomb}\ninteractions: *i\n`, { format: "yaml" }),
    (error: unknown) => {
      assert.ok(error instanceof CassetteFormatError);
      assert.equal(error.path, "");
      assert.match(error.message, /alias/i);
      return true;
    },
  );
});

test("parseCassette() rejects a wrong format option and non-text input", () => {
  assert.throws(() => parseCassette("{}", { format: "xml" as "json" }), RangeError);
  assert.throws(
    () => stringifyCassette(createCassette(), { format: "toml" as "json" }),
    RangeError,
  );
  assert.throws(() => parseCassette(42 as unknown as string), formatError(""));
});

for (const format of formats) {
  test(`parseCassette() throws only its own errors for arbitrary ${format} text (property)`, () => {
    const valid = stringifyCassette(parseCassette(fixtureText), { format });
    const mutated = fc.tuple(fc.nat(valid.length), fc.nat(40), fc.string({ maxLength: 8 })).map(
      ([at, cut, insert]) => valid.slice(0, at) + insert + valid.slice(at + cut),
    );
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary" }), fc.json(), mutated), (text) => {
        try {
          parseCassette(text, { format });
        } catch (error) {
          assert.ok(
            error instanceof CassetteFormatError || error instanceof InteractionValidationError,
            `unexpected ${String(error)}`,
          );
        }
      }),
      { numRuns: 400 },
    );
  });
}
