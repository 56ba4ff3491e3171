/**
 * Record and replay for anything that talks to the outside world: HTTP APIs,
 * LLM streams, databases, message brokers. A cassette holds recorded
 * interactions; `replay()` answers a request with its recorded response,
 * chunk by chunk. Cassettes and fingerprints interoperate with the Python
 * library interposition 0.6.
 *
 * @example Record by hand, replay lazily
 * ```ts
 * import { createCassette, createInteraction, createRequest, replay } from "@x/replay";
 * import assert from "node:assert/strict";
 *
 * const request = createRequest({ protocol: "http", action: "GET", target: "/greeting" });
 * const cassette = createCassette([createInteraction(request, ["hel", "lo"])]);
 * const chunks = [...replay(cassette, request)];
 * assert.equal(chunks.map((chunk) => new TextDecoder().decode(chunk.data)).join(""), "hello");
 * ```
 *
 * @module
 */
export * from "./src/types.ts";
export * from "./src/errors.ts";
export * from "./src/create_request.ts";
export * from "./src/create_chunk.ts";
export * from "./src/create_interaction.ts";
export * from "./src/create_cassette.ts";
export * from "./src/append_interaction.ts";
export * from "./src/fingerprint.ts";
export * from "./src/match.ts";
export * from "./src/replay.ts";
export * from "./src/replay_async.ts";
export * from "./src/parse_cassette.ts";
export * from "./src/stringify_cassette.ts";
export * from "./src/keep_headers.ts";
export * from "./src/drop_headers.ts";
export * from "./src/lowercase_header_names.ts";
export * from "./src/sort_headers.ts";
export * from "./src/sort_query.ts";
export * from "./src/drop_query.ts";
export * from "./src/canonical_json_body.ts";
export * from "./src/compose_normalizers.ts";
export * from "./src/create_redactor.ts";
export * from "./src/cassette_store.ts";
export * from "./src/memory_store.ts";
export * from "./src/file_store.ts";
export * from "./src/file_store_async.ts";
export * from "./src/create_broker.ts";
export * from "./src/open_broker.ts";
export * from "./src/create_async_broker.ts";
export * from "./src/open_async_broker.ts";
export * from "./src/with_cassette.ts";
export * from "./src/journal_store.ts";
export * from "./src/journal_store_async.ts";
