import { ReplayError } from "../../core/errors.ts";

/**
 * HAR text that `fromHar()` cannot read: not JSON, a value of the wrong
 * shape or type, a side file (`_file`) that is unsafe or unreadable, or
 * extension fields of `toHar()` that contradict the entry. `path` names the
 * value, e.g. `log.entries[3].response.content.text` (empty for a syntax
 * error).
 *
 * @example Usage
 * ```ts
 * import { fromHar, HarFormatError } from "@x/replay/har";
 * import assert from "node:assert/strict";
 *
 * assert.throws(
 *   () => fromHar('{"log": {"entries": [{"request": 7}]}}'),
 *   (error: unknown) =>
 *     error instanceof HarFormatError &&
 *     error.path === "log.entries[0].request" &&
 *     error.message === "log.entries[0].request: expected an object, got number 7",
 * );
 * ```
 */
export class HarFormatError extends ReplayError {
  /** Where the problem is, e.g. `log.entries[3].response.status`; empty for a syntax error. */
  readonly path: string;

  /**
   * Creates a `HarFormatError` with the message `path: detail` (`detail`
   * alone when the path is empty).
   *
   * @param path Where the problem is.
   * @param detail What is wrong there.
   * @param options Standard error options (`cause`).
   */
  constructor(path: string, detail: string, options?: ErrorOptions) {
    super(path === "" ? detail : `${path}: ${detail}`, options);
    this.name = "HarFormatError";
    this.path = path;
  }
}
