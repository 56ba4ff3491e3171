// Python's own json module as an oracle for interposition's fingerprint
// (sha256 of json.dumps([...], separators=(",", ":"), sort_keys=True)) and
// for reading the JSON we write the way interposition 0.6 reads it.
import { spawnSync } from "node:child_process";
import { Buffer } from "node:buffer";

function runPython(script: string, input: string): string {
  const result = spawnSync("python3", ["-c", script], {
    input,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) {
    throw new Error(
      `python3 is needed as the test oracle and could not run: ${result.error.message}`,
    );
  }
  if (result.status !== 0) throw new Error(`python3 failed: ${result.stderr}`);
  return result.stdout;
}

const FINGERPRINT_SCRIPT = `
import hashlib, json, sys
for line in sys.stdin:
    p, a, t, h, b = json.loads(line)
    text = json.dumps([p, a, t, h, b], separators=(",", ":"), sort_keys=True)
    print(hashlib.sha256(text.encode("utf-8")).hexdigest())
`;

/** A request as plain data, for the oracle. */
export interface PlainRequest {
  readonly protocol: string;
  readonly action: string;
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

/** Fingerprints computed by CPython's json.dumps, one per request. */
export function pythonFingerprints(requests: readonly PlainRequest[]): string[] {
  const input = requests
    .map((r) =>
      JSON.stringify([
        r.protocol,
        r.action,
        r.target,
        r.headers,
        Buffer.from(r.body.buffer, r.body.byteOffset, r.body.byteLength).toString("hex"),
      ])
    )
    .join("\n");
  return runPython(FINGERPRINT_SCRIPT, `${input}\n`).trim().split("\n").filter((line) =>
    line !== ""
  );
}

const LOAD_SCRIPT = `
import hashlib, json, sys
doc = json.loads(sys.stdin.read())
out = []
for i in doc["interactions"]:
    r = i["request"]
    body = r["body"].encode("utf-8")
    headers = [list(pair) for pair in r["headers"]]
    assert all(len(pair) == 2 and all(isinstance(x, str) for x in pair) for pair in headers)
    text = json.dumps([r["protocol"], r["action"], r["target"], headers, body.hex()],
                      separators=(",", ":"), sort_keys=True)
    assert hashlib.sha256(text.encode("utf-8")).hexdigest() == i["fingerprint"]["value"], "fingerprint"
    chunks = i["response_chunks"]
    assert len(chunks) > 0 and [c["sequence"] for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        c["data"].encode("utf-8")
        assert all(len(p) == 2 for p in c["metadata"])
    assert all(len(p) == 2 for p in i["metadata"])
    out.append([c["data"] for c in chunks])
print(json.dumps(out))
`;

/**
 * Reads JSON cassette text the way interposition 0.6 does (UTF-8 strings for
 * bytes, fingerprint re-derived from the request) and returns each
 * interaction's chunk texts; throws if Python rejects anything.
 */
export function pythonLoadCassette(text: string): string[][] {
  return JSON.parse(runPython(LOAD_SCRIPT, text));
}
