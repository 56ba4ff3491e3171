// Backpressure on node:http's writable sides, shared by the server (response
// bodies) and the node:http live client (request bodies).

/** A `node:http` response or client request, as far as waiting for room goes. */
export interface Drainable {
  on(event: "drain" | "close", listener: () => void): unknown;
  off(event: "drain" | "close", listener: () => void): unknown;
}

/** Resolves when `writable` can take more data, or has closed. */
export function drained(writable: Drainable): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      writable.off("drain", done);
      writable.off("close", done);
      resolve();
    };
    writable.on("drain", done);
    writable.on("close", done);
  });
}
