// `x-replay serve` exposes the broker and the server (issue 13, item 2;
// issue 12, items 2 and 5 to 7): timing, playback, matched headers,
// normalisers, redaction, limits, allowed hosts, encodings and a config
// file, on a real port with node:net clients.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { connect } from "node:net";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import {
  createCassette,
  createChunk,
  createInteraction,
  createRequest,
  fileStore,
  type Interaction,
  stringifyCassette,
} from "@x/replay";
import { randomBytes, sha256, withFolder } from "./_helpers.ts";
import { plainRequest, startServer } from "./_http.ts";
import { assertOneLineFailure, run, type RunningServe, serving } from "./_cli.ts";
import { rawRequest, type RawResponse, rawUpstream, values } from "./_raw_http.ts";

const ORIGIN = "https://api.example.com";

function interaction(
  path: string,
  body: string | readonly string[],
  options?: {
    readonly method?: string;
    readonly headers?: [string, string][];
    readonly requestBody?: string;
    readonly metadata?: [string, string][];
  },
): Interaction {
  const pieces = typeof body === "string" ? [body] : body;
  return createInteraction(
    createRequest({
      protocol: "http",
      action: options?.method ?? "GET",
      target: `${ORIGIN}${path}`,
      headers: options?.headers ?? [],
      body: options?.requestBody ?? "",
    }),
    pieces.map((piece, i) =>
      createChunk(piece, i, i === 0 ? [["status_code", "200"], ...(options?.metadata ?? [])] : [])
    ),
  );
}

function write(folder: string, name: string, interactions: readonly Interaction[]): void {
  writeFileSync(join(folder, name), stringifyCassette(createCassette(interactions)));
}

function get(server: RunningServe, path: string, extra = ""): Promise<RawResponse> {
  return rawRequest(server.url, `GET ${path} HTTP/1.1\r\nHost: localhost${extra}`);
}

const text = (response: RawResponse): string => Buffer.from(response.body).toString();

test("x-replay serve --help lists every setting with its default", async () => {
  const help = await run(["serve", "--help"]);
  assert.equal(help.code, 0);
  for (
    const option of [
      "--timing <how>",
      "--playback <how>",
      "--after-last <what>",
      "--match-headers <a,b>",
      "--header-schema",
      "--normalize <name>",
      "--redact-headers <a,b>",
      "--redact-query <a,b>",
      "--redact-json-fields <a,b>",
      "--redact-pattern <re>",
      "--redact-placeholder <text>",
      "--no-default-redaction",
      "--body-limit <size>",
      "--allowed-hosts <a,b>",
      "--keep-encoding",
      "--config <file>",
    ]
  ) {
    assert.match(help.stdout, new RegExp(`^ {2}${option.replace(/[<>,]/g, "\\$&")} `, "m"), option);
  }
  for (const name of ["sort-query", "drop-query=<a,b>", "canonical-json-body"]) {
    assert.ok(help.stdout.includes(name), name);
  }
  assert.match(help.stdout, /\(default: 64MiB\)/);
  assert.match(help.stdout, /\(default: \[REDACTED\]\)/);
});

test("x-replay serve --timing replays the recorded gaps, scaled, or none", async () => {
  await withFolder(async (folder) => {
    const gap = 60;
    const events = ["data: 1\n\n", "data: 2\n\n", "data: 3\n\n", "data: 4\n\n"];
    write(folder, "sse.json", [
      createInteraction(
        createRequest({ protocol: "http", action: "GET", target: `${ORIGIN}/events` }),
        events.map((event, i) =>
          createChunk(
            event,
            i,
            [...(i === 0 ? [["status_code", "200"]] as [string, string][] : []), [
              "offset_ms",
              String(i * gap),
            ]],
          )
        ),
      ),
    ]);
    /** Reads the response to its end, noting when each piece arrived. */
    const timed = (server: RunningServe) =>
      new Promise<{ pieces: number; elapsed: number; body: string }>((resolve, reject) => {
        const { port } = new URL(server.url);
        const socket = connect(Number(port), "127.0.0.1");
        const start = performance.now();
        let pieces = 0;
        let body = "";
        socket.on(
          "connect",
          () =>
            socket.write("GET /events HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
        );
        socket.on("data", (piece: Buffer) => {
          pieces++;
          body += piece.toString();
        });
        socket.on("error", reject);
        socket.on("close", () => resolve({ pieces, elapsed: performance.now() - start, body }));
      });
    await serving(["sse.json", "--timing", "recorded"], folder, async (server) => {
      const result = await timed(server);
      // Each event arrives apart, and no sooner than its recorded offset.
      assert.ok(result.pieces >= events.length, `${result.pieces} reads`);
      assert.ok(result.elapsed >= 3 * gap - 5, `${result.elapsed} ms`);
      for (const event of events) assert.ok(result.body.includes(event));
    });
    await serving(["sse.json", "--timing", "2"], folder, async (server) => {
      assert.ok((await timed(server)).elapsed >= 6 * gap - 5);
    });
    for (const bad of [["--timing", "fast"], ["--timing=-1"]]) {
      assertOneLineFailure(
        await run(["serve", "sse.json", ...bad], { cwd: folder }),
        2,
        /--timing must be "recorded", "none" or a scale >= 0/,
      );
    }
  });
});

test("x-replay serve --playback sequential --after-last says what the n-th identical request gets", async () => {
  await withFolder(async (folder) => {
    write(folder, "poll.json", [interaction("/job", "pending"), interaction("/job", "done")]);
    await serving(["poll.json"], folder, async (server) => {
      assert.deepEqual([text(await get(server, "/job")), text(await get(server, "/job"))], [
        "pending",
        "pending",
      ]);
    });
    await serving(["poll.json", "--playback", "sequential"], folder, async (server) => {
      assert.equal(text(await get(server, "/job")), "pending");
      assert.equal(text(await get(server, "/job")), "done");
      const after = await get(server, "/job");
      assert.equal(after.status, 500);
      assert.match(text(after), /^Interaction Not Found\n/);
    });
    await serving(
      ["poll.json", "--playback", "sequential", "--after-last", "repeat"],
      folder,
      async (server) => {
        for (const expected of ["pending", "done", "done", "done"]) {
          assert.equal(text(await get(server, "/job")), expected);
        }
      },
    );
    assertOneLineFailure(
      await run(["serve", "poll.json", "--after-last", "repeat"], { cwd: folder }),
      2,
      /--after-last is only used with --playback sequential/,
    );
  });
});

test("x-replay serve --match-headers and --normalize decide what matches", async () => {
  await withFolder(async (folder) => {
    write(folder, "m.json", [
      interaction("/me", "blue", { headers: [["x-region", "eu"], ["x-tenant", "blue"]] }),
      interaction("/search?a=1&b=2", "found"),
    ]);
    await serving(
      [
        "m.json",
        "--match-headers",
        "X-Tenant,x-region",
        "--normalize",
        "drop-query=utm_source,utm_medium",
        "--normalize",
        "sort-query",
      ],
      folder,
      async (server) => {
        assert.equal(
          text(await get(server, "/me", "\r\nX-Tenant: blue\r\nX-Region: eu\r\nX-Other: 1")),
          "blue",
        );
        assert.equal((await get(server, "/me", "\r\nX-Tenant: red\r\nX-Region: eu")).status, 500);
        assert.equal(text(await get(server, "/search?utm_source=x&b=2&a=1")), "found");
      },
    );
    for (
      const [args, message] of [
        [["--normalize", "bogus"], /--normalize must be one of sort-query, /],
        [["--normalize", "drop-query"], /--normalize must be one of/],
        [["--normalize", "sort-query="], /--normalize must be one of/],
        [["--normalize", "toString"], /--normalize must be one of/],
        [["--normalize", "constructor"], /--normalize must be one of/],
        [
          ["--normalize", "drop-query=a,,b"],
          /: --normalize must be a list without empty names, got "a,,b"/,
        ],
        [["--match-headers", "a,b c"], /--match-headers must be a header name, got "b c"/],
      ] as const
    ) {
      assertOneLineFailure(await run(["serve", "m.json", ...args], { cwd: folder }), 2, message);
    }
  });
});

test("x-replay serve replays an interposition-http-adapter cassette as the ancestor does, with header-schema matching on by default", async () => {
  await withFolder(async (folder) => {
    writeFileSync(
      join(folder, "ancestor.json"),
      readFileSync(
        new URL("./fixtures/interposition-http-adapter-0.4-cassette.json", import.meta.url),
        "utf8",
      ),
    );
    writeFileSync(join(folder, "h.config.json"), JSON.stringify({ headerSchema: true }));
    writeFileSync(join(folder, "off.config.json"), JSON.stringify({ headerSchema: false }));
    const chat = (server: RunningServe) =>
      rawRequest(
        server.url,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nUser-Agent: sdk/1.0\r\nContent-Length: 13",
        ['{"model":"m"}'],
      );
    // The recording holds a content-type header: only header-schema matching
    // finds it, and it is on for bare-path cassettes unless turned off.
    await serving(["ancestor.json", "--config", "off.config.json"], folder, async (server) => {
      assert.equal((await chat(server)).status, 500);
    });
    for (const args of [[], ["--header-schema"], ["--config", "h.config.json"]]) {
      await serving(["ancestor.json", ...args], folder, async (server) => {
        assert.equal((await chat(server)).status, 201, args.join(" "));
        const plain = await get(server, "/v1/models", "\r\nAccept: text/plain");
        const json = await get(server, "/v1/models", "\r\nAccept: application/json");
        assert.equal(plain.status, 200);
        assert.equal(json.status, 200);
        assert.notDeepEqual(plain.body, json.body);
      });
    }
    writeFileSync(join(folder, "bad.json"), JSON.stringify({ headerSchema: "yes" }));
    assertOneLineFailure(
      await run(["serve", "ancestor.json", "--config", "bad.json"], { cwd: folder }),
      2,
      'x-replay: serve: bad.json: headerSchema must be true or false, got "yes" (see "x-replay serve --help")',
    );
  });
});

test("x-replay serve's redaction flags keep every named secret out of the cassette", async () => {
  const upstream = await rawUpstream(() => [
    'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Session: s-123\r\nSet-Cookie: id=c-9\r\nContent-Length: 46\r\n\r\n{"password":"p-secret","note":"tok-998877"}\n  ',
  ]);
  try {
    await withFolder(async (folder) => {
      await serving(
        [
          "r.json",
          "--mode",
          "record",
          "--upstream",
          upstream.origin,
          "--match-headers",
          "x-key",
          "--redact-headers",
          "x-key,x-session",
          "--redact-query",
          "sig",
          "--redact-json-fields",
          "password",
          "--redact-pattern",
          "/tok-\\d+/",
          "--redact-placeholder",
          "<gone>",
        ],
        folder,
        async (proxy) => {
          const live = await rawRequest(
            proxy.url,
            "POST /v1/x?sig=q-555 HTTP/1.1\r\nHost: localhost\r\nX-Key: k-777\r\nContent-Type: application/json\r\nContent-Length: 24",
            ['{"password":"p-request"}'],
          );
          // The client gets the live answer, secrets and all.
          assert.match(text(live), /p-secret/);
          assert.deepEqual(values(live, "set-cookie"), ["id=c-9"]);
        },
      );
      const file = readFileSync(join(folder, "r.json"), "utf8");
      for (
        const secret of ["s-123", "c-9", "p-secret", "tok-998877", "q-555", "k-777", "p-request"]
      ) {
        assert.ok(!file.includes(secret), `${secret} in ${file}`);
      }
      assert.ok(file.includes("<gone>"));
      // The request body the upstream got is the caller's own.
      assert.equal(upstream.bodies[0]!.toString(), '{"password":"p-request"}');

      // --no-default-redaction: only what is named here.
      await serving(
        ["plain.json", "--mode", "record", "--upstream", upstream.origin, "--no-default-redaction"],
        folder,
        async (proxy) => void await get(proxy, "/y"),
      );
      assert.ok(readFileSync(join(folder, "plain.json"), "utf8").includes("id=c-9"));
      assertOneLineFailure(
        await run(["serve", "x.json", "--redact-pattern", "/(unclosed/"], { cwd: folder }),
        2,
        /--redact-pattern: "\/\(unclosed\/" is not a regular expression/,
      );
    });
  } finally {
    await upstream.close();
  }
});

test("x-replay serve --config reads settings from JSON, and flags replace them", async () => {
  await withFolder(async (folder) => {
    write(folder, "c.json", [
      interaction("/job", "first"),
      interaction("/job", "second"),
      interaction("/who", "tenant", { headers: [["x-tenant", "t1"]] }),
    ]);
    writeFileSync(
      join(folder, "x-replay.json"),
      JSON.stringify({
        cassette: "c.json",
        playback: "sequential",
        afterLast: "repeat",
        matchHeaders: ["x-tenant"],
        missStatus: 404,
        bodyLimit: "1KiB",
        allowedHosts: ["replay.test"],
        normalize: ["sort-query"],
        redact: { patterns: ["/never-\\d+/i"], placeholder: "[x]" },
      }),
    );
    await serving(["--config", "x-replay.json", "--miss-status", "418"], folder, async (server) => {
      assert.equal(text(await get(server, "/job")), "first");
      assert.equal(text(await get(server, "/job")), "second");
      assert.equal(text(await get(server, "/job")), "second");
      assert.equal(text(await get(server, "/who", "\r\nX-Tenant: t1")), "tenant");
      // The flag replaced the file's 404.
      assert.equal((await get(server, "/nope")).status, 418);
      const big = await rawRequest(
        server.url,
        "POST /job HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2048",
      );
      assert.equal(big.status, 413);
      const named = await rawRequest(server.url, "GET /job HTTP/1.1\r\nHost: replay.test");
      assert.equal(named.status, 200);
      const other = await rawRequest(server.url, "GET /job HTTP/1.1\r\nHost: other.test");
      assert.equal(other.status, 403);
    });
    const failures: [unknown, RegExp][] = [
      [{ upstrem: "http://x" }, /x-replay\.json: unknown key "upstrem"/],
      // Names every object inherits are unknown keys too.
      [{ toString: 1 }, /x-replay\.json: unknown key "toString"/],
      [{ valueOf: 1 }, /x-replay\.json: unknown key "valueOf"/],
      [JSON.parse('{"__proto__": {"mode": "record"}}'), /x-replay\.json: unknown key "__proto__"/],
      [
        { playback: "random" },
        /x-replay\.json: playback must be "first" or "sequential", got "random"/,
      ],
      [
        { redact: { patterns: ["("] } },
        /x-replay\.json: redact\.patterns\[0\]: "\(" is not a regular expression/,
      ],
      [{ redact: { secrets: [] } }, /x-replay\.json: redact: unknown key "secrets"/],
      [{ bodyLimit: "lots" }, /bodyLimit must be a size in bytes/],
      [
        { normalize: ["keep-headers=a,"] },
        /x-replay\.json: normalize must be a list without empty names, got "a,"/,
      ],
      [{ mode: 5 }, /x-replay\.json: mode must be "replay", "record" or "auto", got 5/],
      [
        { blobThreshold: 0 },
        /x-replay\.json: blobThreshold must be a whole number of bytes >= 1, got 0 /,
      ],
      [{ blobThreshold: "1k" }, /blobThreshold must be a whole number of bytes >= 1, got "1k"/],
      [[1, 2], /expected a JSON object of settings/],
    ];
    for (const [config, message] of failures) {
      writeFileSync(join(folder, "x-replay.json"), JSON.stringify(config));
      assertOneLineFailure(
        // Already stopped: a config accepted by mistake serves, exits 0 and fails here.
        await run(["serve", "c.json", "--config", "x-replay.json"], {
          cwd: folder,
          signal: AbortSignal.abort(),
        }),
        2,
        message,
      );
    }
    writeFileSync(join(folder, "x-replay.json"), "{ not json");
    assertOneLineFailure(
      await run(["serve", "c.json", "--config", "x-replay.json"], { cwd: folder }),
      2,
      /x-replay\.json: not JSON/,
    );
    rmSync(join(folder, "x-replay.json"));
    assertOneLineFailure(
      await run(["serve", "c.json", "--config", "x-replay.json"], { cwd: folder }),
      1,
      'x-replay: serve: cannot read config "x-replay.json": no such file',
    );
  });
});

test("x-replay serve --body-limit, --allowed-hosts and --keep-encoding reach the server and the proxy", async () => {
  await withFolder(async (folder) => {
    write(folder, "c.json", [interaction("/up", "ok", { method: "POST", requestBody: "tiny" })]);
    await serving(
      ["c.json", "--body-limit", "8", "--allowed-hosts", "a.test,.b.test"],
      folder,
      async (server) => {
        const fits = await rawRequest(
          server.url,
          "POST /up HTTP/1.1\r\nHost: x.b.test\r\nContent-Length: 4",
          ["tiny"],
        );
        assert.equal(text(fits), "ok");
        const over = await rawRequest(
          server.url,
          "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: 9",
          ["123456789"],
        );
        assert.equal(over.status, 413);
        assert.equal(
          (await rawRequest(server.url, "GET /up HTTP/1.1\r\nHost: c.test")).status,
          403,
        );
      },
    );
    await serving(["c.json", "--allowed-hosts", "*"], folder, async (server) => {
      assert.equal(
        (await rawRequest(server.url, "GET /up HTTP/1.1\r\nHost: any.test")).status,
        500,
      );
    });
    assertOneLineFailure(
      await run(["serve", "c.json", "--body-limit", "lots"], { cwd: folder }),
      2,
      /--body-limit must be a size in bytes, e.g. 1048576 or 64MiB, got "lots"/,
    );
    assertOneLineFailure(
      await run(["serve", "c.json", "--keep-encoding"], { cwd: folder }),
      2,
      /--keep-encoding is only used with --mode record or auto/,
    );

    const zipped = gzipSync(Buffer.from("squeezed ".repeat(50)));
    const upstream = await rawUpstream(() => [
      `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${zipped.length}\r\n\r\n`,
      zipped,
    ]);
    try {
      await serving(
        ["gz.json", "--mode", "record", "--upstream", upstream.origin, "--keep-encoding"],
        folder,
        async (proxy) => {
          const kept = await get(proxy, "/z");
          assert.deepEqual(Buffer.from(kept.body), zipped);
          assert.deepEqual(values(kept, "content-encoding"), ["gzip"]);
        },
      );
    } finally {
      await upstream.close();
    }
    const metadata = fileStore(join(folder, "gz.json")).load().interactions[0]!.responseChunks[0]!
      .metadata;
    assert.deepEqual(metadata.filter(([key]) => key === "header:content-encoding"), [[
      "header:content-encoding",
      "gzip",
    ]]);
  });
});

test("x-replay serve prints a failure whole on stderr, and answers with the cassette-relative name", async () => {
  await withFolder(async (folder) => {
    const path = join(folder, "big.json");
    fileStore(path, { createIfMissing: true, blobThreshold: 4 }).save(createCassette([
      interaction("/big", "0123456789"),
    ]));
    const sha = fileStore(path).load().interactions[0]!.responseChunks[0]!.blob!.sha256;
    rmSync(join(folder, "big.json.blobs", sha));
    await serving(["big.json"], folder, async (server) => {
      const failed = await get(server, "/big");
      assert.equal(failed.status, 500);
      assert.match(
        text(failed),
        new RegExp(
          `"Cannot read blob \\\\"big\\.json\\.blobs/${sha}\\\\": the file does not exist"`,
        ),
      );
      assert.ok(!text(failed).includes(folder));
      assert.equal(
        server.stderr(),
        `x-replay: serve: BlobError: Cannot read blob "${
          join(folder, "big.json.blobs", sha)
        }": the file does not exist\n`,
      );
    });
  });
});

test("x-replay serve --blob-threshold records a big upload into the blob folder without holding it", async () => {
  await withFolder(async (folder) => {
    const bytes = randomBytes(3 * 1024 * 1024 + 1);
    const upstream = await startServer((received, response) => {
      response.end(sha256(received.body));
    });
    try {
      await serving(
        [
          "up.json",
          "--mode",
          "record",
          "--upstream",
          upstream.origin,
          "--blob-threshold",
          "65536",
        ],
        folder,
        async (proxy) => {
          const answer = await plainRequest(new URL("/upload", proxy.url), {
            method: "PUT",
            headers: { "content-type": "application/octet-stream" },
            body: bytes,
          });
          assert.equal(answer.status, 200);
          assert.equal(new TextDecoder().decode(answer.body), sha256(bytes));
        },
      );
    } finally {
      await upstream.close();
    }
    assert.deepEqual(upstream.received[0]!.body, bytes);
    assert.equal(upstream.received[0]!.headers["content-length"], String(bytes.length));
    const request = fileStore(join(folder, "up.json")).load().interactions[0]!.request;
    assert.deepEqual(request.bodyBlob, { sha256: sha256(bytes), size: bytes.length });
    assert.deepEqual(
      readFileSync(join(folder, "up.json.blobs", sha256(bytes))),
      Buffer.from(bytes),
    );
  });
});
