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
export * from "./src/core/types.ts";
export * from "./src/core/errors.ts";
export * from "./src/core/create_request.ts";
export * from "./src/core/create_chunk.ts";
export * from "./src/core/create_interaction.ts";
export * from "./src/core/create_cassette.ts";
export * from "./src/core/append_interaction.ts";
export * from "./src/core/fingerprint.ts";
export * from "./src/core/match.ts";
export * from "./src/core/replay.ts";
export * from "./src/core/replay_async.ts";
export * from "./src/codec/parse_cassette.ts";
export * from "./src/codec/stringify_cassette.ts";
export * from "./src/matching/keep_headers.ts";
export * from "./src/matching/drop_headers.ts";
export * from "./src/matching/lowercase_header_names.ts";
export * from "./src/matching/sort_headers.ts";
export * from "./src/matching/sort_query.ts";
export * from "./src/matching/drop_query.ts";
export * from "./src/matching/canonical_json_body.ts";
export * from "./src/matching/compose_normalizers.ts";
export * from "./src/matching/create_redactor.ts";
export * from "./src/store/cassette_store.ts";
export * from "./src/store/memory_store.ts";
export * from "./src/store/file_store.ts";
export * from "./src/store/file_store_async.ts";
export * from "./src/broker/create_broker.ts";
export * from "./src/broker/open_broker.ts";
export * from "./src/broker/create_async_broker.ts";
export * from "./src/broker/open_async_broker.ts";
export * from "./src/testing/with_cassette.ts";
export * from "./src/store/journal_store.ts";
export * from "./src/store/journal_store_async.ts";
