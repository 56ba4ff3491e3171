// Child process for intercept_test.ts: a runtime where the global fetch
// cannot be replaced (frozen here on purpose); prints what interceptHttp()
// threw, and whether it left anything patched, as one JSON line.
import http from "node:http";
import process from "node:process";
import { createBroker, createCassette } from "@x/replay";
import { interceptHttp } from "@x/replay/intercept";

const fetchBefore = globalThis.fetch;
const requestBefore = http.request;
Object.defineProperty(globalThis, "fetch", {
  value: fetchBefore,
  writable: false,
  configurable: false,
});
try {
  await interceptHttp(createBroker({ cassette: createCassette() })).stop();
  process.stdout.write(JSON.stringify({ threw: false }));
} catch (error) {
  process.stdout.write(JSON.stringify({
    threw: true,
    name: (error as Error).name,
    message: (error as Error).message,
    restored: http.request === requestBefore && globalThis.fetch === fetchBefore,
  }));
}
