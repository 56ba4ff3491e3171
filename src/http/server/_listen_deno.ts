// serve() on Deno: Deno.serve, typed locally so the npm build needs no Deno types.
import type { Listening, WebHandler } from "./_listen.ts";

/** The part of the `Deno` namespace this adapter uses. */
export interface DenoServeApi {
  serve(options: {
    readonly hostname: string;
    readonly port: number;
    readonly onListen: (address: unknown) => void;
    readonly onError: (error: unknown) => Response;
    readonly handler: (request: Request) => Promise<Response>;
  }): { readonly addr: { readonly port: number }; shutdown(): Promise<void> };
}

/** Starts `handler` with `Deno.serve`. */
export function listenDeno(
  deno: DenoServeApi,
  handler: WebHandler,
  hostname: string,
  port: number,
): Promise<Listening> {
  // onListen is set to stay quiet: Deno.serve prints "Listening on …" by default.
  const server = deno.serve({
    hostname,
    port,
    onListen: () => {},
    // Errors reaching here come from response bodies ended after the status
    // was sent (a closed server, a failed live stream): the connection is cut,
    // which is all the client can be told; Deno would log them otherwise.
    onError: () => new Response(null, { status: 500 }),
    handler: (request) => {
      // Deno's request.signal also aborts once a response is complete, and
      // warns about it when read: hand the handler a request without it. A
      // client that goes away cancels the response body instead, which stops
      // the live call behind it.
      const init: RequestInit & { duplex?: string } = {
        method: request.method,
        headers: request.headers,
      };
      if (request.body !== null) {
        init.body = request.body;
        init.duplex = "half";
      }
      return handler(new Request(request.url, init));
    },
  });
  return Promise.resolve({
    port: server.addr.port,
    close: () => server.shutdown(),
  });
}
