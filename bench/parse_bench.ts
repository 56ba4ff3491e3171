// parseCassette() of a realistic 10,000-interaction JSON cassette against a
// bare JSON.parse of the same text. parseCassette also validates every value
// (chunk data included, whose bytes are made on first read: ADR 0050),
// copies bodies into bytes, freezes everything, recomputes and checks every
// fingerprint, and builds the index. Target: <= 3x.
//
// Informational: YAML parse (against the yaml package's own parse) and both
// stringify formats (against JSON.stringify of the plain document).
//
// Run: npx deno bench --allow-read --allow-env bench/parse_bench.ts
// (--allow-env: the yaml package reads LOG_TOKENS and LOG_STREAM.)
import { parse as parseYamlText, stringify as stringifyYamlText } from "yaml";
import {
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  parseCassette,
  stringifyCassette,
} from "@x/replay";
import { parseFixture } from "./_parse_fixture.mjs";

const SIZE = 10_000;
const cassette = parseFixture(
  { createCassette, createChunk, createInteraction, createRequest },
  SIZE,
) as Parameters<typeof stringifyCassette>[0];
const jsonText = stringifyCassette(cassette);
const yamlText = stringifyCassette(cassette, { format: "yaml" });
// The plain object the JSON file holds, for the stringify baseline.
const plainDocument: unknown = JSON.parse(jsonText);

// Sanity checks, outside the measurement.
if (
  parseCassette(jsonText).interactions.length !== SIZE ||
  stringifyCassette(parseCassette(yamlText, { format: "yaml" })) !== jsonText ||
  `${JSON.stringify(plainDocument, null, 2)}\n` !== jsonText
) {
  throw new Error("parse bench: fixture does not round-trip");
}

// Results are folded into this so no measured work can be dropped as dead code.
let sink = 0;
function consumeCassette(value: { interactions: readonly unknown[]; index: { size: number } }) {
  sink = (sink + value.interactions.length + value.index.size) | 0;
}

const MIB = (jsonText.length / 1024 / 1024).toFixed(1);

Deno.bench({
  group: "parse JSON",
  name: `JSON.parse (${MIB} MiB) [baseline]`,
  baseline: true,
  fn() {
    sink = (sink + (JSON.parse(jsonText) as { interactions: unknown[] }).interactions.length) | 0;
  },
});
Deno.bench({
  group: "parse JSON",
  name: "parseCassette(json)",
  fn() {
    consumeCassette(parseCassette(jsonText));
  },
});

// YAML is two orders of magnitude slower (seconds per op): 1 warm-up + 3 runs.
Deno.bench({
  group: "parse YAML (info)",
  name: "yaml package parse() [baseline]",
  baseline: true,
  n: 3,
  warmup: 1,
  fn() {
    sink = (sink + (parseYamlText(yamlText) as { interactions: unknown[] }).interactions.length) |
      0;
  },
});
Deno.bench({
  group: "parse YAML (info)",
  name: "parseCassette(yaml, { format: 'yaml' })",
  n: 3,
  warmup: 1,
  fn() {
    consumeCassette(parseCassette(yamlText, { format: "yaml" }));
  },
});

Deno.bench({
  group: "stringify JSON (info)",
  name: "JSON.stringify(document, null, 2) [baseline]",
  baseline: true,
  fn() {
    sink = (sink + JSON.stringify(plainDocument, null, 2).length) | 0;
  },
});
Deno.bench({
  group: "stringify JSON (info)",
  name: "stringifyCassette(cassette)",
  fn() {
    sink = (sink + stringifyCassette(cassette).length) | 0;
  },
});

Deno.bench({
  group: "stringify YAML (info)",
  name: "yaml package stringify(document) [baseline]",
  baseline: true,
  n: 3,
  warmup: 1,
  fn() {
    sink = (sink + stringifyYamlText(plainDocument).length) | 0;
  },
});
Deno.bench({
  group: "stringify YAML (info)",
  name: "stringifyCassette(cassette, { format: 'yaml' })",
  n: 3,
  warmup: 1,
  fn() {
    sink = (sink + stringifyCassette(cassette, { format: "yaml" }).length) | 0;
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === 0x7fffffff) console.log("unreachable", sink);
});
