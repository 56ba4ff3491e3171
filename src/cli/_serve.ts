// `x-replay serve`: a cassette behind the replay server, or a recording
// proxy when a mode that records is given with an upstream.
import process from "node:process";
import { createFetchResponder } from "../http/fetch/mod.ts";
import { fileStoreAsync } from "../store/file_store_async.ts";
import { journalStoreAsync } from "../store/journal_store_async.ts";
import { openAsyncBroker } from "../broker/open_async_broker.ts";
import { serve } from "../http/server/mod.ts";
import { hasBarePathTargets } from "../http/server/_ancestor_target.ts";
import { urlHost } from "../http/server/_host.ts";
import { createAsyncBroker } from "../broker/create_async_broker.ts";
import type { OptionValue } from "./_args.ts";
import { cassetteFile, hasJournal, loadFailure } from "./_cassette_file.ts";
import type { Command } from "./_command.ts";
import { CliFailure, oneLine, type Output, usageFailure } from "./_output.ts";
import {
  flagSettings,
  mergeSettings,
  NORMALIZER_NAMES,
  readConfig,
  type ServeSettings,
  sessionOptions,
} from "./_serve_settings.ts";

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
  return new CliFailure(`cannot listen on ${urlHost(hostname)}:${port}: ${reason}`, 1, {
    cause: error,
  });
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

/** Checks what only some modes use, after flags and config are merged. */
function checkModes(settings: ServeSettings): void {
  const mode = settings.mode ?? "replay";
  const upstream = settings.upstream;
  if (mode === "replay" && upstream !== undefined) {
    throw usageFailure("--upstream is only used with --mode record or auto");
  }
  if (mode !== "replay" && upstream === undefined) {
    throw usageFailure(`--mode ${mode} needs --upstream <url>`);
  }
  if (mode === "replay" && settings.blobThreshold !== undefined) {
    throw usageFailure("--blob-threshold is only used with --mode record or auto");
  }
  if (mode === "replay" && settings.keepEncoding === true) {
    throw usageFailure("--keep-encoding is only used with --mode record or auto");
  }
  if (settings.afterLast !== undefined && settings.playback !== "sequential") {
    throw usageFailure("--after-last is only used with --playback sequential");
  }
}

async function run(
  values: Readonly<Record<string, OptionValue>>,
  positional: string | undefined,
  output: Output,
): Promise<number> {
  const config = typeof values.config === "string"
    ? await readConfig(values.config, output.cwd)
    : {};
  const settings = mergeSettings(config, flagSettings(values));
  const name = positional ?? settings.cassette;
  if (name === undefined) throw usageFailure("missing <cassette> argument");
  checkModes(settings);
  const mode = settings.mode ?? "replay";
  const port = settings.port ?? 0;
  const hostname = settings.host ?? "127.0.0.1";
  const upstream = settings.upstream;
  const blobThreshold = settings.blobThreshold;
  const file = cassetteFile(name, output.cwd, settings.format, "--format");
  const session = sessionOptions(settings);

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
  const options = { ...session, mode, timing: settings.timing };
  let broker;
  try {
    broker = await openAsyncBroker(
      store,
      mode === "replay" ? options : {
        ...options,
        // node:http, not fetch: the client gets, and the cassette keeps,
        // each header line, the reason phrase and the length as sent (ADR 0030).
        liveResponder: createFetchResponder({
          upstream,
          client: "node:http",
          keepEncoding: settings.keepEncoding,
        }),
        // A proxied stream (server-sent events, LLM tokens) reaches the
        // client as it arrives; only complete responses are recorded.
        recording: "streaming",
      },
    );
  } catch (error) {
    throw await loadFailure(file, error);
  }
  // interposition-http-adapter matched every recording on the header names
  // it holds, and its cassettes are the ones whose targets are bare paths:
  // such a cassette replays as it did there unless the settings say
  // otherwise (ADR 0025). Recording modes keep what the settings say.
  if (
    mode === "replay" && settings.headerSchema === undefined &&
    hasBarePathTargets(broker.cassette)
  ) {
    broker = createAsyncBroker({
      ...options,
      cassette: broker.cassette,
      store,
      headerSchema: true,
    });
  }
  let server;
  try {
    server = await serve({
      broker,
      hostname,
      port,
      // Recorded targets name the upstream, so the cassette also replays
      // through createReplayFetch() against the real URLs.
      origin: settings.origin ?? upstream,
      missStatus: settings.missStatus,
      matchHeaders: settings.matchHeaders,
      bodyLimit: settings.bodyLimit,
      // Request bodies as big as the recorded chunks kept in blob files go
      // to a temporary file as they arrive, and from there upstream and
      // into the blob folder (ADR 0053).
      spoolThreshold: blobThreshold,
      allowedHosts: settings.allowedHosts,
      // The whole error, paths and all, is for this terminal only; the HTTP
      // answer names cassette-relative files (ADR 0037).
      onError: (error) => {
        const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        void output.err(`x-replay: serve: ${oneLine(text)}\n`);
      },
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
chunk by chunk with its recorded status, status text and header lines. A
request the cassette lacks is answered 500 "Interaction Not Found" with an
explanation (the request as seen and the nearest recorded interactions).

With --mode record or auto and --upstream it is a recording proxy: point any
HTTP client at it, and requests are forwarded to the upstream, streamed back
as they arrive (each header line, the status text and content-length as the
upstream sent them), and saved to the cassette (created if missing). A
response is complete for the client only once its recording is saved.

A JSON cassette with a journal beside it (<cassette>.journal, kept by a
journalStore) is served whole, snapshot then journal, and recording appends
each new interaction to the journal as the journal store does, leaving the
snapshot alone ("x-replay compact" folds the journal in). Without a journal,
recording rewrites the cassette file.

Prints "listening on http://HOST:PORT" once ready, then runs until SIGINT
(Ctrl+C) or SIGTERM and closes cleanly. Errors answered 500 or 502 are
printed whole on stderr; the HTTP answer names files relative to the cassette.

Server:
  --port <n>              the port; 0 picks a free one (default: 0)
  --host <address>        the address to bind (default: 127.0.0.1)
  --allowed-hosts <a,b>   Host header names answered besides IP addresses and
                          localhost; .example.com allows its subdomains, * any
                          host (default: none; others get 403, against DNS rebinding)
  --body-limit <size>     the largest request body read, e.g. 1048576 or 16MiB;
                          larger ones get 413 (default: 64MiB)
  --miss-status <n>       the status of a miss answer, 200 to 599 (default: 500)
  --config <file>         read settings from a JSON file (below); flags given
                          as well replace the file's value of that setting

Recording:
  --mode <mode>           replay: answer from the cassette only (default)
                          record: forward every request to the upstream and record it
                          auto:   replay what is recorded, forward and record the rest
  --upstream <url>        where record and auto forward requests (required there)
  --origin <url>          the origin recorded targets use, e.g. the host a client
                          recording was made against (default: the upstream, else
                          the cassette's single origin, else path and query alone
                          when every recorded target is a bare path, else the
                          incoming request's own URL)
  --blob-threshold <n>    with record or auto: keep recorded chunks of at least <n>
                          bytes in <cassette>.blobs/ (ADR 0041), written as they
                          stream through instead of held in memory, and request
                          bodies of that size too: those go to a temporary file
                          as they arrive, and upstream as they come in record
                          mode, once whole in auto mode (ADR 0053)
  --keep-encoding         with record or auto: record gzip, deflate and br bodies
                          as sent, still compressed, with content-encoding and
                          content-length (default: decoded, without those two)
  --format <fmt>          the cassette's format, json or yaml (default: from the extension)

Matching and playback:
  --match-headers <a,b>   request headers that take part in matching (repeatable;
                          --match-header <name> is the same) (default: none)
  --header-schema         match each recording on the header names it holds, as
                          interposition-http-adapter does (default: on in replay
                          mode for a cassette whose targets are all bare paths,
                          the ancestor's cassettes; off otherwise; "headerSchema":
                          false in --config turns it off)
  --normalize <name>      a built-in normaliser applied before matching and
                          recording, repeatable, applied in order: ${NORMALIZER_NAMES.join(", ")}
                          (default: none)
  --playback <how>        first: every identical request gets the first recording
                          (default); sequential: the n-th gets the n-th
  --after-last <what>     with sequential playback in replay mode, after the last
                          recording: error (a miss, the default) or repeat (the
                          last one again)
  --timing <how>          none: chunks as fast as possible (default); recorded: with
                          the recorded gaps; <scale>: the gaps times <scale>
                          (0.5 is twice as fast)

Redaction (what is matched and stored; by default the secret headers and query
parameters of createRedactor()):
  --redact-headers <a,b>      more header names whose values are replaced (repeatable)
  --redact-query <a,b>        more query parameter names (repeatable)
  --redact-json-fields <a,b>  JSON keys, at any depth, in bodies and event streams (repeatable)
  --redact-pattern <re>       a regular expression replaced wherever text appears,
                              as "/source/flags" or the source alone (repeatable)
  --redact-placeholder <text> what replaces a secret (default: [REDACTED])
  --no-default-redaction      apply only the names and patterns given here

  -h, --help              show this help

The config file is a JSON object with these keys, each the flag's setting:
cassette, mode, port, host, upstream, origin, matchHeaders (list), missStatus,
blobThreshold, format, timing ("recorded", "none" or a number), playback,
afterLast, headerSchema (boolean), normalize (list), bodyLimit (bytes or
"64MiB"), allowedHosts (list, or true for any), keepEncoding (boolean) and
redact: { headers, query, jsonFields, patterns (lists), placeholder,
includeDefaults (boolean) }. An unknown key is an error.
`,
  options: {
    port: { type: "string" },
    host: { type: "string" },
    mode: { type: "string" },
    upstream: { type: "string" },
    origin: { type: "string" },
    "match-header": { type: "string", multiple: true },
    "match-headers": { type: "string", multiple: true },
    "miss-status": { type: "string" },
    "blob-threshold": { type: "string" },
    format: { type: "string" },
    config: { type: "string" },
    timing: { type: "string" },
    playback: { type: "string" },
    "after-last": { type: "string" },
    "header-schema": { type: "boolean" },
    normalize: { type: "string", multiple: true },
    "body-limit": { type: "string" },
    "allowed-hosts": { type: "string", multiple: true },
    "keep-encoding": { type: "boolean" },
    "redact-headers": { type: "string", multiple: true },
    "redact-query": { type: "string", multiple: true },
    "redact-json-fields": { type: "string", multiple: true },
    "redact-pattern": { type: "string", multiple: true },
    "redact-placeholder": { type: "string" },
    "no-default-redaction": { type: "boolean" },
  },
  async run({ values, positionals }, output) {
    if (positionals.length > 1) {
      throw usageFailure(`unexpected argument ${JSON.stringify(positionals[1])}`);
    }
    return await run(values, positionals[0], output);
  },
};
