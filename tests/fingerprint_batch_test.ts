// parseCassette() may take a cassette's fingerprints on trust and check them
// in batches (on Deno, ADR 0056). Whether it does or not, every fingerprint
// is checked, and a wrong one is reported as it always was: where it is,
// before any problem after it, and after any problem before it. These tests
// run on every runtime, so the batched and the one-by-one paths must agree.
import assert from "node:assert/strict";
import { test } from "node:test";
import { stringify as stringifyYaml } from "yaml";
import {
  type Cassette,
  CassetteFormatError,
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  InteractionValidationError,
  parseCassette,
  stringifyCassette,
} from "@x/replay";

/** `count` interactions; request `i` has a body of `bodySize(i)` bytes. */
function cassetteOf(count: number, bodySize: (i: number) => number): Cassette {
  return createCassette(Array.from({ length: count }, (_, i) =>
    createInteraction(
      createRequest({
        protocol: "http",
        action: bodySize(i) === 0 ? "GET" : "POST",
        // Targets of two lengths, so that canonical texts take odd and even lengths.
        target: `https://api.example.com/items/${i}${i % 2 === 0 ? "" : "?x"}`,
        headers: [["accept", "application/json"]],
        body: new Uint8Array(bodySize(i)).map((_, k) => (i + k) & 255),
      }),
      [createChunk(`{"id":${i}}`, 0, [["status_code", "200"]])],
    )));
}

// The edits poke at arbitrary places of parsed JSON, which has no useful static type.
// deno-lint-ignore no-explicit-any
type Document = any;

function parseEdited(cassette: Cassette, edit: (document: Document) => void, yaml = false) {
  const document = JSON.parse(stringifyCassette(cassette));
  edit(document);
  const text = yaml ? stringifyYaml(document) : JSON.stringify(document, null, 2);
  return () => parseCassette(text, { format: yaml ? "yaml" : "json" });
}

/** A fingerprint of the right form that is not `fingerprint`. */
function other(fingerprint: string): string {
  return `${fingerprint.slice(0, 63)}${fingerprint.endsWith("0") ? "1" : "0"}`;
}

test("parseCassette() checks every fingerprint of a big cassette, at every canonical length", () => {
  // Bodies of 0 to 539 bytes: canonical texts from about 100 to over 1,100
  // characters, every padded length of SHA-256 from 2 to 18 blocks.
  const cassette = cassetteOf(1080, (i) => i >> 1);
  for (const yaml of [false, true]) {
    const parsed = parseEdited(cassette, () => {}, yaml)();
    assert.equal(parsed.interactions.length, cassette.interactions.length);
    parsed.interactions.forEach((interaction, i) => {
      assert.equal(interaction.fingerprint, cassette.interactions[i]!.fingerprint);
    });
  }
});

test("parseCassette() reports a wrong fingerprint among many exactly where it is", () => {
  const cassette = cassetteOf(1200, (i) => (i % 3 === 0 ? 0 : i % 40));
  for (const at of [0, 1, 3, 4, 777, 1023, 1024, 1025, 1199]) {
    // YAML is slow to parse: two places are enough to show its path agrees.
    for (const yaml of at === 4 || at === 1025 ? [false, true] : [false]) {
      const right = cassette.interactions[at]!.fingerprint;
      const parse = parseEdited(
        cassette,
        (d) => (d.interactions[at].fingerprint.value = other(right)),
        yaml,
      );
      assert.throws(parse, (error: unknown) => {
        assert.ok(error instanceof InteractionValidationError);
        assert.equal(error.path, `interactions[${at}].fingerprint.value`);
        assert.equal(
          error.message,
          `interactions[${at}].fingerprint.value: expected the request's fingerprint ${right}, ` +
            `got ${other(right)}`,
        );
        return true;
      }, `at ${at} (${yaml ? "YAML" : "JSON"})`);
    }
  }
});

test("parseCassette() reports a wrong fingerprint before a later problem and after an earlier one", () => {
  const cassette = cassetteOf(1100, (i) => i % 7);
  const wrong = (at: number) =>
  (
    d: Document,
  ) => (d.interactions[at].fingerprint.value = other(d.interactions[at].fingerprint.value));
  const badSequence =
    (at: number) => (d: Document) => (d.interactions[at].response_chunks[0].sequence = 4);
  const cases: [string, (d: Document) => void, string][] = [
    ["fingerprint at 10, sequence at 1090", (d) => {
      wrong(10)(d), badSequence(1090)(d);
    }, "interactions[10].fingerprint.value"],
    ["sequence at 10, fingerprint at 1090", (d) => {
      badSequence(10)(d), wrong(1090)(d);
    }, "interactions[10].response_chunks[0].sequence"],
    ["fingerprint at 500, target at 900", (d) => {
      wrong(500)(d), (d.interactions[900].request.target = 5);
    }, "interactions[500].fingerprint.value"],
    ["two wrong fingerprints, 1030 and 20", (d) => {
      wrong(1030)(d), wrong(20)(d);
    }, "interactions[20].fingerprint.value"],
  ];
  for (const [name, edit, path] of cases) {
    for (const yaml of name.startsWith("fingerprint at 10") ? [false, true] : [false]) {
      assert.throws(parseEdited(cassette, edit, yaml), (error: unknown) => {
        assert.equal((error as { path?: unknown }).path, path);
        return true;
      }, `${name} (${yaml ? "YAML" : "JSON"})`);
    }
  }
});

test("parseCassette() refuses a fingerprint that is the right one in another form", () => {
  const cassette = cassetteOf(64, () => 3);
  const at = 33;
  const right = cassette.interactions[at]!.fingerprint;
  const forms = [
    right.toUpperCase(),
    `${right.slice(0, 62)}\u00e9${right.slice(63)}`, // 64 characters, one not ASCII
    `${right.slice(0, 62)}\ud800${right.slice(63)}`, // a lone surrogate
    right.slice(1), // 63 characters
    `${right}0`, // 65 characters
  ];
  for (const form of forms) {
    const parse = parseEdited(cassette, (d) => (d.interactions[at].fingerprint.value = form));
    assert.throws(parse, (error: unknown) => {
      assert.ok(error instanceof CassetteFormatError);
      assert.equal(error.path, `interactions[${at}].fingerprint.value`);
      assert.match(error.message, /expected 64 lowercase hex characters/);
      return true;
    }, JSON.stringify(form));
  }
});
