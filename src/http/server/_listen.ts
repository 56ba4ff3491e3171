// What every runtime adapter of serve() provides.

/** A handler in the web-standard shape. */
export type WebHandler = (request: Request) => Promise<Response>;

/** A listening server: the port it got and how to stop it. */
export interface Listening {
  /** The port, resolved when 0 was asked for. */
  readonly port: number;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}
