// Child process for save_faults_test.ts.
//   loop <path> <kib>      appends a <kib> KiB interaction and saves, forever,
//                          printing "saved <i>" after each save
//   recover <path> [age]   appends "/recovered" and saves, trusting only a
//                          dead holder (not age) to break a leftover lock, or
//                          an age of <age> ms when given
//   fail-write <path> <kib> tries to save a <kib> KiB interaction with both
//                          stores and prints what each threw, as JSON lines
import process from "node:process";
import {
  appendInteraction,
  createInteraction,
  createRequest,
  fileStore,
  fileStoreAsync,
} from "@x/replay";

const [command, path, kibText] = process.argv.slice(2);
if (path === undefined) throw new Error("usage: <loop|recover|fail-write> <path> [kib]");

function interaction(target: string, kib: number) {
  return createInteraction(
    createRequest({ protocol: "http", action: "GET", target }),
    ["x".repeat(kib * 1024)],
  );
}

if (command === "loop") {
  const store = fileStore(path, { createIfMissing: true });
  let cassette = store.load();
  for (let i = 0;; i++) {
    cassette = appendInteraction(cassette, interaction(`/loop/${i}`, Number(kibText)));
    store.save(cassette);
    process.stdout.write(`saved ${i}\n`);
  }
} else if (command === "recover") {
  const staleLockAge = kibText === undefined ? 3_600_000 : Number(kibText);
  const store = fileStore(path, { staleLockAge, lockTimeout: 10_000 });
  store.save(appendInteraction(store.load(), interaction("/recovered", 1)));
  process.stdout.write("recovered\n");
} else if (command === "fail-write") {
  const report = (error: unknown) =>
    JSON.stringify({
      name: (error as Error).name,
      path: (error as { path?: unknown }).path,
      cause: (error as { cause?: { code?: unknown } }).cause?.code,
    });
  const sync = fileStore(path);
  try {
    sync.save(appendInteraction(sync.load(), interaction("/big", Number(kibText))));
    process.stdout.write("sync saved\n");
  } catch (error) {
    process.stdout.write(`${report(error)}\n`);
  }
  const async = fileStoreAsync(path);
  try {
    await async.save(appendInteraction(await async.load(), interaction("/big", Number(kibText))));
    process.stdout.write("async saved\n");
  } catch (error) {
    process.stdout.write(`${report(error)}\n`);
  }
} else {
  throw new Error(`unknown command ${command}`);
}
