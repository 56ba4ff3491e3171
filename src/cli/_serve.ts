// `x-replay serve`: a cassette behind the replay server, or a recording
// proxy when a mode that records is given with an upstream.
import process from "node:process";
import type { BrokerMode } from "../broker/create_broker.ts";
import { createFetchResponder } from "../http/fetch/mod.ts";
import { fileStoreAsync } from "../store/file_store_async.ts";
import { journalStoreAsync } from "../store/journal_store_async.ts";
import { openAsyncBroker } from "../broker/open_async_broker.ts";
import { serve } from "../http/server/mod.ts";
import { blobThresholdOption, choice, type OptionValue, takePositionals } from "./_args.ts";
import { cassetteFile, hasJournal, loadFailure } from "./_cassette_file.ts";
import type { Command } from "./_command.ts";
import { CliFailure, oneLine, type Output, usageFailure } from "./_output.ts";

const MODES: readonly BrokerMode[] = ["replay", "record", "auto"];

function text(value: OptionValue): string | undefined {
  return typeof value === "string" ? value : undefined;
}

function integer(value: OptionValue, flag: string, min: number, max: number): number | undefined {
  const given = text(value);
  if (given === undefined) return undefined;
  const number = /^\d{1,6}$/.test(given) ? Number(given) : Number.NaN;
  if (!(number >= min && number <= max)) {
    throw usageFailure(
      `${flag} must be an integer from ${min} to ${max}, got ${JSON.stringify(given)}`,
    );
  }
  return number;
}

function httpUrl(value: OptionValue, flag: string): string | undefined {
  const given = text(value);
  if (given === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(given);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw usageFailure(
      `${flag} must be an absolute http or https URL, got ${JSON.stringify(given)}`,
    );
  }
  return url.href;
}

/** The server could not start: one line naming the address. */
function listenFailure(hostname: string, port: number, error: unknown): CliFailure {
  const { code, name } = (error ?? {}) as { code?: unknown; name?: unknown };
  let reason: string;
  if (code === "EADDRINUSE" || name === "AddrInUse") reason = "the address is already in use";
  else if (code === "EADDRNOTAVAIL" || name === "AddrNotAvailable") {
    reason = "the address is not available on this machine";
  } else if (code === "EACCES" || name === "PermissionDenied" || name === "NotCapable") {
    reason = `permission denied${error instanceof Error ? ` (${oneLine(error.message)})` : ""}`;
  } else reason = oneLine(error instanceof Error ? error.message : String(error));
  const host = hostname.includes(":") ? `[${hostname}]` : hostname;
  return new CliFailure(`cannot listen on ${host}:${port}: ${reason}`, 1, { cause: error });
}

/**
 * Resolves on the first of SIGINT/SIGTERM, or when `signal` aborts if one is
 * given; `dispose()` removes the listeners.
 */
function stopRequest(signal: AbortSignal | undefined): {
  readonly promise: Promise<void>;
  readonly dispose: () => void;
} {
  let dispose = (): void => {};
  const promise = new Promise<void>((resolve) => {
    const stop = (): void => {
      dispose();
      resolve();
    };
    if (signal !== undefined) {
      if (signal.aborted) return resolve();
      signal.addEventListener("abort", stop, { once: true });
      dispose = () => signal.removeEventListener("abort", stop);
      return;
    }
    // Removed at the first signal: a second Ctrl+C while closing gets the
    // runtime's default and ends the process at once.
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    dispose = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    };
  });
  return { promise, dispose: () => dispose() };
}

/** HTTP header names (RFC 9110 tokens). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

async function run(
  values: Readonly<Record<string, OptionValue>>,
  name: string,
  output: Output,
): Promise<number> {
  const mode = choice(values.mode, "--mode", MODES) ?? "replay";
  const port = integer(values.port, "--port", 0, 65535) ?? 0;
  const hostname = text(values.host) ?? "127.0.0.1";
  if (hostname === "") throw usageFailure("--host must not be empty");
  const upstream = httpUrl(values.upstream, "--upstream");
  const origin = httpUrl(values.origin, "--origin");
  const missStatus = integer(values["miss-status"], "--miss-status", 200, 599);
  const matchHeaders = values["match-header"] as readonly string[] | undefined;
  const badHeader = matchHeaders?.find((header) => !TOKEN.test(header));
  if (badHeader !== undefined) {
    throw usageFailure(`--match-header must be a header name, got ${JSON.stringify(badHeader)}`);
  }
  if (mode === "replay" && upstream !== undefined) {
    throw usageFailure("--upstream is only used with --mode record or auto");
  }
  if (mode !== "replay" && upstream === undefined) {
    throw usageFailure(`--mode ${mode} needs --upstream <url>`);
  }
  const blobThreshold = blobThresholdOption(values["blob-threshold"]);
  if (mode === "replay" && blobThreshold !== undefined) {
    throw usageFailure("--blob-threshold is only used with --mode record or auto");
  }
  const file = cassetteFile(name, output.cwd, values.format, "--format");

  // A journal beside the cassette belongs to a journalStore: read it, and
  // record by appending to it, never by rewriting the snapshot, which would
  // leave the journal following a snapshot that already holds it (ADR 0031).
  const store = await hasJournal(file)
    ? journalStoreAsync(file.path, { createIfMissing: mode !== "replay", blobThreshold })
    : fileStoreAsync(file.path, {
      format: file.format,
      createIfMissing: mode !== "replay",
      blobThreshold,
    });
  let broker;
  try {
    broker = await openAsyncBroker(
      store,
      mode === "replay" ? { mode } : {
        mode,
        liveResponder: createFetchResponder({ upstream }),
        // A proxied stream (server-sent events, LLM tokens) reaches the
        // client as it arrives; only complete responses are recorded.
        recording: "streaming",
      },
    );
  } catch (error) {
    throw await loadFailure(file, error);
  }
  let server;
  try {
    server = await serve({
      broker,
      hostname,
      port,
      // Recorded targets name the upstream, so the cassette also replays
      // through createReplayFetch() against the real URLs.
      origin: origin ?? upstream,
      missStatus,
      matchHeaders,
    });
  } catch (error) {
    throw listenFailure(hostname, port, error);
  }
  // Listen for the stop request before announcing: a client may act on the
  // line (and a supervisor send SIGTERM) at once.
  const stop = stopRequest(output.signal);
  try {
    await output.out(`listening on ${server.url.origin}\n`);
    await stop.promise;
  } finally {
    stop.dispose();
    await server.close();
  }
  return 0;
}

/** `x-replay serve`. */
export const serveCommand: Command = {
  name: "serve",
  summary: "serve a cassette over HTTP: a replay server, or a recording proxy",
  help: `Usage: x-replay serve <cassette> [options]

Serves the cassette's recorded HTTP interactions, streaming each response
chunk by chunk with its recorded status and headers. A request the cassette
lacks is answered 500 "Interaction Not Found" with an explanation (the
request as seen and the nearest recorded interactions).

With --mode record or auto and --upstream it is a recording proxy: point any
HTTP client at it, and requests are forwarded to the upstream, streamed back
as they arrive, and saved to the cassette (created if missing).

A JSON cassette with a journal beside it (<cassette>.journal, kept by a
journalStore) is served whole, snapshot then journal, and recording appends
each new interaction to the journal as the journal store does, leaving the
snapshot alone ("x-replay compact" folds the journal in). Without a journal,
recording rewrites the cassette file.

Prints "listening on http://HOST:PORT" once ready, then runs until SIGINT
(Ctrl+C) or SIGTERM and closes cleanly.

Options:
  --port <n>              the port; 0 picks a free one (default: 0)
  --host <address>        the address to bind (default: 127.0.0.1)
  --mode <mode>           replay: answer from the cassette only (default)
                          record: forward every request to the upstream and record it
                          auto:   replay what is recorded, forward and record the rest
  --upstream <url>        where record and auto forward requests (required there)
  --origin <url>          the origin recorded targets use, e.g. the host a client
                          recording was made against (default: the upstream, else
                          the cassette's single origin, else path and query alone
                          when every recorded target is a bare path, else the
                          incoming request's own URL)
  --match-header <name>   a request header that takes part in matching (repeatable)
  --miss-status <n>       the status of a miss answer, 200 to 599 (default: 500)
  --blob-threshold <n>    with record or auto: keep recorded chunks of at least <n>
                          bytes in <cassette>.blobs/ (ADR 0041), written as they
                          stream through instead of held in memory
  --format <fmt>          the cassette's format, json or yaml (default: from the extension)
  -h, --help              show this help
`,
  options: {
    port: { type: "string" },
    host: { type: "string" },
    mode: { type: "string" },
    upstream: { type: "string" },
    origin: { type: "string" },
    "match-header": { type: "string", multiple: true },
    "miss-status": { type: "string" },
    "blob-threshold": { type: "string" },
    format: { type: "string" },
  },
  async run({ values, positionals }, output) {
    const [name] = takePositionals(positionals, ["cassette"]);
    return await run(values, name!, output);
  },
};
