// Every public function, given arguments of the wrong type, throws one of
// the library's own errors naming the argument: a ReplayError, or a
// TypeError / RangeError whose message says what it could not do ("Cannot
// match: options must be an object, got string """), never an engine error
// from deep inside ("Cannot read properties of undefined").
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import * as replayApi from "@x/replay";
import * as fetchApi from "@x/replay/fetch";
import * as serverApi from "@x/replay/server";
import * as cliApi from "@x/replay/cli";
import * as harApi from "@x/replay/har";
import * as interceptApi from "@x/replay/intercept";

const {
  createBroker,
  createCassette,
  createInteraction,
  createRequest,
  fileStore,
  journalStore,
  match,
  memoryStore,
  ReplayError,
} = replayApi;

// What engines say when library code trips over a bad value (V8, JSC).
const ENGINE =
  /Cannot (read|set) propert|Cannot convert|Cannot mix BigInt|Cannot destructure|Cannot create property|is not (a function|iterable|a constructor|an object)|undefined is not|null is not|Maximum call stack|Invalid array length|URI malformed|serialize a BigInt|normalization form|must be of scheme/i;

function isLibraryError(error: unknown): boolean {
  if (error instanceof ReplayError) return true;
  if (!(error instanceof TypeError || error instanceof RangeError)) return false;
  return /^Cannot [^:]+: /.test(error.message) && !ENGINE.test(error.message);
}

function assertLibraryError(error: unknown, what: string): void {
  assert.ok(
    isLibraryError(error),
    `${what} threw ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`,
  );
}

/** Runs `call`, awaiting promises and pulling one item of iterators; fails on a foreign error. */
async function probe(what: string, call: () => unknown): Promise<unknown> {
  let result: unknown;
  try {
    result = call();
    if (result instanceof Promise) result = await result;
    if (typeof result === "object" && result !== null) {
      if (Symbol.asyncIterator in result) {
        await (result as AsyncIterableIterator<unknown>)[Symbol.asyncIterator]().next();
      } else if (typeof (result as Iterator<unknown>).next === "function") {
        (result as Iterator<unknown>).next();
      }
    }
  } catch (error) {
    assertLibraryError(error, what);
    return undefined;
  }
  return result;
}

/** Values of every kind, the awkward ones often. */
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything({ withBigInt: true, withNullPrototype: true, withTypedArray: true, withDate: true }),
  fc.constantFrom<unknown>(
    undefined,
    null,
    "",
    "\uD800",
    1n,
    NaN,
    -1,
    Infinity,
    Symbol("junk"),
    [],
    [1],
    () => undefined,
    new Uint8Array(2),
    { protocol: 1 },
    { interactions: 5 },
    { occurrence: 1n },
    { normalize: 5 },
    { mode: 5 },
    { format: 1n },
    { lockTimeout: 1n },
    { timing: { scale: 1n } },
    { placeholder: "\uD800" },
    { headers: 5 },
  ),
);

type AnyFunction = (...args: unknown[]) => unknown;

const folder = mkdtempSync(join(tmpdir(), "replay-arguments-"));
test.after(() => rmSync(folder, { recursive: true, force: true }));

/** Every exported function (not classes) of every entry point. */
function exportedFunctions(): [string, AnyFunction][] {
  const entries = {
    "@x/replay": replayApi,
    "./fetch": fetchApi,
    "./server": serverApi,
    "./har": harApi,
    "./intercept": interceptApi,
  };
  const found: [string, AnyFunction][] = [];
  for (const [entry, names] of Object.entries(entries)) {
    for (const [name, value] of Object.entries(names as Record<string, unknown>)) {
      if (typeof value === "function" && /^[a-z]/.test(name)) {
        found.push([`${entry} ${name}`, value as AnyFunction]);
      }
    }
  }
  return found;
}

test("every exported function throws its own typed error for arguments of the wrong type (property)", async () => {
  const functions = exportedFunctions();
  assert.ok(functions.length > 30, "the exports were found");
  for (const [name, fn] of functions) {
    await fc.assert(
      fc.asyncProperty(fc.array(junk, { maxLength: 3 }), async (args) => {
        const result = await probe(`${name}(${args.length} arguments)`, () => fn(...args));
        // installFetch() with a function installs it: put the real fetch back.
        if (name.endsWith("installFetch") && typeof result === "function") result();
        // An interception that somehow started is stopped at once.
        const stop = (result as { stop?: unknown } | undefined)?.stop;
        if (name.endsWith("interceptHttp") && typeof stop === "function") {
          await (stop as () => Promise<void>).call(result);
        }
        // What a normaliser factory returns is a function of a request.
        if (typeof result === "function" && !name.endsWith("withCassette")) {
          if (name.endsWith("installFetch")) return;
          await probe(`${name}()(junk)`, () => (result as AnyFunction)(args[0]));
        }
      }),
      { numRuns: 60 },
    );
  }
});

test("main() throws its own TypeError for arguments of the wrong type (property)", async () => {
  const quiet = { stdout: () => undefined, stderr: () => undefined };
  await fc.assert(
    fc.asyncProperty(junk, junk, async (args, io) => {
      await probe("main(args)", () => cliApi.main(args as string[], quiet));
      if (io !== undefined && (typeof io !== "object" || io === null || Array.isArray(io))) {
        await assert.rejects(cliApi.main(["--help"], io as never), TypeError);
      }
    }),
    { numRuns: 100 },
  );
});

const request = createRequest({ protocol: "p", action: "a", target: "t" });
const cassette = createCassette([createInteraction(request, ["x"])]);

test("methods of stores, brokers, redactors and normalisers throw their own errors for junk (property)", async () => {
  const redactor = replayApi.createRedactor();
  const broker = createBroker({ cassette });
  const asyncBroker = replayApi.createAsyncBroker({ cassette });
  const blobs = fileStore(join(folder, "blobs.json"), { createIfMissing: true, blobThreshold: 1 });
  const methods: [string, AnyFunction][] = [
    ["broker.replay", (value) => broker.replay(value as never)],
    ["asyncBroker.replay", (value) => asyncBroker.replay(value as never)],
    ["memoryStore().save", (value) => memoryStore().save(value as never)],
    ["memoryStore().save options", (value) => memoryStore().save(cassette, value as never)],
    ["fileStore().save", (value) => fileStore(join(folder, "c.json")).save(value as never)],
    [
      "fileStore().save options",
      (value) => fileStore(join(folder, "c.json")).save(cassette, value as never),
    ],
    ["journalStore().save", (value) => journalStore(join(folder, "j.json")).save(value as never)],
    ["offload", (value) => blobs.offload!(value as never)],
    ["redactor.request", (value) => redactor.request(value as never)],
    ["redactor.chunk", (value) => redactor.chunk!(value as never)],
    ["redactor.interaction", (value) => redactor.interaction(value as never)],
    ["sortHeaders()", (value) => replayApi.sortHeaders()(value as never)],
    ["keepHeaders()", (value) => replayApi.keepHeaders(["a"])(value as never)],
    ["dropQuery()", (value) => replayApi.dropQuery(["a"])(value as never)],
    ["canonicalJsonBody()", (value) => replayApi.canonicalJsonBody()(value as never)],
    ["match options", (value) => match(cassette, request, value as never)],
    ["replay options", (value) => replayApi.replay(cassette, request, value as never)],
    ["replayAsync options", (value) => replayApi.replayAsync(cassette, request, value as never)],
  ];
  for (const [name, method] of methods) {
    await fc.assert(
      fc.asyncProperty(
        junk,
        async (value) => void await probe(`${name}(junk)`, () => method(value)),
      ),
      { numRuns: 80 },
    );
  }
});

const nonObjects = [
  "",
  "json",
  5,
  true,
  1n,
  Symbol("options"),
  [],
  () => undefined,
  null,
] as const;

/** Every function with an options object, called with `options` put in its place. */
const withOptions: [string, (options: unknown) => unknown][] = [
  ["match()", (options) => match(cassette, request, options as never)],
  ["replay()", (options) => replayApi.replay(cassette, request, options as never)],
  ["replayAsync()", (options) => replayApi.replayAsync(cassette, request, options as never)],
  ["createInteraction()", (options) => createInteraction(request, ["x"], options as never)],
  ["parseCassette()", (options) => replayApi.parseCassette("{}", options as never)],
  ["stringifyCassette()", (options) => replayApi.stringifyCassette(cassette, options as never)],
  ["createRedactor()", (options) => replayApi.createRedactor(options as never)],
  ["createBroker()", (options) => createBroker(options as never)],
  ["createAsyncBroker()", (options) => replayApi.createAsyncBroker(options as never)],
  ["openBroker()", (options) => replayApi.openBroker(memoryStore(), options as never)],
  ["openAsyncBroker()", (options) => replayApi.openAsyncBroker(memoryStore(), options as never)],
  ["fileStore()", (options) => fileStore(join(folder, "o.json"), options as never)],
  [
    "fileStoreAsync()",
    (options) => replayApi.fileStoreAsync(join(folder, "o.json"), options as never),
  ],
  ["journalStore()", (options) => journalStore(join(folder, "o.json"), options as never)],
  [
    "journalStoreAsync()",
    (options) => replayApi.journalStoreAsync(join(folder, "o.json"), options as never),
  ],
  ["memoryStore().save()", (options) => memoryStore().save(cassette, options as never)],
  ["createFetchResponder()", (options) => fetchApi.createFetchResponder(options as never)],
  [
    "createReplayFetch()",
    (options) => fetchApi.createReplayFetch(createBroker({ cassette }), options as never),
  ],
  ["createHandler()", (options) => serverApi.createHandler(options as never)],
];

test("functions taking options refuse options that are not an object with a TypeError naming them", async () => {
  for (const [name, call] of withOptions) {
    for (const options of nonObjects) {
      // null means "no options" nowhere; createBroker() and createHandler() need them.
      let outcome: unknown = "returned";
      try {
        const result = call(options);
        if (result instanceof Promise) await result;
      } catch (error) {
        outcome = error;
      }
      const shown = typeof options === "symbol" || typeof options === "bigint"
        ? String(options)
        : JSON.stringify(options) ?? String(options);
      assert.ok(
        outcome instanceof TypeError && isLibraryError(outcome),
        `${name} with options ${shown}: ${outcome instanceof Error ? outcome.message : outcome}`,
      );
    }
  }
});

test("the examples of the issue throw the library's errors naming the argument", () => {
  assert.throws(
    () => replayApi.sortHeaders()(5 as never),
    (error: unknown) =>
      error instanceof replayApi.InteractionValidationError &&
      error.message === "request: expected a request object, got number 5",
  );
  assert.throws(
    () => replayApi.keepHeaders(5 as never),
    { name: "TypeError", message: /^Cannot build keepHeaders\(\): names must be an iterable/ },
  );
  assert.throws(
    () => replayApi.keepHeaders("content-type" as never),
    { name: "TypeError", message: /names must be an iterable of strings .*got string/ },
  );
  assert.throws(
    () => replayApi.createRedactor({ placeholder: "\uD800" }),
    { name: "RangeError", message: /placeholder must be well-formed Unicode/ },
  );
  assert.throws(
    () => fileStore(join(folder, "x.json"), { lockTimeout: 1n as never }),
    { name: "RangeError", message: /lockTimeout must be a finite number .*got bigint 1/ },
  );
  assert.throws(
    () => match(cassette, request, { occurrence: 1n as never }),
    { name: "RangeError", message: /occurrence must be a non-negative integer, got bigint 1/ },
  );
  assert.throws(
    () => match(cassette, request, "" as never),
    { name: "TypeError", message: 'Cannot match: options must be an object, got string ""' },
  );
});
