// The cassette parse_bench.ts and parse_runtimes.mjs parse: a mix of GETs and
// JSON POSTs, 2-4 chunks each (3 on average), a few headers, small text
// bodies, chunk and interaction metadata. `lib` is the library (its sources
// under Deno, its npm build under Node and Bun), so both benchmarks parse the
// same text.

/**
 * @param {{
 *   createCassette: Function, createChunk: Function,
 *   createInteraction: Function, createRequest: Function,
 * }} lib
 * @param {number} size how many interactions
 */
export function parseFixture(lib, size) {
  const interaction = (i) => {
    const post = i % 3 === 0;
    const request = lib.createRequest({
      protocol: "http",
      action: post ? "POST" : "GET",
      target: post ? "/api/orders" : `/api/items/${i}?expand=owner`,
      headers: post
        ? [
          ["accept", "application/json"],
          ["content-type", "application/json"],
          ["user-agent", "bench/1.0"],
        ]
        : [["accept", "application/json"], ["user-agent", "bench/1.0"]],
      body: post ? `{"item":${i},"quantity":${(i % 7) + 1},"note":"order ${i}"}` : "",
    });
    const count = 2 + (i % 3);
    const chunks = Array.from({ length: count }, (_, j) =>
      lib.createChunk(
        j === 0
          ? `{"id":${i},"name":"item ${i}","items":[`
          : j === count - 1
          ? `{"sku":"S-${i}-${j}","price":${j}.99}],"total":${count}}`
          : `{"sku":"S-${i}-${j}","price":${j}.99},`,
        j,
        j === 0 ? [["status_code", "200"], ["offset_ms", "0"]] : [["offset_ms", String(12 * j)]],
      ));
    return lib.createInteraction(request, chunks, {
      metadata: [["recorded_at", "2026-11-23T00:00:00Z"]],
    });
  };
  return lib.createCassette(Array.from({ length: size }, (_, i) => interaction(i)));
}
