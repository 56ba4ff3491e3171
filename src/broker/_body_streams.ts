// Recording a request whose body is still arriving (ADR 0053): the live call
// starts with the body as a stream, and the request is matched, redacted and
// stored once the whole body is in. Only a live responder that says it sends
// that stream (createFetchResponder()) and an asynchronous broker in record
// mode, which never needs the fingerprint before going live, take part.
import type { InteractionRequest, ResponseChunk } from "../core/types.ts";

/**
 * Records `live` (a request whose live call reads its body from the adapter's
 * stream) once `complete` (the same request with its whole body) is known.
 */
export type RecordArriving = (
  live: InteractionRequest,
  complete: Promise<InteractionRequest>,
) => AsyncIterableIterator<ResponseChunk>;

const streamingResponders = new WeakSet<object>();
const arriving = new WeakMap<object, RecordArriving>();

/** Marks a live responder that sends a request body from its adapter's stream when there is one. */
export function sendsBodyStreams<T extends object>(responder: T): T {
  streamingResponders.add(responder);
  return responder;
}

/** Whether a live responder sends a request body from its adapter's stream. */
export function isBodyStreaming(responder: unknown): boolean {
  return typeof responder === "function" && streamingResponders.has(responder);
}

/** Registers how `broker` records a request whose body is still arriving. */
export function recordsArriving(broker: object, record: RecordArriving): void {
  arriving.set(broker, record);
}

/** How `broker` records a request whose body is still arriving, if it can. */
export function arrivingRecorder(broker: unknown): RecordArriving | undefined {
  return typeof broker === "object" && broker !== null ? arriving.get(broker) : undefined;
}
