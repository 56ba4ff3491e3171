// The four-lane SHA-256 that checks fingerprints in batches on Deno
// (src/core/_sha256_lanes.ts, ADR 0056), against node:crypto. Only Deno
// runs it, so only Deno tests it directly; tests/fingerprint_batch_test.ts
// shows on every runtime that parsing agrees either way.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import fc from "fast-check";

type Lanes = typeof import("../src/core/_sha256_lanes.ts");
const onDeno = typeof (globalThis as { Deno?: unknown }).Deno === "object";
const skip = onDeno
  ? false
  : "the lanes run on Deno only, and the npm package does not export them";
// A computed specifier: the npm test run compiles this file but never imports the module.
const lanes: Lanes | undefined = onDeno
  ? await import(new URL("../src/core/_sha256_lanes.ts", import.meta.url).href)
  : undefined;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** An ASCII text of `length` characters, the same for the same seed. */
function asciiText(length: number, seed: number): string {
  let text = "";
  for (let i = 0; i < length; i++) text += String.fromCharCode(32 + ((i * 31 + seed * 7) % 95));
  return text;
}

test("emitModule() emits valid WebAssembly, compiled and used on Deno", { skip }, () => {
  assert.ok(WebAssembly.validate(lanes!.emitModule()));
  assert.equal(lanes!.digestsMatch(["a", "b", "c", "d"], ["a", "b", "c", "d"].map(sha256)), true);
});

test("digestsMatch() agrees with node:crypto at every text length it takes", { skip }, () => {
  const { digestsMatch, maxLanesText } = lanes!;
  const texts = Array.from({ length: maxLanesText + 1 }, (_, n) => asciiText(n, n));
  const digests = texts.map(sha256);
  assert.equal(digestsMatch(texts, digests), true);
  // One wrong digest anywhere is found, whichever lane and group it is in.
  for (const at of [0, 1, 2, 3, 55, 56, 63, 64, 119, 120, 500, maxLanesText]) {
    for (const position of [0, 31, 63]) {
      const wrong = [...digests];
      const digit = wrong[at]![position] === "0" ? "1" : "0";
      wrong[at] = wrong[at]!.slice(0, position) + digit + wrong[at]!.slice(position + 1);
      assert.equal(digestsMatch(texts, wrong), false, `text ${at}, digit ${position}`);
    }
  }
});

test(
  "digestsMatch() refuses digests that are not 64 lowercase hex ASCII characters",
  { skip },
  () => {
    const { digestsMatch } = lanes!;
    const texts = ["GET /a", "GET /b", "GET /c", "GET /d", "GET /e"];
    const digests = texts.map(sha256);
    const forms = (digest: string) => [
      digest.toUpperCase(),
      digest.slice(0, 63),
      `${digest}0`,
      `${digest.slice(0, 10)}\u00e9${digest.slice(11)}`,
      `${digest.slice(0, 10)}\ud800${digest.slice(11)}`,
    ];
    for (const at of [0, 4]) {
      for (const form of forms(digests[at]!)) {
        const changed = [...digests];
        changed[at] = form;
        assert.equal(digestsMatch(texts, changed), false, JSON.stringify(form));
      }
    }
  },
);

test("digestsMatch() is true exactly when every digest is the text's", { skip }, () => {
  const { digestsMatch, maxLanesText } = lanes!;
  const ascii = fc.string({
    unit: fc.integer({ min: 0, max: 127 }).map((code) => String.fromCharCode(code)),
    maxLength: maxLanesText,
    size: "max", // lengths over the whole range, not only short ones
  });
  fc.assert(
    fc.property(
      fc.array(ascii, { minLength: 1, maxLength: 40 }),
      fc.nat(),
      fc.boolean(),
      (texts, pick, spoil) => {
        const digests = texts.map(sha256);
        if (spoil) {
          const at = pick % texts.length;
          digests[at] = sha256(`${texts[at]}x`);
        }
        assert.equal(digestsMatch(texts, digests), !spoil);
      },
    ),
    { numRuns: 300 },
  );
});

test("digestsMatch() leaves a batch too big for its memory to the caller", { skip }, () => {
  const { digestsMatch, maxLanesText } = lanes!;
  // About 5 MB of text, over the module's 4 MiB: undefined, so the caller hashes natively.
  const texts = Array.from({ length: 5000 }, (_, i) => asciiText(maxLanesText, i));
  assert.equal(digestsMatch(texts, texts.map(sha256)), undefined);
  // The module is still whole for batches that fit.
  const some = texts.slice(0, 1024);
  assert.equal(digestsMatch(some, some.map(sha256)), true);
});
