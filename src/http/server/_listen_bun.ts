// serve() on Bun: Bun.serve, typed locally so the npm build needs no Bun types.
import type { Listening, WebHandler } from "./_listen.ts";

/** The part of the `Bun` global this adapter uses. */
export interface BunServeApi {
  serve(options: {
    readonly hostname: string;
    readonly port: number;
    readonly idleTimeout: number;
    readonly fetch: (request: Request) => Promise<Response>;
  }): { readonly port: number; stop(closeActiveConnections?: boolean): unknown };
}

/** Starts `handler` with `Bun.serve`. */
export function listenBun(
  bun: BunServeApi,
  handler: WebHandler,
  hostname: string,
  port: number,
): Promise<Listening> {
  // idleTimeout 0: a server-sent-event stream may stay quiet for longer than Bun's default 10 s.
  const server = bun.serve({ hostname, port, idleTimeout: 0, fetch: handler });
  return Promise.resolve({
    port: server.port,
    close: async () => {
      await server.stop(true);
    },
  });
}
