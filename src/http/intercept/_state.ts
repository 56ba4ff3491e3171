// What one running interception leaves for the rest of the room: the real
// `fetch` and undici dispatcher it replaced (so the live side can reach the
// network past it), and the scope that marks work done for a live call. Kept
// on a global symbol, so two copies of the library in one process (an npm
// and a JSR one, say) cannot patch the same functions twice.
import { AsyncLocalStorage } from "node:async_hooks";

/** The running interception, as the rest of the room sees it. */
export interface ActiveInterception {
  /** The global `fetch` as it was before interception. */
  readonly fetch: typeof fetch;
  /** The undici global dispatcher as it was before interception, if there was one. */
  readonly dispatcher: object | undefined;
  /**
   * Set while a live responder answers an intercepted request: requests
   * made inside it (the live call itself) go to the network untouched.
   */
  readonly liveScope: AsyncLocalStorage<true>;
}

const ACTIVE: unique symbol = Symbol.for("@x/replay/intercept.active") as never;

type Holder = { [ACTIVE]?: ActiveInterception };

/** The running interception, or `undefined`. */
export function activeInterception(): ActiveInterception | undefined {
  return (globalThis as Holder)[ACTIVE];
}

/** Records the running interception (`undefined` when it stops). */
export function setActiveInterception(active: ActiveInterception | undefined): void {
  if (active === undefined) delete (globalThis as Holder)[ACTIVE];
  else {
    Object.defineProperty(globalThis, ACTIVE, {
      value: active,
      configurable: true,
      enumerable: false,
      writable: true,
    });
  }
}

/** A new live scope. */
export function createLiveScope(): AsyncLocalStorage<true> {
  return new AsyncLocalStorage<true>();
}

/** Whether the code running now works for a live call of the running interception. */
export function inLiveScope(active: ActiveInterception | undefined): boolean {
  return active?.liveScope.getStore() === true;
}

/**
 * The `fetch` that reaches the network whatever is intercepted: the one that
 * was global before interception started, told to use the undici dispatcher
 * that was global then (Node's `fetch` reads the global one, which is ours
 * while intercepting), inside the live scope so that nothing it sends is
 * caught again.
 */
export function networkFetch(
  input: Parameters<typeof fetch>[0],
  init?: Parameters<typeof fetch>[1],
): Promise<Response> {
  const active = activeInterception();
  if (active === undefined) return globalThis.fetch(input, init);
  const options = active.dispatcher === undefined
    ? init
    : { ...init, dispatcher: active.dispatcher } as RequestInit;
  return active.liveScope.run(true, () => active.fetch(input, options));
}

/** The runtime's name, for messages: "Deno", "Bun" or "Node". */
export function runtimeName(): "Deno" | "Bun" | "Node" {
  const global = globalThis as { Deno?: unknown; Bun?: unknown };
  if (global.Deno !== undefined) return "Deno";
  if (global.Bun !== undefined) return "Bun";
  return "Node";
}
