// The web-standard handler behind createHandler() and serve().
import { EMPTY_BYTES } from "../../core/_bytes.ts";
import { describe } from "../../core/_check.ts";
import type { BrokerLike } from "../broker_like.ts";
import { offerHeaders, wantsOfferedHeaders } from "../../broker/_offered_headers.ts";
import { InteractionNotFoundError, ReplayError } from "../../core/errors.ts";
import {
  type HeaderLine,
  headerNames,
  HTTP_PROTOCOL,
  liveSignal,
  openResponse,
  readHeaders,
  toInteractionRequest,
} from "../_mapping.ts";
import type { Cassette, InteractionRequest } from "../../core/types.ts";
import { DEFAULT_BODY_LIMIT, readLimited } from "./_body.ts";
import {
  BodyTooLargeError,
  createSpool,
  type PassedOn,
  type SpooledBody,
} from "../../broker/_spool.ts";
import { arrivingRecorder } from "../../broker/_body_streams.ts";
import { lendReads } from "../../core/_recycled.ts";
import { missBody } from "./_explain.ts";
import { ancestorTargets, hasBarePathTargets } from "./_ancestor_target.ts";
import { failure } from "./_failure.ts";
import { frame, lengthOf } from "./_framing.ts";

/** Options for `createHandler()`. */
export interface HandlerOptions {
  /** The broker that answers requests: synchronous or asynchronous, in any mode. */
  readonly broker: BrokerLike;
  /**
   * The origin (scheme, host and port; any path is ignored) that replaces
   * the incoming request's own when the target is built, e.g. the upstream a
   * recording proxy forwards to, or the host a client recording was made
   * against.
   *
   * @default {the single origin of the cassette's HTTP targets; path and
   * query alone when they are all paths (the ancestor's style); otherwise the
   * incoming request's URL}
   */
  readonly origin?: string | undefined;
  /**
   * The status of a miss answer.
   *
   * @default {500}
   */
  readonly missStatus?: number | undefined;
  /**
   * Request header names (any case) that take part in matching.
   *
   * @default {[]}
   */
  readonly matchHeaders?: readonly string[] | undefined;
  /**
   * The largest request body, in bytes, that is read. A request body takes
   * part in matching and is stored with its recording, so it is held whole
   * (in memory, or in a file with `spoolThreshold`); a larger one is
   * answered 413 `Content Too Large` (at once when its `content-length` says
   * so, else as soon as it passes the limit) and is neither matched nor
   * forwarded.
   *
   * @default {67108864 (64 MiB)}
   */
  readonly bodyLimit?: number | undefined;
  /**
   * Request bodies of at least this many bytes are written to a temporary
   * file as they arrive instead of being held (ADR 0053), and are
   * fingerprinted, matched, sent upstream and recorded from it, a piece at
   * a time; a store with a `blobThreshold` copies them into its blob
   * folder. An asynchronous broker in `record` mode whose live responder is
   * `createFetchResponder()`'s sends the body upstream while it still
   * arrives; elsewhere it is spooled whole first. Redaction reads such a
   * body only when it is UTF-8 text. `multipart/form-data` bodies are always
   * held, because their boundary is rewritten to make them match (ADR
   * 0030). `bodyLimit` still applies. `x-replay serve` sets this to its
   * `--blob-threshold`.
   *
   * @default {undefined (every body is held in memory)}
   */
  readonly spoolThreshold?: number | undefined;
  /**
   * Where spooled bodies go: a private folder is made in it for them, and
   * removed when the server closes or the process exits; each body's file
   * goes once nothing refers to it.
   *
   * @default {the system's temporary folder (os.tmpdir())}
   */
  readonly spoolFolder?: string | undefined;
  /**
   * Receives each error answered with 500 or 502, whole: the answer's body
   * names files only relative to the cassette's folder, and leaves out what
   * an HTTP client should not learn about the machine (ADR 0037). `serve()`
   * also hands it errors that cut a response short after its status was
   * sent.
   *
   * @default {console.error}
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** What the handler answers: the response, and its header lines when it replays a recording. */
export interface Answer {
  readonly response: Response;
  /**
   * Chunk 0's header lines as recorded, one per line (repeated names apart),
   * for a server that can write them so; `undefined` for the server's own
   * answers (misses, failures).
   */
  readonly lines: readonly HeaderLine[] | undefined;
}

/** The handler, and what removes its spooled bodies. */
export type Handle = ((request: Request) => Promise<Answer>) & {
  /** Removes the files of every body it spooled. */
  close(): Promise<void>;
};

const MULTIPART = /^\s*multipart\/form-data\s*;/i;

/** Whether an error is, or was caused by, a body passed on that went past the limit. */
function tooLarge(error: unknown): boolean {
  return error instanceof BodyTooLargeError ||
    (error instanceof Error && error.cause instanceof BodyTooLargeError);
}

/** Ends a response body stream that is still open (used by a closing server). */
export type Track = (end: (reason: unknown) => void) => () => void;

type TargetOf = (url: URL) => string;

const TEXT = "text/plain; charset=utf-8";

/** The `content-length` a request declares, when it is a plain number. */
function declaredLength(headers: Headers): number | undefined {
  const value = headers.get("content-length");
  return value === null ? undefined : lengthOf(value);
}

function plain(response: Response): Answer {
  return { response, lines: undefined };
}

/**
 * The one origin of the cassette's HTTP targets, or `undefined` when there
 * is none, more than one, or a target that is not an absolute URL.
 */
function singleOrigin(cassette: Cassette): string | undefined {
  let origin: string | undefined;
  for (const { request } of cassette.interactions) {
    if (request.protocol !== HTTP_PROTOCOL) continue;
    let found: string;
    try {
      found = new URL(request.target).origin;
    } catch {
      return undefined;
    }
    if (origin !== undefined && found !== origin) return undefined;
    origin = found;
  }
  return origin;
}

/**
 * How targets are built when no origin is given, decided from the cassette:
 * the ancestor's bare paths (the same test as `x-replay serve`'s
 * header-schema default), else its single origin, else the incoming URL's.
 */
function inferTarget(cassette: Cassette): TargetOf {
  if (hasBarePathTargets(cassette)) return ancestorTargets(cassette);
  const origin = singleOrigin(cassette);
  return origin === undefined
    ? (url) => `${url.origin}${url.pathname}${url.search}`
    : (url) => `${origin}${url.pathname}${url.search}`;
}

/**
 * Builds the handler; `track` lets a server end open response streams when
 * it closes. `copy: false` is for a server that only writes the response
 * bodies to its sockets: their bytes are then not copied for it.
 */
export function buildHandler(
  options: HandlerOptions,
  action: string,
  track?: Track,
  copy = true,
): Handle {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`Cannot ${action}: expected an options object with a broker`);
  }
  const broker = options.broker;
  if (
    typeof broker !== "object" || broker === null ||
    typeof (broker as { replay?: unknown }).replay !== "function"
  ) {
    throw new TypeError(
      `Cannot ${action}: broker must have a replay() method, got ${describe(broker)}`,
    );
  }
  const missStatus = options.missStatus ?? 500;
  if (!Number.isInteger(missStatus) || missStatus < 200 || missStatus > 599) {
    throw new RangeError(
      `Cannot ${action}: missStatus must be an integer from 200 to 599, got ${
        describe(missStatus)
      }`,
    );
  }
  const match = headerNames(options.matchHeaders, action);
  // A broker with headerSchema reads the request headers its recordings name (ADR 0025).
  const offer = wantsOfferedHeaders(broker);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isSafeInteger(bodyLimit) || bodyLimit < 0) {
    throw new RangeError(
      `Cannot ${action}: bodyLimit must be a whole number of bytes >= 0, got ${
        describe(bodyLimit)
      }`,
    );
  }
  const spoolThreshold = options.spoolThreshold;
  if (
    spoolThreshold !== undefined && (!Number.isSafeInteger(spoolThreshold) || spoolThreshold < 1)
  ) {
    throw new RangeError(
      `Cannot ${action}: spoolThreshold must be a whole number of bytes >= 1, got ${
        describe(spoolThreshold)
      }`,
    );
  }
  const spoolFolder = options.spoolFolder;
  if (spoolFolder !== undefined && (typeof spoolFolder !== "string" || spoolFolder === "")) {
    throw new TypeError(
      `Cannot ${action}: spoolFolder must be a folder's path, got ${describe(spoolFolder)}`,
    );
  }
  const spool = spoolThreshold === undefined ? undefined : createSpool(spoolThreshold, spoolFolder);
  // Whether a request's body goes to the spool: big or of unknown length,
  // and not a form whose boundary must be rewritten in memory.
  const spools = (headers: Headers, declared: number | undefined): boolean =>
    spool !== undefined && (declared === undefined || declared >= spoolThreshold!) &&
    !MULTIPART.test(headers.get("content-type") ?? "");
  const onError = options.onError ?? ((error: unknown) => console.error(error));
  if (typeof onError !== "function") {
    throw new TypeError(`Cannot ${action}: onError must be a function, got ${describe(onError)}`);
  }
  if (broker.mode !== "replay" && options.origin === undefined) {
    // Without an origin the target would come from the request's Host
    // header, and the live call would go wherever a client names.
    throw new TypeError(
      `Cannot ${action}: a broker in "${broker.mode}" mode forwards requests, so origin must name ` +
        "the upstream they go to (the URL given to createFetchResponder({ upstream }))",
    );
  }
  let fixed: TargetOf | undefined;
  if (options.origin !== undefined) {
    let origin: string;
    try {
      origin = new URL(options.origin).origin;
    } catch {
      throw new TypeError(
        `Cannot ${action}: origin must be an absolute URL, got ${describe(options.origin)}`,
      );
    }
    if (origin === "null") {
      throw new TypeError(
        `Cannot ${action}: origin must be an http or https URL, got ${describe(options.origin)}`,
      );
    }
    fixed = (url) => `${origin}${url.pathname}${url.search}`;
  }
  // Inference looks at the whole cassette: do it once per cassette value.
  let inferredFor: Cassette | undefined;
  let inferred: TargetOf | undefined;
  const targetOf = (url: URL): string => {
    if (fixed !== undefined) return fixed(url);
    const cassette = broker.cassette;
    if (cassette !== inferredFor || inferred === undefined) {
      inferred = inferTarget(cassette);
      inferredFor = cassette;
    }
    return inferred(url);
  };

  const tooLargeAnswer = (): Response =>
    failure(
      413,
      "Content Too Large",
      new RangeError(
        `The request body is larger than this server's limit of ${bodyLimit} bytes ` +
          "(the bodyLimit option, or x-replay serve --body-limit)",
      ),
      { limit: bodyLimit },
    );

  const handle = async (request: Request): Promise<Answer> => {
    let interaction;
    // A replaying broker never goes live: skip what only a live call needs.
    const mode = broker.mode;
    const live = mode === "replay" ? undefined : liveSignal(request.signal);
    let spooled: SpooledBody | undefined;
    // A recording broker that can start the live call while a big body
    // still arrives gets it as it comes (ADR 0053).
    const arriving = mode === "record" ? arrivingRecorder(broker) : undefined;
    let passed: PassedOn | undefined;
    let complete: Promise<InteractionRequest> | undefined;
    try {
      const headers = readHeaders(request.headers, match, live !== undefined || offer);
      const declared = declaredLength(request.headers);
      const spooling = spools(request.headers, declared);
      const body = spooling && arriving !== undefined
        ? await spool!.passOn(request.body, declared, bodyLimit)
        : spooling
        ? await spool!.read(request.body, declared, bodyLimit)
        : await readLimited(request.body, declared, bodyLimit);
      if (body !== undefined && !(body instanceof Uint8Array)) {
        if ("stream" in body) passed = body;
        else spooled = body;
      }
      if (body === undefined) {
        live?.dispose();
        return plain(tooLargeAnswer());
      }
      const target = targetOf(new URL(request.url));
      interaction = toInteractionRequest(
        request.method,
        target,
        headers,
        passed === undefined ? body as Uint8Array<ArrayBuffer> | SpooledBody : EMPTY_BYTES,
        match,
        // A proxy hands redirects to its client rather than following them.
        live === undefined ? undefined : {
          signal: live.signal,
          redirect: "manual",
          body: passed === undefined ? undefined : { stream: passed.stream, length: declared },
        },
        // readLimited() gave a buffer of its own: the request keeps it, uncopied.
        true,
      );
      if (offer) offerHeaders(interaction, headers);
      // What is recorded: the same request with its whole body, once in.
      complete = passed?.done.then((file) => {
        const whole = toInteractionRequest(request.method, target, headers, file, match, undefined);
        if (offer) offerHeaders(whole, headers);
        return whole;
      });
    } catch (error) {
      live?.dispose();
      await spooled?.discard();
      await passed?.stream.cancel().catch(() => undefined);
      return plain(failure(400, "Bad Request", error));
    }
    try {
      const source = complete === undefined
        ? broker.replay(interaction)
        : arriving!(interaction, complete);
      // A server that writes the bytes to its socket uncopied gives each
      // buffer back once written, so a library playback, whose chunks only
      // this response sees, may read its blobs into borrowed ones (ADR 0055).
      if (!copy) lendReads(source);
      const framing = frame(
        source,
        mode === "record" ? undefined : broker.cassette,
        live !== undefined,
      );
      const response = await openResponse(framing.chunks, {
        method: request.method,
        signal: request.signal,
        dropLength: false,
        track,
        copy,
        onCancel: live?.cancel,
        onDone: live?.dispose,
      });
      return { response, lines: framing.lines() };
    } catch (error) {
      live?.dispose();
      // A live call that failed before it read the arriving body lets it go.
      await passed?.stream.cancel().catch(() => undefined);
      if (tooLarge(error)) return plain(tooLargeAnswer());
      if (error instanceof InteractionNotFoundError) {
        return plain(
          new Response(missBody(broker.cassette, error.request, error.fingerprint), {
            status: missStatus,
            headers: { "content-type": TEXT },
          }),
        );
      }
      // A client that went away mid-upload ends its own live call: nothing
      // for the operator to see, as when a held body's read is cut.
      const gone = request.signal.aborted &&
        (error === request.signal.reason ||
          (error instanceof Error && error.cause === request.signal.reason));
      if (!gone) onError(error);
      // The library's own failures (a save, a bad recording) are this
      // server's, and so is everything in replay mode, where nothing goes
      // live; anything else came from the live side.
      return plain(
        mode === "replay" || error instanceof ReplayError || error instanceof RangeError
          ? failure(500, "Replay Error", error)
          : failure(502, "Bad Gateway", error),
      );
    } finally {
      // Replay mode is done with the body once it is matched; a recording
      // still reads it (upstream, then into the store), so its file goes
      // when nothing refers to it any more, or when the server closes.
      if (mode === "replay") await spooled?.discard();
    }
  };
  return Object.assign(handle, {
    close: (): Promise<void> => spool?.close() ?? Promise.resolve(),
  });
}
