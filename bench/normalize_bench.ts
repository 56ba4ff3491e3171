// What a typical normaliser chain (and the brokers' default redaction) adds
// to one replay of a hit. Baseline: the same replay without normalising.
import {
  canonicalJsonBody,
  composeNormalizers,
  createBroker,
  createCassette,
  createInteraction,
  createRedactor,
  createRequest,
  dropHeaders,
  lowercaseHeaderNames,
  replay,
  sortQuery,
} from "@x/replay";

const normalize = composeNormalizers(
  lowercaseHeaderNames(),
  dropHeaders(["user-agent", "x-request-id", "date"]),
  sortQuery(),
  canonicalJsonBody(),
);

const make = (i: number) =>
  createRequest({
    protocol: "http",
    action: "POST",
    target: `https://api.example.com/v1/items/${i}?page=2&sort=name&fields=id,title`,
    headers: [
      ["Content-Type", "application/json"],
      ["Accept", "application/json"],
      ["User-Agent", "bench/1.0"],
      ["X-Request-Id", `req-${i}`],
    ],
    body: JSON.stringify({ query: "status:open", limit: 50, cursor: `c${i}` }),
  });

const requests = Array.from({ length: 1_000 }, (_, i) => make(i));
const chunks = ["data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"];
const plain = createCassette(requests.map((request) => createInteraction(request, chunks)));
const normalized = createCassette(
  requests.map((request) => createInteraction(normalize(request), chunks)),
);
const probe = requests[500]!;
let sink = 0;

Deno.bench({
  group: "normalise",
  name: "replay() of a 3-chunk hit, no normaliser",
  baseline: true,
  fn: () => {
    for (const chunk of replay(plain, probe)) sink += chunk.data.length;
  },
});

Deno.bench({
  group: "normalise",
  name: "replay() with a 4-step normaliser chain",
  fn: () => {
    for (const chunk of replay(normalized, probe, { normalize })) sink += chunk.data.length;
  },
});

const bare = createBroker({ cassette: plain, redact: false });
const redacting = createBroker({ cassette: plain });
const both = createBroker({ cassette: normalized, normalize });

Deno.bench({
  group: "broker",
  name: "broker.replay(), redact: false",
  baseline: true,
  fn: () => {
    for (const chunk of bare.replay(probe)) sink += chunk.data.length;
  },
});

Deno.bench({
  group: "broker",
  name: "broker.replay(), default redaction",
  fn: () => {
    for (const chunk of redacting.replay(probe)) sink += chunk.data.length;
  },
});

Deno.bench({
  group: "broker",
  name: "broker.replay(), normaliser chain + default redaction",
  fn: () => {
    for (const chunk of both.replay(probe)) sink += chunk.data.length;
  },
});

// Redacting a 64 KiB JSON body (what recording pays per body or chunk, and
// replay per request body). Baseline: parsing and re-serialising it, which
// the redactor did before it replaced values in place (ADR 0026).
const redactor = createRedactor();
const items = Array.from(
  { length: 1_100 },
  (_, i) => ({ id: i, title: `item ${i}`, score: i / 7 }),
);
const clean = JSON.stringify({ items });
const secret = JSON.stringify({ items, access_token: "at-123" });
const body = (text: string) =>
  createRequest({
    protocol: "http",
    action: "POST",
    target: "https://api.example.com/v1",
    body: text,
  });
const cleanBody = body(clean);
const secretBody = body(secret);

Deno.bench({
  group: "redact",
  name: "JSON.parse + JSON.stringify of a 64 KiB JSON body",
  baseline: true,
  fn: () => {
    sink += JSON.stringify(JSON.parse(secret)).length;
  },
});

Deno.bench({
  group: "redact",
  name: "redactor.request() of a 64 KiB JSON body without secret names",
  fn: () => {
    sink += redactor.request(cleanBody).body.length;
  },
});

Deno.bench({
  group: "redact",
  name: "redactor.request() of a 64 KiB JSON body with one secret member",
  fn: () => {
    sink += redactor.request(secretBody).body.length;
  },
});

globalThis.addEventListener("unload", () => {
  if (sink === 42) console.log(sink);
});
