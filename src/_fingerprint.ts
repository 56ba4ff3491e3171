// The fingerprint computation, fed to SHA-256 piece by piece so a large body
// is never turned into one giant canonical string.
import { createHash } from "node:crypto";
import { toHex } from "./_bytes.ts";
import { pythonJsonString } from "./_python_json.ts";
import type { InteractionRequest } from "./types.ts";

// Bodies up to this many bytes are hashed in one update; larger ones in slices
// of this size, so the hex text held at once stays bounded.
const SLICE = 64 * 1024;

/**
 * SHA-256 hex of `json.dumps([protocol, action, target, headers, body_hex],
 * separators=(",", ":"), sort_keys=True)` (interposition's ADR 0002) for a
 * request whose shape is already known to be right.
 */
export function computeFingerprint(request: InteractionRequest): string {
  let head = `[${pythonJsonString(request.protocol)},${pythonJsonString(request.action)},${
    pythonJsonString(request.target)
  },[`;
  const headers = request.headers;
  for (let i = 0; i < headers.length; i++) {
    const [key, value] = headers[i]!;
    head += `${i === 0 ? "" : ","}[${pythonJsonString(key)},${pythonJsonString(value)}]`;
  }
  head += '],"';
  const body = request.body;
  const hash = createHash("sha256");
  if (body.length <= SLICE) {
    hash.update(`${head}${toHex(body, 0, body.length)}"]`, "latin1");
  } else {
    hash.update(head, "latin1");
    for (let start = 0; start < body.length; start += SLICE) {
      hash.update(toHex(body, start, Math.min(start + SLICE, body.length)), "latin1");
    }
    hash.update('"]', "latin1");
  }
  return hash.digest("hex");
}
