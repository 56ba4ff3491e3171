import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import axios from "axios";
import {
  type AsyncBroker,
  createRequest,
  fileStore,
  InteractionNotFoundError,
  ReplayError,
  withCassette,
} from "@x/replay";
import { texts, withFolder } from "./_helpers.ts";
import { deferred, startServer } from "./_http.ts";

const request = createRequest({ protocol: "http", action: "GET", target: "/user/1" });
const other = createRequest({ protocol: "http", action: "GET", target: "/user/2" });

async function collect(broker: AsyncBroker, which = request): Promise<string[]> {
  const chunks = [];
  for await (const chunk of broker.replay(which)) chunks.push(chunk);
  return texts(chunks);
}

function live(answer: string) {
  let calls = 0;
  return {
    responder: () => {
      calls++;
      return [answer];
    },
    get calls() {
      return calls;
    },
  };
}

test("withCassette() names the cassette after the test and records, then replays offline", async (t) => {
  await withFolder(async (dir) => {
    const recorder = live("Ada");
    let seen = "";
    await withCassette(async ({ broker, path, mode }) => {
      assert.equal(mode, "auto");
      assert.match(
        path.slice(dir.length + 1),
        /^withcassette-names-the-cassette-after-the-test-and-records-then-replays-offline-[0-9a-f]{8}\.json$/,
      );
      seen = path;
      assert.deepEqual(await collect(broker), ["Ada"]);
    }, { dir, env: {}, liveResponder: recorder.responder })(t);
    assert.equal(recorder.calls, 1);
    assert.deepEqual(readdirSync(dir), [seen.slice(dir.length + 1)]);
    await withCassette(async ({ broker, mode }) => {
      assert.equal(mode, "replay");
      assert.deepEqual(await collect(broker), ["Ada"]);
    }, { dir, env: { CI: "true" } })(t);
  });
});

test("withCassette() in CI fails a missing recording with how to record it", async () => {
  await withFolder(async (dir) => {
    const run = withCassette(async ({ broker }) => {
      await collect(broker);
    }, { dir, name: "missing one", env: { CI: "1" }, liveResponder: live("x").responder });
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof InteractionNotFoundError);
      assert.match(
        error.message,
        /^No matching interaction for http:GET:\/user\/1\. No recording in .*missing-one-[0-9a-f]{8}\.json; record it by running this test with REPLAY_MODE=auto/,
      );
      assert.ok(error.cause instanceof InteractionNotFoundError);
      return true;
    });
  });
});

test("withCassette() lets REPLAY_MODE override the mode for the whole run", async () => {
  await withFolder(async (dir) => {
    const recorder = live("fresh");
    const seen: string[] = [];
    for (
      const env of [{ REPLAY_MODE: "record", CI: "true" }, { REPLAY_MODE: " Auto " }, {
        REPLAY_MODE: "replay",
      }]
    ) {
      await withCassette(async ({ mode, broker }) => {
        seen.push(mode);
        await collect(broker);
      }, { dir, name: "env", mode: "replay", env, liveResponder: recorder.responder })();
    }
    assert.deepEqual(seen, ["record", "auto", "replay"]);
    assert.equal(recorder.calls, 1);
    await assert.rejects(
      withCassette(() => {}, { dir, name: "env", env: { REPLAY_MODE: "sometimes" } }),
      (error: unknown) => error instanceof RangeError && /REPLAY_MODE must be/.test(error.message),
    );
  });
});

test("withCassette() defaults to auto outside CI and to replay in CI", async () => {
  await withFolder(async (dir) => {
    const modes: string[] = [];
    for (const env of [{}, { CI: "false" }, { CI: "true" }]) {
      await withCassette(({ mode }) => void modes.push(mode), {
        dir,
        name: "defaults",
        env,
        liveResponder: live("x").responder,
      })();
    }
    assert.deepEqual(modes, ["auto", "auto", "replay"]);
  });
});

test("withCassette() in record mode prunes what the test no longer uses", async () => {
  await withFolder(async (dir) => {
    await withCassette(async ({ broker }) => {
      await collect(broker, request);
      await collect(broker, other);
    }, { dir, name: "prune", env: {}, liveResponder: live("v1").responder })();
    const path = join(dir, "prune.json"); // the name is its own slug: no hash
    assert.equal(fileStore(path).load().interactions.length, 2);
    await withCassette(async ({ broker }) => {
      assert.deepEqual(await collect(broker, request), ["v2"]);
    }, {
      dir,
      name: "prune",
      env: { REPLAY_MODE: "record" },
      liveResponder: live("v2").responder,
    })();
    const kept = fileStore(path).load().interactions;
    assert.deepEqual(kept.map((interaction) => interaction.request.target), ["/user/1"]);
    assert.deepEqual(texts(kept[0]!.responseChunks), ["v2"]);
    await withCassette(async ({ broker }) => {
      await collect(broker, other);
    }, {
      dir,
      name: "prune",
      env: { REPLAY_MODE: "record" },
      prune: false,
      liveResponder: live("v3").responder,
    })();
    assert.equal(fileStore(path).load().interactions.length, 2);
  });
});

test("withCassette() takes a file URL folder, a format, and cuts long names with a hash", async () => {
  await withFolder(async (dir) => {
    const long = "x".repeat(120);
    let seen = "";
    await withCassette(({ path }) => void (seen = path), {
      dir: pathToFileURL(`${dir}/sub/`),
      name: long,
      format: "yaml",
      env: {},
      liveResponder: live("x").responder,
    })();
    assert.match(seen, new RegExp(`sub[\\\\/]x{80}-[0-9a-f]{8}\\.yaml$`));
    assert.equal(existsSync(seen), false, "nothing recorded, nothing written");
  });
});

test("withCassette() gives names that slug alike files of their own", async () => {
  await withFolder(async (dir) => {
    const names = [
      "Login: OK",
      "login/ok",
      "LOGIN (ok)",
      "login-ok",
      "日本語",
      "テスト",
      "🙂",
      "cassette",
    ];
    const paths: string[] = [];
    for (const name of names) {
      await withCassette(({ path }) => void paths.push(path.slice(dir.length + 1)), {
        dir,
        name,
        mode: "replay",
        env: {},
      })();
    }
    assert.equal(new Set(paths).size, names.length, paths.join(", "));
    // A name that is already its own slug keeps it exactly; any other gets a hash.
    assert.deepEqual(paths.slice(3, 4), ["login-ok.json"]);
    assert.deepEqual(paths.at(-1), "cassette.json");
    for (const path of [...paths.slice(0, 3), ...paths.slice(4, 7)]) {
      assert.match(path, /^(login-ok|cassette)-[0-9a-f]{8}\.json$/);
    }
  });
});

test("withCassette() needs a test name and a function", async () => {
  await assert.rejects(withCassette(() => {}, { env: {} }), TypeError);
  assert.throws(() => withCassette(5 as unknown as () => void), TypeError);
});

test("withCassette() blobThreshold keeps big chunks in blob files beside the cassette", async () => {
  await withFolder(async (dir) => {
    const body = "x".repeat(2048);
    await withCassette(async ({ broker, path }) => {
      assert.deepEqual(await collect(broker), [body]);
      assert.equal(readdirSync(`${path}.blobs`).length, 1);
      assert.ok(!readFileSync(path, "utf8").includes(body));
    }, {
      name: "big",
      dir,
      env: {},
      blobThreshold: 1024,
      recording: "streaming",
      liveResponder: live(body).responder,
    })();
    await withCassette(async ({ broker }) => {
      assert.deepEqual(await collect(broker), [body]);
    }, { name: "big", dir, env: { CI: "true" } })();
  });
});

test("withCassette() with intercept answers every HTTP request of the test from its cassette", async () => {
  await withFolder(async (dir) => {
    const server = await startServer((received, response) => {
      response.writeHead(200, { "content-type": "text/plain" });
      response.end(`live ${received.url}`);
    });
    const get = (path: string) =>
      axios.get(`${server.origin}${path}`).then((response) => response.data);
    try {
      await withCassette(async ({ mode }) => {
        assert.equal(mode, "record");
        assert.equal(await get("/a"), "live /a");
      }, { dir, name: "intercepted", env: { REPLAY_MODE: "record" }, intercept: true })();
      assert.equal(server.received.length, 1);
      // CI: the cassette answers, and a miss never reaches the still-running server.
      await withCassette(async () => {
        assert.equal(await get("/a"), "live /a");
        await assert.rejects(get("/b"), (error: unknown) => {
          const cause = (error as Error).cause;
          assert.ok(cause instanceof InteractionNotFoundError);
          assert.match(
            cause.message,
            /No recording in .*intercepted\.json; record it by running this test with REPLAY_MODE=auto/,
          );
          return true;
        });
      }, {
        dir,
        name: "intercepted",
        env: { CI: "true" },
        intercept: { passthrough: "example.invalid" },
      })();
      assert.equal(server.received.length, 1);
    } finally {
      await server.close();
    }
  });
});

test("withCassette() with intercept stops intercepting when the test throws, and refuses to overlap", async () => {
  await withFolder(async (dir) => {
    const before = globalThis.fetch;
    await assert.rejects(
      withCassette(() => {
        assert.notEqual(globalThis.fetch, before);
        throw new Error("test failed");
      }, { dir, name: "throws", mode: "replay", env: {}, intercept: true })(),
      /test failed/,
    );
    assert.equal(globalThis.fetch, before);
    // Two tests that intercept at once: the second fails at once, and says why.
    const running = deferred();
    const release = deferred();
    const first = withCassette(() => {
      running.resolve(); // the first test's interception is in place
      return release.promise;
    }, { dir, name: "first", mode: "replay", env: {}, intercept: true })();
    await Promise.race([running.promise, first]); // (first rejecting fails the test here)
    await assert.rejects(
      withCassette(() => {}, { dir, name: "second", mode: "replay", env: {}, intercept: true })(),
      (error: unknown) => error instanceof ReplayError && /already running/.test(error.message),
    );
    release.resolve();
    await first;
    assert.equal(globalThis.fetch, before);
    await assert.rejects(
      withCassette(() => {}, {
        dir,
        name: "bad",
        mode: "replay",
        env: {},
        intercept: "yes" as never,
      })(),
      /^TypeError: Cannot use cassette: intercept must be true, false or interceptHttp\(\) options, got string "yes"$/,
    );
  });
});
