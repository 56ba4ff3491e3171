import { createHash } from "node:crypto";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { describe } from "../core/_check.ts";
import type {
  AsyncBroker,
  AsyncLiveResponder,
  CreateAsyncBrokerOptions,
} from "../broker/create_async_broker.ts";
import type { BrokerMode } from "../broker/create_broker.ts";
import { InteractionNotFoundError } from "../core/errors.ts";
import { fileStoreAsync } from "../store/file_store_async.ts";
import { openAsyncBroker } from "../broker/open_async_broker.ts";
import type { CassetteFormat, InteractionRequest, ResponseChunk } from "../core/types.ts";
// Types only: the interception room (and @mswjs/interceptors) loads when a test asks for it.
import type { InterceptHttpOptions } from "../http/intercept/intercept_http.ts";

/** Options for `withCassette()`. */
export interface WithCassetteOptions
  extends Omit<CreateAsyncBrokerOptions, "cassette" | "store" | "mode" | "liveResponder"> {
  /**
   * The cassette's name; by default the test's name, read from the test
   * context that `Deno.test`, `node:test` and Vitest pass, or from Jest's
   * `expect` state (Bun's `bun:test` gives neither, so name it there).
   */
  readonly name?: string | undefined;
  /**
   * The folder of the cassette files, relative to the working directory or
   * as a `file:` URL (e.g. `new URL("./cassettes", import.meta.url)`).
   *
   * @default {"cassettes"}
   */
  readonly dir?: string | URL | undefined;
  /**
   * The cassette file format.
   *
   * @default {"json"}
   */
  readonly format?: CassetteFormat | undefined;
  /**
   * Chunks and request bodies of at least this many bytes are kept in blob
   * files beside the cassette, as `fileStore()`'s option of the same name
   * (ADR 0041). Pair it
   * with `recording: "streaming"` so big live responses are not held whole.
   *
   * @default {undefined} (every chunk inline)
   */
  readonly blobThreshold?: number | undefined;
  /**
   * The mode when `REPLAY_MODE` is not set.
   *
   * @default {"replay" when CI=true, else "auto"}
   */
  readonly mode?: BrokerMode | undefined;
  /** Answers requests for real in `record` and `auto` modes. */
  readonly liveResponder?: AsyncLiveResponder | undefined;
  /**
   * In `record` mode, drop the interactions the test did not use when it
   * ends, so a full re-record leaves no stale recordings behind.
   *
   * @default {true}
   */
  readonly prune?: boolean | undefined;
  /**
   * Where `REPLAY_MODE` and `CI` are read from.
   *
   * @default {process.env}
   */
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /**
   * Answer every HTTP request the process makes from the test's cassette,
   * whatever the client, for the duration of the test: `interceptHttp()`
   * from `@x/replay/intercept` starts before the body and stops after it,
   * even when it throws. `true`, or `interceptHttp()`'s options
   * (`matchHeaders`, `passthrough`). When the mode records and no
   * `liveResponder` is given, `createInterceptResponder()` is the live side.
   * Requests are caught process-wide, so tests that intercept must not run
   * concurrently: a second one fails at once with a `ReplayError`.
   *
   * @default {false}
   */
  readonly intercept?: boolean | InterceptHttpOptions | undefined;
}

/** What a test gets from `withCassette()`. */
export interface CassetteContext {
  /** The broker, bound to the test's cassette file. */
  readonly broker: AsyncBroker;
  /** The cassette file's path. */
  readonly path: string;
  /** The mode in force for this test. */
  readonly mode: BrokerMode;
}

const MODES: readonly BrokerMode[] = ["replay", "record", "auto"];

/**
 * The cassette file name for a test name: a readable slug of at most 80
 * characters, plus a short hash of the full name whenever the slug is not
 * the name itself (it was cut, or lost case, spaces or punctuation), so that
 * names such as "Login: OK" and "login/ok" never share a file.
 */
function fileName(name: string, format: CassetteFormat): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/-{2,}/g, "-")
    .replace(/^[-.]+|-+$/g, "") || "cassette";
  if (slug === name && slug.length <= 80) return `${slug}.${format}`;
  return `${slug.slice(0, 80).replace(/[-.]+$/, "")}-${
    createHash("sha256").update(name).digest("hex").slice(0, 8)
  }.${format}`;
}

/** The Jest `expect` state, kept on a global symbol by the `expect` package. */
const JEST_STATE = Symbol.for("$$jest-matchers-object");

/**
 * The current test's name: from the context Vitest passes (`task.name`), the
 * one `Deno.test` and `node:test` pass (`name`), or Jest's `expect` state
 * (`currentTestName`, its describe blocks and the test joined by spaces).
 */
function testName(context: unknown): unknown {
  const given = context as { name?: unknown; task?: { name?: unknown } } | undefined;
  // Vitest's context has a `name` of its own ("context"): its task comes first.
  if (typeof given?.task?.name === "string") return given.task.name;
  if (typeof given?.name === "string") return given.name;
  const jest =
    (globalThis as Record<symbol, { state?: { currentTestName?: unknown } } | undefined>)[
      JEST_STATE
    ];
  return jest?.state?.currentTestName;
}

/** The mode for a run: `REPLAY_MODE` wins, then the option, then CI-safe `replay` or `auto`. */
function resolveMode(
  option: BrokerMode | undefined,
  env: Readonly<Record<string, string | undefined>>,
): BrokerMode {
  const fromEnv = env.REPLAY_MODE?.trim().toLowerCase();
  if (fromEnv !== undefined && fromEnv !== "") {
    if (!MODES.includes(fromEnv as BrokerMode)) {
      throw new RangeError(
        `Cannot use cassette: REPLAY_MODE must be "replay", "record" or "auto", got ${
          JSON.stringify(env.REPLAY_MODE)
        }`,
      );
    }
    return fromEnv as BrokerMode;
  }
  if (option !== undefined) return option;
  const ci = env.CI?.trim().toLowerCase();
  return ci !== undefined && ci !== "" && ci !== "false" && ci !== "0" ? "replay" : "auto";
}

/**
 * Wraps a test body so that it gets a broker bound to a cassette file named
 * after the test, in `Deno.test`, `node:test`, `bun:test`, Vitest and Jest
 * alike. The file is `<dir>/<slug>.<format>`: the slug is the test name
 * lower-cased, with each run of other characters than letters, digits, `.`,
 * `_` and `-` made one `-`, cut at 80 characters; whenever the slug is not
 * the name itself, a short hash of the full name follows it, so that
 * "Fetches a user" gives `cassettes/fetches-a-user-<8 hex digits>.json` and
 * no two names share a file.
 *
 * The mode comes from the `REPLAY_MODE` environment variable (`replay`,
 * `record` or `auto`) for the whole run, else from `options.mode`, else it is
 * `replay` when `CI` is set (CI never reaches the network) and `auto`
 * elsewhere. A missing recording in `replay` mode fails with an
 * `InteractionNotFoundError` that says how to record it. Recordings are saved
 * as they happen; in `record` mode, interactions the test did not use are
 * pruned when it ends.
 *
 * With `intercept`, every HTTP request the process makes during the test
 * (any client: axios, got, node-fetch, the global `fetch`, undici, SDKs) is
 * answered from the cassette through `interceptHttp()`; in `replay` mode none
 * reaches the network.
 *
 * On Deno the test needs `--allow-read`, `--allow-write` and `--allow-env`.
 *
 * @param body The test body; it receives the broker, the cassette path and the mode.
 * @param options Where the cassette lives, the mode, the live responder, and any broker option.
 * @returns A test function for `Deno.test`, `test` from `node:test`, `bun:test`, Vitest or Jest.
 * @throws {RangeError} (as a rejection) When `REPLAY_MODE` is not a mode.
 * @throws {TypeError} (as a rejection) When no test name can be found, or
 * `intercept` is neither a boolean nor an options object.
 * @throws {ReplayError} (as a rejection) With `intercept`, when another
 * interception is running (a concurrent test).
 *
 * @example A test that replays from its own cassette file
 * ```ts
 * import { createRequest, withCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const dir = mkdtempSync(join(tmpdir(), "replay-"));
 * const request = createRequest({ protocol: "http", action: "GET", target: "/user/1" });
 * const run = withCassette(async ({ broker, path }) => {
 *   let text = "";
 *   for await (const chunk of broker.replay(request)) text += new TextDecoder().decode(chunk.data);
 *   assert.equal(text, '{"name":"Ada"}');
 *   assert.match(path, /fetches-a-user-[0-9a-f]{8}\.json$/);
 * }, { dir, name: "fetches a user", mode: "auto", env: {}, liveResponder: () => ['{"name":"Ada"}'] });
 * await run(); // records on the first run
 * await withCassette(async ({ broker, mode }) => {
 *   assert.equal(mode, "replay");
 *   for await (const _ of broker.replay(request));
 * }, { dir, name: "fetches a user", env: { CI: "true" } })(); // replays, offline
 * ```
 *
 * @example Every HTTP request of the test answered from its cassette
 * ```ts
 * import { withCassette } from "@x/replay";
 * import assert from "node:assert/strict";
 * import { mkdtempSync } from "node:fs";
 * import http from "node:http";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 *
 * const server = http.createServer((_request, response) => response.end("live"));
 * await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
 * const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/status`;
 * const dir = mkdtempSync(join(tmpdir(), "replay-"));
 * const status = () =>
 *   new Promise<string>((resolve, reject) => {
 *     http.get(url, { agent: false }, (response) => {
 *       let text = "";
 *       response.on("data", (piece) => (text += piece));
 *       response.on("end", () => resolve(text));
 *     }).on("error", reject);
 *   });
 *
 * // Recorded through the real network by a plain http.get ...
 * await withCassette(async () => assert.equal(await status(), "live"), {
 *   dir, name: "status", env: { REPLAY_MODE: "record" }, intercept: true,
 * })();
 * server.closeAllConnections();
 * server.close();
 * // ... and replayed with the server gone.
 * await withCassette(async () => assert.equal(await status(), "live"), {
 *   dir, name: "status", env: { CI: "true" }, intercept: true,
 * })();
 * ```
 */
export function withCassette(
  body: (context: CassetteContext) => unknown,
  options?: WithCassetteOptions,
): (...context: unknown[]) => Promise<void> {
  if (typeof body !== "function") {
    throw new TypeError(
      `Cannot use cassette: the test body must be a function, got ${describe(body)}`,
    );
  }
  // A rest parameter keeps the function's length 0, so runners that look at
  // it (bun:test) do not take it for a callback-style test.
  return async (...context: unknown[]): Promise<void> => {
    const {
      name: named,
      dir,
      format: formatOption,
      mode: modeOption,
      prune,
      env,
      blobThreshold,
      intercept,
      ...brokerOptions
    } = options ?? {};
    const name = named ?? testName(context[0]);
    if (typeof name !== "string" || name === "") {
      throw new TypeError(
        "Cannot use cassette: no test name; pass { name } (bun:test does not give the test body a context)",
      );
    }
    if (
      intercept !== undefined && typeof intercept !== "boolean" &&
      (typeof intercept !== "object" || intercept === null)
    ) {
      throw new TypeError(
        `Cannot use cassette: intercept must be true, false or interceptHttp() options, got ${
          describe(intercept)
        }`,
      );
    }
    const mode = resolveMode(modeOption, env ?? process.env);
    const format = formatOption ?? "json";
    const folder = dir ?? "cassettes";
    const path = join(
      folder instanceof URL ? fileURLToPath(folder) : folder,
      fileName(name, format),
    );
    // Loaded only when asked for: `@x/replay` alone never loads @mswjs/interceptors.
    const interception = intercept === undefined || intercept === false
      ? undefined
      : await import("../http/intercept/mod.ts");
    const broker = await openAsyncBroker(
      fileStoreAsync(path, { format, createIfMissing: true, blobThreshold }),
      {
        ...brokerOptions,
        mode,
        liveResponder: brokerOptions.liveResponder ?? interception?.createInterceptResponder(),
      },
    );
    const hinted = withHint(broker, path, mode);
    const running = interception?.interceptHttp(
      hinted,
      intercept === true ? {} : intercept as InterceptHttpOptions,
    );
    try {
      await body({ broker: hinted, path, mode });
    } finally {
      await running?.stop();
    }
    if (mode === "record" && prune !== false) await broker.pruneUnused();
  };
}

/** The broker, with misses that say how to record the missing interaction. */
function withHint(broker: AsyncBroker, path: string, mode: BrokerMode): AsyncBroker {
  if (mode !== "replay") return broker;
  return Object.freeze({
    get mode(): BrokerMode {
      return broker.mode;
    },
    get cassette() {
      return broker.cassette;
    },
    replay(request: InteractionRequest): AsyncIterableIterator<ResponseChunk> {
      try {
        return broker.replay(request);
      } catch (error) {
        if (!(error instanceof InteractionNotFoundError)) throw error;
        throw new InteractionNotFoundError(error.request, error.fingerprint, {
          occurrence: error.occurrence,
          recorded: error.recorded,
          hint:
            `No recording in ${path}; record it by running this test with REPLAY_MODE=auto (or REPLAY_MODE=record to re-record everything)`,
          cause: error,
        });
      }
    },
    unused: () => broker.unused(),
    pruneUnused: () => broker.pruneUnused(),
  });
}
