// The last line for `node:http` and `node:https`: while intercepting, their
// `globalAgent` is replaced by one that refuses to connect. A request that
// @mswjs/interceptors catches (or, replaying on Node, the socket path of
// ADR 0051) gets an agent of its own and never reaches the global one; a
// request that slipped past them does reach it: a `request` or `get`
// imported by name on Deno and Bun (where the patched module object cannot
// change an ES module binding), or a function a library kept from before
// interception started. Such a request fails with an error that says
// what happened, instead of going to the network unseen. Requests that pass
// through (and the live call) connect as usual.
import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { ReplayError } from "../../core/errors.ts";
import { clientRequestUrl, type PassthroughRequest } from "./_passthrough.ts";

const BLOCKED = Symbol("x-replay blocked request");

type AddRequest = (request: http.ClientRequest, options: Record<PropertyKey, unknown>) => void;
type Connect = (
  options: Record<PropertyKey, unknown>,
  callback: (error: Error | null, socket?: Socket) => void,
) => Socket | undefined;

/** Replaces both global agents; returns the function that puts them back. */
export function installGuards(passes: (request: PassthroughRequest) => boolean): () => void {
  const restores = [
    guard(http, http.Agent, "http:", passes),
    guard(https, https.Agent, "https:", passes),
  ];
  return () => {
    for (const restore of restores) restore();
  };
}

function guard(
  module: { globalAgent: http.Agent },
  Base: typeof http.Agent,
  protocol: "http:" | "https:",
  passes: (request: PassthroughRequest) => boolean,
): () => void {
  const original = module.globalAgent;
  class GuardAgent extends Base {}
  const prototype = GuardAgent.prototype as unknown as {
    addRequest: AddRequest;
    createConnection: Connect;
  };
  const add = (Base.prototype as unknown as { addRequest: AddRequest }).addRequest;
  const connect = (Base.prototype as unknown as { createConnection: Connect }).createConnection;
  prototype.addRequest = function (this: http.Agent, request, options) {
    let blocked: Error | undefined;
    try {
      const url = clientRequestUrl(protocol, request, options);
      const headers = new Headers();
      for (const [name, value] of Object.entries(request.getHeaders())) {
        for (const item of Array.isArray(value) ? value : [value]) {
          if (item !== undefined) headers.append(name, String(item));
        }
      }
      if (!passes({ method: request.method, url, headers })) {
        blocked = new ReplayError(
          `Cannot send ${request.method} ${url}: the request bypassed interceptHttp() (a node:${
            protocol.slice(0, -1)
          } function imported by name on Deno or Bun, or one kept from before interception started); ` +
            `call it through the module (import http from "node:http"; http.request(...)), or list the host in passthrough`,
        );
      }
    } catch (error) {
      blocked = error instanceof Error ? error : new Error(String(error));
    }
    // Node, Deno and Bun all hand these options on to createConnection(), which then refuses.
    add.call(this, request, blocked === undefined ? options : { ...options, [BLOCKED]: blocked });
  };
  prototype.createConnection = function (this: http.Agent, options, callback) {
    const blocked = options[BLOCKED];
    if (blocked instanceof Error) {
      callback(blocked);
      return undefined;
    }
    return connect.call(this, options, callback);
  };
  const agent = new GuardAgent((original as { options?: http.AgentOptions }).options);
  module.globalAgent = agent;
  return () => {
    if (module.globalAgent === agent) module.globalAgent = original;
  };
}
