import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import pino from "pino";
import { requestRecord } from "../../test/support/request-record.js";
import { parseConfig } from "../config/load.js";
import type { GatewayConfig } from "../config/types.js";
import type { RequestRecord } from "../http/request-record.js";
import { Observability } from "./observability.js";

function config(): GatewayConfig {
  const result = parseConfig("models:\n  m: { model: m.gguf }\n", {
    baseDir: "/srv",
    env: {},
    source: null,
    checkFiles: false,
  });
  if (!result.ok) throw new Error("config");
  return result.config;
}

const EMPTY_CACHE = {
  enabled: true,
  store: "memory" as const,
  maxEntries: 1,
  maxBytes: 1,
  maxEntryBytes: 1,
  ttlMs: 1,
  entries: 0,
  bytes: 0,
  evictions: 0,
  expirations: 0,
  errors: 0,
  hits: 0,
  misses: 0,
  bypasses: 0,
  coalesced: 0,
  stored: 0,
  waiting: 0,
};

function observability(): Observability {
  const c = config();
  return new Observability(
    c,
    { config: () => c, groups: () => [], cache: () => EMPTY_CACHE, inFlight: () => 0 },
    pino({ level: "silent" }),
  );
}

function record(over: Partial<RequestRecord> = {}): RequestRecord {
  return requestRecord({
    durationMs: 12,
    ttfbMs: 5,
    queueMs: 1,
    upstreamMs: 10,
    usage: { promptTokens: 7, completionTokens: 3, cachedTokens: 2 },
    tokensPerSecond: 40,
    cache: "miss",
    stream: true,
    ...over,
  });
}

test("docs/metrics.md lists every series of the registry, and the registry has every series it lists", async () => {
  const names = (await observability().metrics.prometheus.getMetricsAsJSON())
    .map((metric) => metric.name)
    .filter((name) => name.startsWith("llamawrapper_"))
    .sort();
  const doc = readFileSync(new URL("../../docs/metrics.md", import.meta.url), "utf8");
  const documented = [
    ...new Set([...doc.matchAll(/^\| `(llamawrapper_[a-z_]+)` \|/gm)].map((m) => m[1])),
  ].sort();
  assert.deepEqual(documented, names);
});

test("one request moves exactly the series it should", async () => {
  const o = observability();
  o.request(record());
  o.request(record({ cache: "hit", usage: { promptTokens: 7, completionTokens: 3, cachedTokens: 0 } }));
  o.request(record({ status: 503, errorCode: "queue_full", model: "m", usage: null, tokensPerSecond: null }));
  const text = await o.metrics.prometheus.metrics();
  const value = (series: string) => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.split(" ")[1]);
  };
  assert.equal(
    value(
      'llamawrapper_requests_total{route="/v1/chat/completions",model="m",status_class="2xx",cache="miss"}',
    ),
    1,
  );
  assert.equal(
    value(
      'llamawrapper_requests_total{route="/v1/chat/completions",model="m",status_class="2xx",cache="hit"}',
    ),
    1,
  );
  assert.equal(
    value(
      'llamawrapper_requests_total{route="/v1/chat/completions",model="m",status_class="5xx",cache="miss"}',
    ),
    1,
  );
  // Tokens count what llama-server produced: the hit adds none.
  assert.equal(value('llamawrapper_prompt_tokens_total{model="m"}'), 7);
  assert.equal(value('llamawrapper_completion_tokens_total{model="m"}'), 3);
  assert.equal(value('llamawrapper_generation_tokens_per_second_count{model="m"}'), 1);
  assert.equal(value('llamawrapper_time_to_first_token_seconds_count{model="m"}'), 3);
  assert.equal(value('llamawrapper_rejections_total{reason="queue_full"}'), 1);
  assert.ok(Math.abs((value('llamawrapper_sla_availability{model="m"}') ?? 0) - 2 / 3) < 1e-9);
});

test("client text never becomes a label: unknown models and paths add no series", async () => {
  const o = observability();
  const before = (await o.metrics.prometheus.metrics()).split("\n").length;
  for (let i = 0; i < 500; i++) {
    o.request(record({ route: null, model: null, status: 404, errorCode: "not_found", usage: null }));
    o.request(record({ model: null, status: 404, errorCode: "model_not_found", usage: null, cache: null }));
  }
  const after = (await o.metrics.prometheus.metrics()).split("\n");
  // Two label sets (the unmatched route, the known route without a model), whatever was asked.
  assert.ok(after.length - before < 80, `${after.length - before} new lines`);
  assert.equal(after.filter((line) => line.startsWith("llamawrapper_requests_total{")).length, 2);
});

test("scrapes, health checks and admin calls stay out of the request history", () => {
  const o = observability();
  o.request(record({ route: "/metrics", model: null }));
  o.request(record({ route: "/health", model: null }));
  o.request(record({ route: "/admin/models/{id}/{action}", model: "m" }));
  o.request(record({ requestId: "kept" }));
  assert.deepEqual(
    o.history?.query({}).map((r) => r.requestId),
    ["kept"],
  );
});
