// Issue 4 on both brokers: normalisation, redaction, sequential playback,
// recorded timing, recorded_at and maxAge, unused() and pruneUnused().
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { TOKENS } from "./_secrets.ts";
import {
  type AnyStore as _AnyStore,
  cleanUpStores,
  type StoreSubject,
  storeSubjects,
  text,
  texts,
  withFolder,
} from "./_helpers.ts";
import {
  type BrokerSessionOptions,
  type Cassette,
  composeNormalizers,
  createAsyncBroker,
  createBroker,
  createCassette,
  createChunk,
  createInteraction,
  createRedactor,
  createRequest,
  fileStore,
  fileStoreAsync,
  InteractionNotFoundError,
  type InteractionRequest,
  memoryStore,
  openAsyncBroker,
  openBroker,
  type ResponseChunk,
  sortQuery,
  StaleRecordingError,
  type Timing,
} from "@x/replay";

after(cleanUpStores);

type Live = (request: InteractionRequest) => Iterable<ResponseChunk | string | Uint8Array>;

interface Options extends BrokerSessionOptions {
  readonly cassette: Cassette;
  readonly mode?: "replay" | "record" | "auto";
  readonly liveResponder?: Live;
  readonly store?: _AnyStore;
  readonly timing?: Timing;
  readonly sleep?: (ms: number) => Promise<void>;
}

interface Subject {
  readonly cassette: Cassette;
  collect(request: InteractionRequest): Promise<ResponseChunk[]>;
  unused(): readonly unknown[];
  pruneUnused(): Promise<void>;
}

const flavours: { name: string; make: (options: Options) => Subject }[] = [
  {
    name: "createBroker()",
    make: (options) => {
      const { timing: _timing, sleep: _sleep, store, ...rest } = options;
      const broker = createBroker({
        ...rest,
        store: store as ReturnType<typeof memoryStore> | undefined,
      });
      return {
        get cassette() {
          return broker.cassette;
        },
        collect: (request) => new Promise((resolve) => resolve([...broker.replay(request)])),
        unused: () => broker.unused(),
        pruneUnused: () => Promise.resolve(broker.pruneUnused()),
      };
    },
  },
  {
    name: "createAsyncBroker()",
    make: (options) => {
      const broker = createAsyncBroker(options);
      return {
        get cassette() {
          return broker.cassette;
        },
        collect: async (request) => {
          const chunks: ResponseChunk[] = [];
          for await (const chunk of broker.replay(request)) chunks.push(chunk);
          return chunks;
        },
        unused: () => broker.unused(),
        pruneUnused: () => broker.pruneUnused(),
      };
    },
  },
];

const get = (target: string, headers: [string, string][] = []) =>
  createRequest({ protocol: "http", action: "GET", target, headers });

function counting(
  answer: (request: InteractionRequest) => (string | ResponseChunk)[] = (r) => [`live ${r.target}`],
) {
  const seen: InteractionRequest[] = [];
  const live: Live = (request) => {
    seen.push(request);
    return answer(request);
  };
  return { live, seen };
}

for (const { name, make } of flavours) {
  test(`${name} matches and records through normalize`, async () => {
    const { live, seen } = counting();
    const broker = make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: live,
      normalize: sortQuery(),
    });
    await broker.collect(get("/s?b=2&a=1"));
    assert.deepEqual(texts(await broker.collect(get("/s?a=1&b=2"))), ["live /s?b=2&a=1"]);
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.target, "/s?b=2&a=1", "the live responder gets the request as made");
    assert.equal(
      broker.cassette.interactions[0]!.request.target,
      "/s?a=1&b=2",
      "the cassette stores it normalised",
    );
  });

  test(`${name} redacts by default what it stores, not what the live side and the caller see`, async () => {
    const { live, seen } = counting(
      () => [createChunk("token: t-live", 0, [["header:set-cookie", "sid=live"]])],
    );
    const broker = make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: live,
      redact: createRedactor({ patterns: [/t-live/] }),
    });
    const chunks = await broker.collect(
      get("/me?api_key=k-live", [["Authorization", "Bearer live"]]),
    );
    assert.deepEqual(seen[0]!.headers, [["Authorization", "Bearer live"]]);
    assert.equal(seen[0]!.target, "/me?api_key=k-live");
    assert.equal(text(chunks[0]!), "token: t-live");
    assert.deepEqual(chunks[0]!.metadata[0], ["header:set-cookie", "sid=live"]);
    const stored = broker.cassette.interactions[0]!;
    assert.deepEqual(stored.request.headers, [["Authorization", "[REDACTED]"]]);
    assert.equal(stored.request.target, "/me?api_key=%5BREDACTED%5D");
    assert.equal(text(stored.responseChunks[0]!), "token: [REDACTED]");
    assert.deepEqual(stored.responseChunks[0]!.metadata[0], ["header:set-cookie", "[REDACTED]"]);
    // Replay still matches, whatever the secret is this time.
    assert.deepEqual(
      texts(await broker.collect(get("/me?api_key=other", [["Authorization", "Bearer other"]]))),
      [
        "token: [REDACTED]",
      ],
    );
    assert.equal(seen.length, 1);
  });

  test(`${name} with redact: false stores secrets as they are`, async () => {
    const broker = make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: counting().live,
      redact: false,
    });
    await broker.collect(get("/", [["authorization", "Bearer x"]]));
    assert.deepEqual(broker.cassette.interactions[0]!.request.headers, [[
      "authorization",
      "Bearer x",
    ]]);
  });

  test(`${name} plays repeated requests back in order with playback: sequential`, async () => {
    const request = get("/poll");
    const cassette = createCassette(
      [1, 2, 3].map((n) => createInteraction(request, [`state ${n}`])),
    );
    const strict = make({ cassette, playback: "sequential" });
    for (const n of [1, 2, 3]) {
      assert.deepEqual(texts(await strict.collect(request)), [`state ${n}`]);
    }
    await assert.rejects(() => strict.collect(request), (error: unknown) => {
      assert.ok(error instanceof InteractionNotFoundError);
      assert.equal(error.occurrence, 3);
      assert.equal(error.recorded, 3);
      return true;
    });
    const repeating = make({ cassette, playback: "sequential", afterLast: "repeat" });
    const seen = [];
    for (let i = 0; i < 5; i++) seen.push(texts(await repeating.collect(request))[0]);
    assert.deepEqual(seen, ["state 1", "state 2", "state 3", "state 3", "state 3"]);
    const first = make({ cassette });
    assert.deepEqual(texts(await first.collect(request)), ["state 1"]);
    assert.deepEqual(texts(await first.collect(request)), ["state 1"]);
  });

  test(`${name} records new occurrences in auto mode with playback: sequential`, async () => {
    let n = 0;
    const live: Live = () => [`answer ${++n}`];
    const request = get("/poll");
    const recorder = make({
      cassette: createCassette([createInteraction(request, ["answer 0"])]),
      mode: "auto",
      liveResponder: live,
      playback: "sequential",
    });
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(texts(await recorder.collect(request))[0]);
    assert.deepEqual(answers, ["answer 0", "answer 1", "answer 2"]);
    assert.equal(recorder.cassette.interactions.length, 3);
    const replayer = make({ cassette: recorder.cassette, playback: "sequential" });
    const again = [];
    for (let i = 0; i < 3; i++) again.push(texts(await replayer.collect(request))[0]);
    assert.deepEqual(again, answers);
  });

  test(`${name} stamps recorded_at and each chunk's offset_ms from its clock`, async () => {
    let clock = Date.UTC(2026, 0, 5, 12, 0, 0);
    const live: Live = function* () {
      clock += 40;
      yield "a";
      clock += 60.5;
      yield "b";
    };
    const broker = make({
      cassette: createCassette(),
      mode: "auto",
      liveResponder: live,
      now: () => clock,
    });
    await broker.collect(get("/timed"));
    const [interaction] = broker.cassette.interactions;
    assert.deepEqual(interaction!.metadata, [["recorded_at", "2026-01-05T12:00:00.000Z"]]);
    assert.deepEqual(interaction!.responseChunks.map((chunk) => chunk.metadata), [[[
      "offset_ms",
      "40",
    ]], [["offset_ms", "100.5"]]]);
  });

  test(`${name} applies maxAge: warn, fail, or re-record in auto mode`, async () => {
    const request = get("/rates");
    const old = createInteraction(request, ["old"], {
      metadata: [["recorded_at", "2026-01-01T00:00:00Z"]],
    });
    const now = () => Date.parse("2026-01-03T00:00:00Z");
    const day = 86_400_000;
    const warnings: string[] = [];
    const warned = make({
      cassette: createCassette([old]),
      maxAge: day,
      now,
      warn: (message) => warnings.push(message),
    });
    assert.deepEqual(texts(await warned.collect(request)), ["old"]);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /http:GET:\/rates is 172800000 ms old, more than maxAge 86400000 ms/,
    );
    const fresh = make({
      cassette: createCassette([old]),
      maxAge: 3 * day,
      now,
      warn: (message) => warnings.push(message),
    });
    await fresh.collect(request);
    assert.equal(warnings.length, 1);
    const failing = make({ cassette: createCassette([old]), maxAge: day, now, onStale: "fail" });
    await assert.rejects(() => failing.collect(request), (error: unknown) => {
      assert.ok(error instanceof StaleRecordingError);
      assert.equal(error.age, 2 * day);
      return true;
    });
    const { live, seen } = counting(() => ["new"]);
    const rerecording = make({
      cassette: createCassette([old]),
      mode: "auto",
      liveResponder: live,
      maxAge: day,
      now,
      onStale: "rerecord",
    });
    assert.deepEqual(texts(await rerecording.collect(request)), ["new"]);
    assert.deepEqual(texts(await rerecording.collect(request)), ["new"]);
    assert.equal(seen.length, 1);
    assert.deepEqual(rerecording.unused(), [old]);
  });

  test(`${name} reports unused interactions and prunes them, replacing the stored file`, async () => {
    await withFolder(async (folder) => {
      const path = join(folder, "c.json");
      const stale = createInteraction(get("/gone"), ["x"]);
      const kept = createInteraction(get("/kept"), ["y"]);
      fileStore(path, { createIfMissing: true }).save(createCassette([stale, kept]));
      const store = name === "createBroker()" ? fileStore(path) : fileStoreAsync(path);
      const broker = make({
        cassette: createCassette([stale, kept]),
        mode: "record",
        liveResponder: counting().live,
        store,
      });
      await broker.collect(get("/new"));
      assert.deepEqual(broker.unused(), [stale, kept]);
      await broker.pruneUnused();
      assert.deepEqual(
        broker.cassette.interactions.map((interaction) => interaction.request.target),
        ["/new"],
      );
      assert.deepEqual(
        fileStore(path).load().interactions.map((interaction) => interaction.request.target),
        ["/new"],
      );
      assert.deepEqual(broker.unused(), []);
    });
  });
}

test("createAsyncBroker() replays with the recorded timing, scaled, on a fake clock", async () => {
  const request = get("/events");
  const cassette = createCassette([createInteraction(request, [
    createChunk("a", 0, [["offset_ms", "100"]]),
    createChunk("b", 1, [["offset_ms", "350"]]),
  ])]);
  const log: string[] = [];
  const sleep = (ms: number) => (log.push(`sleep ${ms}`), Promise.resolve());
  for (const timing of ["recorded", { scale: 0.5 }, "none"] as const) {
    const broker = createAsyncBroker({ cassette, timing, sleep });
    for await (const chunk of broker.replay(request)) log.push(text(chunk));
  }
  assert.deepEqual(log, [
    "sleep 100",
    "a",
    "sleep 250",
    "b",
    "sleep 50",
    "a",
    "sleep 125",
    "b",
    "a",
    "b",
  ]);
  assert.throws(() => createAsyncBroker({ cassette, timing: { scale: -2 } }), RangeError);
});

test("createAsyncBroker() records concurrent identical misses as separate occurrences with playback: sequential", async () => {
  let n = 0;
  const broker = createAsyncBroker({
    cassette: createCassette(),
    mode: "auto",
    playback: "sequential",
    liveResponder: async () => {
      const mine = ++n;
      await new Promise((resolve) => setTimeout(resolve, 1));
      return [`answer ${mine}`];
    },
  });
  const request = get("/poll");
  const collect = async () => {
    const out: string[] = [];
    for await (const chunk of broker.replay(request)) out.push(text(chunk));
    return out;
  };
  const results = await Promise.all([collect(), collect()]);
  assert.deepEqual(results.flat().sort(), ["answer 1", "answer 2"]);
  assert.equal(broker.cassette.interactions.length, 2);
});

test("brokers reject bad issue-4 options at construction", () => {
  const cassette = createCassette();
  const bad: BrokerSessionOptions[] = [
    { normalize: 5 as unknown as undefined },
    { redact: {} as unknown as false },
    { playback: "random" as "first" },
    { afterLast: "loop" as "error" },
    { maxAge: -1 },
    { onStale: "ignore" as "warn" },
    { playback: "sequential", onStale: "rerecord" },
  ];
  for (const options of bad) {
    assert.throws(
      () => createBroker({ cassette, ...options }),
      (error: unknown) => error instanceof TypeError || error instanceof RangeError,
    );
    assert.throws(
      () => createAsyncBroker({ cassette, ...options }),
      (error: unknown) => error instanceof TypeError || error instanceof RangeError,
    );
  }
});

test("openBroker() and openAsyncBroker() pass the issue-4 options through", async () => {
  const request = get("/s?b=1&a=2");
  const store = memoryStore(createCassette([createInteraction(sortQuery()(request), ["hit"])]));
  assert.deepEqual(texts([...openBroker(store, { normalize: sortQuery() }).replay(request)]), [
    "hit",
  ]);
  const broker = await openAsyncBroker(store, { normalize: composeNormalizers(sortQuery()) });
  const chunks: ResponseChunk[] = [];
  for await (const chunk of broker.replay(request)) chunks.push(chunk);
  assert.deepEqual(texts(chunks), ["hit"]);
});

// --- secrets never reach a store ------------------------------------------------

const SECRETS = {
  bearer: "Bearer sk-live-9f8e7d6c5b4a",
  apiKey: "ak_live_0123456789abcdef",
  cookie: "session=cafebabe1234deadbeef",
  password: "correct-horse-battery-staple",
  accessToken: "at_live_feedfacefeedface",
  setCookie: "sid=0ddba11c0ffee",
};

function allBytesUnder(folder: string): string {
  let all = "";
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry);
    all += statSync(path).isDirectory() ? allBytesUnder(path) : readFileSync(path, "latin1");
  }
  return all;
}

const secretCases = (storeSubjects as readonly StoreSubject[]).flatMap((subject) =>
  subject.sync
    ? [{ subject, recording: "buffered" as const }]
    : [{ subject, recording: "buffered" as const }, { subject, recording: "streaming" as const }]
);

for (const { subject, recording } of secretCases) {
  test(`brokers never hand a secret to ${subject.name} (${recording} recording)`, async () => {
    const store = subject.fresh();
    const folder = (store as { path?: string }).path;
    const liveSeen: InteractionRequest[] = [];
    const options = {
      mode: "auto" as const,
      redact: createRedactor({ jsonFields: ["password", "access_token"] }),
      liveResponder: (request: InteractionRequest) => {
        liveSeen.push(request);
        return [
          createChunk(`{"access_token":"${SECRETS.accessToken}","ok":true}`, 0, [[
            "status_code",
            "200",
          ], ["header:set-cookie", SECRETS.setCookie]]),
        ];
      },
    };
    const request = createRequest({
      protocol: "http",
      action: "POST",
      target: `https://api.example/login?api_key=${SECRETS.apiKey}&page=2`,
      headers: [["Authorization", SECRETS.bearer], ["Cookie", SECRETS.cookie], [
        "X-Api-Key",
        SECRETS.apiKey,
      ]],
      body: JSON.stringify({ user: "ada", password: SECRETS.password }),
    });
    const collected: ResponseChunk[] = [];
    if (subject.sync) {
      const broker = openBroker(store as ReturnType<typeof memoryStore>, options);
      collected.push(...broker.replay(request));
    } else {
      const broker = await openAsyncBroker(store, { ...options, recording });
      for await (const chunk of broker.replay(request)) collected.push(chunk);
    }
    assert.ok(
      text(collected[0]!).includes(SECRETS.accessToken),
      "the caller gets the real response",
    );
    assert.equal(
      liveSeen[0]!.headers[0]![1],
      SECRETS.bearer,
      "the live side gets the real request",
    );
    const stored = subject.sync
      ? JSON.stringify(
        (store as ReturnType<typeof memoryStore>).load(),
        (_, value) => value instanceof Uint8Array ? new TextDecoder().decode(value) : value,
      )
      : "";
    const onDisk = folder === undefined ? stored : allBytesUnder(join(folder, ".."));
    assert.ok(onDisk.length > 0);
    for (const [label, secret] of Object.entries(SECRETS)) {
      assert.ok(!onDisk.includes(secret), `${label} leaked into ${subject.name}`);
      assert.ok(
        !onDisk.includes(encodeURIComponent(secret)),
        `${label} (URL-encoded) leaked into ${subject.name}`,
      );
    }
    assert.ok(onDisk.includes("[REDACTED]"));
  });
}

// --- every default secret stays out of every file a store writes ------------

/** Secrets only the default redactor (no options) must catch, by where they travel. */
const DEFAULT_SECRETS = {
  googleKeyHeader: "AIza-header-0f1e2d3c4b5a",
  queryKey: "qk-live-77aa88bb99cc",
  userPassword: "pw-in-url-5566",
  password: "json-password-1234",
  clientSecret: "json-client-secret-5678",
  refreshToken: "json-refresh-9abc",
  idToken: "json-id-token-def0",
  apiKey: "json-api-key-1357",
  formPassword: "form-password-2468",
  formSecret: "form-client-secret-3579",
  accessToken: "response-access-token-8642",
  securityToken: "response-x-amz-security-token-9753",
  setCookie: "sid=response-cookie-1122",
  ...Object.fromEntries(Object.entries(TOKENS).map(([name, token]) => [`token:${name}`, token])),
};

for (const { subject, recording } of secretCases) {
  test(`default redaction keeps every known secret out of every file ${subject.name} writes (${recording} recording)`, async () => {
    const store = subject.fresh();
    const folder = (store as { path?: string }).path;
    const tokens = Object.values(TOKENS);
    const options = {
      mode: "auto" as const,
      liveResponder: () => [
        createChunk(
          JSON.stringify({
            access_token: DEFAULT_SECRETS.accessToken,
            note: `keys: ${tokens.slice(0, 5).join(" ")}`,
          }),
          0,
          [
            ["status_code", "200"],
            ["header:x-amz-security-token", DEFAULT_SECRETS.securityToken],
            ["header:Set-Cookie", DEFAULT_SECRETS.setCookie],
          ],
        ),
        createChunk(`data: {"delta": "${tokens.slice(5).join(" ")}"}\n\n`, 1),
      ],
    };
    const requests = [
      createRequest({
        protocol: "http",
        action: "POST",
        target:
          `https://bot:${DEFAULT_SECRETS.userPassword}@api.example/v1?Key=${DEFAULT_SECRETS.queryKey}`,
        headers: [["X-Goog-Api-Key", DEFAULT_SECRETS.googleKeyHeader]],
        body:
          `{ "user": "ada",\n  "password": "${DEFAULT_SECRETS.password}", "oauth": { "Client_Secret": "${DEFAULT_SECRETS.clientSecret}", "refresh_token": "${DEFAULT_SECRETS.refreshToken}", "id_token": "${DEFAULT_SECRETS.idToken}" }, "api_key": "${DEFAULT_SECRETS.apiKey}", "n": 12345678901234567890 }`,
      }),
      createRequest({
        protocol: "http",
        action: "POST",
        target: "https://auth.example/token",
        headers: [["content-type", "application/x-www-form-urlencoded"]],
        body:
          `grant_type=password&password=${DEFAULT_SECRETS.formPassword}&client_secret=${DEFAULT_SECRETS.formSecret}`,
      }),
    ];
    for (const request of requests) {
      if (subject.sync) {
        [...openBroker(store as ReturnType<typeof memoryStore>, options).replay(request)];
      } else {
        const broker = await openAsyncBroker(store, { ...options, recording });
        for await (const _ of broker.replay(request));
      }
    }
    // What loads back (a YAML writer may fold a long line, hiding a leak from
    // a byte scan), and every byte of every file under the store's folder:
    // cassette, journal, blobs, and anything a crash or a bug might leave.
    const loaded = await subject.reopen(store).load();
    const stored = JSON.stringify(
      loaded.interactions.map((item) => [item.request, item.metadata, ...item.responseChunks]),
      (_, value) => value instanceof Uint8Array ? new TextDecoder().decode(value) : value,
    );
    const onDisk = folder === undefined ? stored : stored + allBytesUnder(join(folder, ".."));
    assert.ok(onDisk.includes("[REDACTED]"));
    for (const [label, secret] of Object.entries(DEFAULT_SECRETS)) {
      for (
        const form of new Set([
          secret,
          encodeURIComponent(secret),
          JSON.stringify(secret).slice(1, -1),
        ])
      ) {
        assert.ok(!onDisk.includes(form), `${label} leaked into ${subject.name}`);
      }
    }
    // What is not a secret is kept byte for byte.
    if (folder !== undefined) {
      assert.ok(onDisk.includes("12345678901234567890"), "the big number kept its digits");
    }
  });
}
