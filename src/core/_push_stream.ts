// A byte stream fed by a producer that waits for room: each piece is handed
// to the reader as it is pulled, and the producer never runs more than one
// piece ahead. Shared by the spool (a body passed on as it arrives) and the
// HTTP mapping (a blob file sent as it is read).

/** A stream and the producer's side of it. */
export interface PushStream {
  readonly stream: ReadableStream<Uint8Array>;
  /** Whether the reader still wants pieces: false once it cancelled, or the stream ended. */
  readonly open: boolean;
  /** Hands a piece on; resolves once there is room for the next (at once when closed). */
  give(piece: Uint8Array): Promise<void>;
  /** Ends the stream. */
  end(): void;
  /** Errors the stream. */
  fail(error: unknown): void;
}

/** A stream that holds at most one piece its reader has not taken. */
export function pushStream(): PushStream {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let open = true;
  let wake: (() => void) | undefined;
  const rouse = (): void => {
    wake?.();
    wake = undefined;
  };
  const stream = new ReadableStream<Uint8Array>({
    start(given): void {
      controller = given;
    },
    pull: rouse,
    cancel(): void {
      open = false;
      rouse();
    },
  }, { highWaterMark: 1 });
  return {
    stream,
    get open(): boolean {
      return open;
    },
    async give(piece: Uint8Array): Promise<void> {
      if (!open) return;
      controller.enqueue(piece);
      while (open && (controller.desiredSize ?? 0) <= 0) {
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    end(): void {
      if (!open) return;
      open = false;
      controller.close();
    },
    fail(error: unknown): void {
      if (!open) return;
      open = false;
      controller.error(error);
      rouse();
    },
  };
}
