// Child of module_load_test.ts: imports "@x/replay" and "@x/replay/fetch"
// the way a user's program does, then reads and writes a YAML cassette, and
// prints (as one JSON line) which modules were loaded after each step, as
// far as the runtime shows them: every CommonJS module in the require cache
// (the yaml package is CommonJS on all three runtimes), and on Bun the
// specifiers and importers its resolver saw (module_load_test.ts preloads a
// plugin that collects them). Node's ESM loads come through a loader hook
// on stderr; the phase marker written here separates them.
import { writeSync } from "node:fs";
import { createRequire } from "node:module";
import process from "node:process";

const cache = createRequire(`${process.cwd()}/`).cache;
const seen = (globalThis as { __xReplayLoaded?: string[] }).__xReplayLoaded ?? [];
const loaded = (): string[] => [...Object.keys(cache), ...seen];

const core = await import("@x/replay");
const fetchAdapter = await import("@x/replay/fetch");
if (typeof core.replay !== "function" || typeof fetchAdapter.createReplayFetch !== "function") {
  throw new Error("the imports did not give the library");
}
const atImport = loaded();
writeSync(2, "x-replay-phase yaml\n");
const yamlText = core.stringifyCassette(core.createCassette(), { format: "yaml" });
core.parseCassette(yamlText, { format: "yaml" });
console.log(JSON.stringify({ atImport, afterYaml: loaded() }));
