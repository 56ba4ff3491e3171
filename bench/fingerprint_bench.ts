// fingerprint() against a bare SHA-256 of the body bytes, for a 1 KiB and a
// 1 MiB body. The fingerprint hashes the *hex* of the body (interposition's
// format, ADR 0002), i.e. twice as many bytes plus the hex encoding itself,
// so about 2x the baseline is the floor. Target: <= 3x on 1 MiB.
//
// Run: npx deno bench --allow-read --allow-env bench/fingerprint_bench.ts
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { createRequest, fingerprint } from "@x/replay";

/** Deterministic pseudo-random bytes (xorshift32), so every run hashes the same input. */
function bytes(length: number, seed: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = state & 0xff;
  }
  return out;
}

const SIZES = [
  { label: "1 KiB", length: 1024 },
  { label: "1 MiB", length: 1024 * 1024 },
] as const;

// Results are folded into this so no measured call can be dropped as dead code.
let sink = 0;
function consume(hex: string): void {
  sink = (sink + hex.charCodeAt(0) + hex.charCodeAt(63)) | 0;
}

for (const { label, length } of SIZES) {
  const body = bytes(length, length);
  const request = createRequest({
    protocol: "http",
    action: "POST",
    target: "/upload",
    headers: [["content-type", "application/octet-stream"], ["x-request-id", "bench-1"]],
    body,
  });
  // The library owns a copy; hash exactly the same bytes in the baseline.
  const bodyBytes = request.body;

  // Sanity check, outside the measurement: the fingerprint is the SHA-256 of
  // the canonical text with the body as hex.
  const canonical = `["http","POST","/upload",[["content-type","application/octet-stream"],` +
    `["x-request-id","bench-1"]],"${Buffer.from(bodyBytes).toString("hex")}"]`;
  if (createHash("sha256").update(canonical, "latin1").digest("hex") !== fingerprint(request)) {
    throw new Error(`fingerprint bench (${label}): canonical text does not match the library`);
  }

  const group = `fingerprint ${label}`;
  Deno.bench({
    group,
    name: `sha256(body bytes) ${label} [baseline]`,
    baseline: true,
    fn() {
      consume(createHash("sha256").update(bodyBytes).digest("hex"));
    },
  });
  Deno.bench({
    group,
    name: `fingerprint(request) ${label} body`,
    fn() {
      consume(fingerprint(request));
    },
  });
}

globalThis.addEventListener("unload", () => {
  if (sink === 0x7fffffff) console.log("unreachable", sink);
});
