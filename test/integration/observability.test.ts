/**
 * The gateway's /metrics as an operator reads it (docs/metrics.md), through the real CLI:
 *
 * - a known mix of requests against the real llama-server on the tiny model (cold start, cache
 *   MISS and HIT, a streamed BYPASS, an unknown model, a rate-limited and an unauthenticated
 *   request) gives exact counter and histogram values;
 * - promtool accepts the scrape, and OpenMetrics is served to a scraper that asks for it;
 * - a flood of unknown model names and random paths creates no series (bounded labels);
 * - /metrics needs a key unless auth.publicMetrics;
 * - SLA numbers (hand-computed) in /admin/status and in /metrics agree;
 * - a valid W3C traceparent reaches llama-server and the access log, an invalid one neither.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Json, readRecord, sseData } from "../fixtures/fake/client.js";
import { admin } from "../support/admin-client.js";
import { type TestAssets, testAssets } from "../support/assets.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { EXPECTED_LINT, promtoolCheck, type Scrape, scrape } from "../support/prometheus-text.js";
import { stopClean } from "../support/stop-clean.js";

const USER = "sk-user-observability-1";
const LIMITED = "sk-limited-observability-1";
const ADMIN = "sk-admin-observability-1";
const CHAT = "/v1/chat/completions";
const OBSERVED = new URL("../fixtures/observed-llama-server.ts", import.meta.url).pathname;

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

interface Answer {
  readonly status: number;
  readonly cache: string | null;
  readonly requestId: string;
  /** The answer's JSON, or for a stream the chunk that carried `usage`. */
  readonly json: Json;
}

async function chat(
  gateway: RunningGateway,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const res = await fetch(`${gateway.url}${CHAT}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: Json;
  if (res.headers.get("content-type")?.startsWith("text/event-stream")) {
    const chunks = sseData(text)
      .filter((d) => d !== "[DONE]")
      .map((d) => JSON.parse(d) as Json);
    json = chunks.find((c) => c.usage !== undefined && c.usage !== null) ?? {};
  } else {
    json = JSON.parse(text) as Json;
  }
  return {
    status: res.status,
    cache: res.headers.get("x-cache"),
    requestId: res.headers.get("x-request-id") ?? "",
    json,
  };
}

/** Every series of a family as { "label=value,...": value }, labels in name order. */
function family(s: Scrape, name: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { labels, value } of s.series(name)) {
    const key = Object.keys(labels)
      .sort()
      .map((k) => `${k}=${labels[k]}`)
      .join(",");
    out[key] = value;
  }
  return out;
}

describe("a known mix of requests against the real llama-server gives exact metrics", () => {
  let assets: TestAssets;
  let gateway: RunningGateway;

  before(async () => {
    assets = await testAssets();
    gateway = await startGateway({
      llamaServer: { binary: assets.llamaServer },
      auth: {
        apiKeys: [
          { name: "user", key: USER },
          { name: "limited", key: LIMITED, rateLimit: { requestsPerMinute: 1, burst: 1 } },
        ],
        adminKeys: [{ name: "ops", key: ADMIN }],
      },
      models: { tiny: { model: assets.tinyModel, args: ["-c", "512"] } },
    });
  });

  after(() => stopClean(gateway));

  test("cold start, MISS, HIT, streamed BYPASS, unknown model, 429 and 401: exact values", async (t) => {
    const prompt = [{ role: "user", content: "observability: count me" }];
    const greedy = { model: "tiny", messages: prompt, max_tokens: 6, temperature: 0 };

    const miss = await chat(gateway, greedy, bearer(USER));
    assert.equal(miss.status, 200, JSON.stringify(miss.json));
    assert.equal(miss.cache, "MISS");
    const hit = await chat(gateway, greedy, bearer(USER));
    assert.equal(hit.status, 200);
    assert.equal(hit.cache, "HIT");
    const streamed = await chat(
      gateway,
      { ...greedy, temperature: 0.7, stream: true, stream_options: { include_usage: true } },
      bearer(USER),
    );
    assert.equal(streamed.status, 200);
    assert.equal(streamed.cache, "BYPASS");
    assert.ok(streamed.json.usage, "the stream's last chunk carries usage");
    const unknown = await chat(gateway, { ...greedy, model: "no-such-model" }, bearer(USER));
    assert.equal(unknown.status, 404);
    // The limited key: one request per minute. The first (a model list) passes, the next is 429.
    const list = await fetch(`${gateway.url}/v1/models`, { headers: bearer(LIMITED) });
    assert.equal(list.status, 200);
    await list.arrayBuffer();
    const limited = await chat(gateway, greedy, bearer(LIMITED));
    assert.equal(limited.status, 429);
    assert.equal(limited.json.error.code, "rate_limited");
    const badKey = await chat(gateway, greedy, bearer("sk-not-a-key"));
    assert.equal(badKey.status, 401);

    // /metrics needs a key (auth.publicMetrics is false): a second auth rejection.
    const anonymous = await fetch(`${gateway.url}/metrics`);
    assert.equal(anonymous.status, 401);
    await anonymous.arrayBuffer();

    const s = await scrape(gateway, bearer(USER));
    t.diagnostic(`${s.samples.size} series in the scrape`);

    // One series per (route, model, status_class, cache). Refusals by the pipeline (429, 401)
    // are counted under the route they were for: the unknown model, the 429 and the bad key on
    // chat completions, the keyless scrape on /metrics. That 401 scrape is the only /metrics
    // series yet: this scrape is counted once it is answered.
    assert.deepEqual(family(s, "llamawrapper_requests_total"), {
      "cache=miss,model=tiny,route=/v1/chat/completions,status_class=2xx": 1,
      "cache=hit,model=tiny,route=/v1/chat/completions,status_class=2xx": 1,
      "cache=bypass,model=tiny,route=/v1/chat/completions,status_class=2xx": 1,
      "cache=none,model=,route=/v1/chat/completions,status_class=4xx": 3,
      "cache=none,model=,route=/v1/models,status_class=2xx": 1,
      "cache=none,model=,route=/metrics,status_class=4xx": 1,
    });
    assert.deepEqual(family(s, "llamawrapper_request_duration_seconds_count"), {
      "model=tiny,route=/v1/chat/completions": 3,
      "model=,route=/v1/chat/completions": 3,
      "model=,route=/v1/models": 1,
      "model=,route=/metrics": 1,
    });
    assert.deepEqual(family(s, "llamawrapper_rejections_total"), {
      "reason=rate_limit": 1,
      "reason=auth": 2,
    });
    // Only the stream has a time to first token; MISS and stream waited for an instance (the
    // MISS through the cold start), the HIT never did.
    assert.deepEqual(family(s, "llamawrapper_time_to_first_token_seconds_count"), { "model=tiny": 1 });
    assert.deepEqual(family(s, "llamawrapper_queue_wait_seconds_count"), { "model=tiny": 2 });
    assert.deepEqual(family(s, "llamawrapper_upstream_duration_seconds_count"), { "model=tiny": 2 });
    const ttftSum = s.value("llamawrapper_time_to_first_token_seconds_sum", { model: "tiny" }) ?? -1;
    assert.ok(ttftSum > 0 && ttftSum < 30, `ttft sum ${ttftSum}`);
    // A histogram's +Inf bucket is its count.
    assert.equal(
      s.value("llamawrapper_request_duration_seconds_bucket", {
        route: "/v1/chat/completions",
        model: "tiny",
        le: "+Inf",
      }),
      3,
    );

    // Tokens: what the answers llama-server produced reported; the HIT is not counted.
    const produced = [miss, streamed];
    const sum = (pick: (usage: Json) => number) => produced.reduce((n, a) => n + pick(a.json.usage), 0);
    assert.equal(
      s.value("llamawrapper_prompt_tokens_total", { model: "tiny" }),
      sum((u) => u.prompt_tokens),
    );
    assert.equal(
      s.value("llamawrapper_completion_tokens_total", { model: "tiny" }),
      sum((u) => u.completion_tokens),
    );
    assert.equal(
      s.value("llamawrapper_cached_prompt_tokens_total", { model: "tiny" }),
      sum((u) => u.prompt_tokens_details?.cached_tokens ?? 0),
    );
    const timed = produced.filter((a) => Number(a.json.timings?.predicted_per_second) > 0).length;
    assert.equal(s.value("llamawrapper_generation_tokens_per_second_count", { model: "tiny" }), timed);

    assert.equal(s.value("llamawrapper_cache_hits_total"), 1);
    assert.equal(s.value("llamawrapper_cache_misses_total"), 1);
    assert.equal(s.value("llamawrapper_cache_coalesced_total"), 0);
    assert.equal(s.value("llamawrapper_cache_entries"), 1);

    assert.equal(s.value("llamawrapper_models_loaded"), 1);
    assert.deepEqual(family(s, "llamawrapper_model_state"), {
      "model=tiny,state=loaded": 1,
      "model=tiny,state=loading": 0,
      "model=tiny,state=unloaded": 0,
      "model=tiny,state=failed": 0,
    });
    assert.deepEqual(family(s, "llamawrapper_instances"), { "model=tiny,state=ready": 1 });
    assert.deepEqual(family(s, "llamawrapper_queue_depth"), { "model=tiny": 0 });
    assert.deepEqual(family(s, "llamawrapper_model_load_seconds_count"), { "model=tiny": 1 });
    assert.equal(s.value("llamawrapper_requests_in_flight"), 1, "the scrape itself is in flight");
    assert.deepEqual(family(s, "llamawrapper_model_load_failures_total"), {});
    assert.deepEqual(family(s, "llamawrapper_instance_crashes_total"), {});

    // The scrape above is counted once answered: the next one shows it beside the keyless 401.
    const again = await scrape(gateway, bearer(USER));
    assert.deepEqual(
      Object.entries(family(again, "llamawrapper_requests_total")).filter(([k]) => k.includes("/metrics")),
      [
        ["cache=none,model=,route=/metrics,status_class=4xx", 1],
        ["cache=none,model=,route=/metrics,status_class=2xx", 1],
      ],
    );
    assert.equal(again.value("llamawrapper_cache_hits_total"), 1, "a sourced counter does not double");
    assert.equal(again.value("llamawrapper_rejections_total", { reason: "auth" }), 2);
  });

  test("a flood of 200 unknown model names and 200 random paths creates no series", async () => {
    const hex = () => randomBytes(6).toString("hex");
    const unknownModel = async () => {
      const a = await chat(
        gateway,
        { model: `flood-${hex()}\n"}`, messages: [{ role: "user", content: "x" }] },
        bearer(USER),
      );
      assert.equal(a.status, 404);
    };
    const paths = [
      () => `/flood-${hex()}`,
      () => `/v1/${hex()}/${hex()}`,
      () => `/v1/models/${hex()}`,
      () => `/upstream/${hex()}/metrics`,
      () => `/metrics/${hex()}`,
    ];
    const randomPath = async (i: number) => {
      const path = (paths[i % paths.length] as () => string)();
      const res = await fetch(`${gateway.url}${path}?q=${hex()}`, {
        method: i % 2 === 0 ? "GET" : "POST",
        headers: bearer(USER),
      });
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
      await res.arrayBuffer();
    };
    // One of each kind first: the series a single such request makes may exist.
    await unknownModel();
    for (let i = 0; i < paths.length * 2; i++) await randomPath(i);

    // Only the gateway's own series, and not the scrape's own route (it grows with every scrape).
    const ours = (key: string) => key.startsWith("llamawrapper_") && !key.includes('route="/metrics"');
    const beforeScrape = await scrape(gateway, bearer(USER));
    const before = beforeScrape.keys(ours);

    const jobs: Array<() => Promise<void>> = [];
    for (let i = 0; i < 200; i++) jobs.push(unknownModel, () => randomPath(i));
    for (let i = 0; i < jobs.length; i += 25) await Promise.all(jobs.slice(i, i + 25).map((job) => job()));

    const afterFlood = await scrape(gateway, bearer(USER));
    const added = [...afterFlood.keys(ours)].filter((k) => !before.has(k));
    assert.deepEqual(added, [], "no new series");
    assert.ok(!afterFlood.text.includes("flood-"), "no client text in any label");
    // And all 400 were counted, in series that existed: the chat route with model "" for the
    // unknown names, `unmatched` or `/v1/models/{id}` (model "") for the paths.
    const count = (s: Scrape) =>
      s
        .series("llamawrapper_requests_total")
        .filter((x) => x.labels.status_class === "4xx" && x.labels.model === "")
        .reduce((n, x) => n + x.value, 0);
    const requestsOf = (s: Scrape) => JSON.stringify(family(s, "llamawrapper_requests_total"), null, 1);
    assert.equal(
      count(afterFlood) - count(beforeScrape),
      400,
      `before: ${requestsOf(beforeScrape)}\nafter: ${requestsOf(afterFlood)}`,
    );
  });

  test("promtool accepts the scrape (exit 0, or 3 with only the expected lint)", async (t) => {
    // A fresh request, so the histograms and token counters have samples at this point.
    const answer = await chat(
      gateway,
      { model: "tiny", messages: [{ role: "user", content: "promtool" }], max_tokens: 2, temperature: 0 },
      bearer(USER),
    );
    assert.equal(answer.status, 200);

    const plain = await fetch(`${gateway.url}/metrics`, { headers: bearer(USER) });
    assert.equal(plain.status, 200);
    assert.match(plain.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
    const text = await plain.text();
    assert.ok(!text.includes("# EOF"), "Prometheus text has no # EOF");
    assert.match(text, /^llamawrapper_requests_total\{/m);

    const verdict = promtoolCheck(text);
    if (!verdict.ran) {
      t.skip(verdict.reason);
      return;
    }
    assert.ok(
      verdict.status === 0 || verdict.status === 3,
      `promtool exited ${verdict.status}:\n${verdict.report}`,
    );
    const other = verdict.report.split("\n").filter((l) => l.trim() !== "" && !EXPECTED_LINT.test(l));
    assert.deepEqual(other, [], `promtool found more than the expected lint:\n${verdict.report}`);
  });

  // Last in this gateway: an OpenMetrics scrape must change nothing in later Prometheus text,
  // and if it does, the tests above are not affected.
  test("OpenMetrics for a scraper that asks for it; the Prometheus text is the same afterwards", async () => {
    const families = (text: string) =>
      text
        .split("\n")
        .filter((l) => l.startsWith("# TYPE llamawrapper_"))
        .sort();
    const textBefore = await (await fetch(`${gateway.url}/metrics`, { headers: bearer(USER) })).text();

    const om = await fetch(`${gateway.url}/metrics`, {
      headers: { ...bearer(USER), accept: "application/openmetrics-text; version=1.0.0" },
    });
    assert.equal(om.status, 200);
    assert.match(om.headers.get("content-type") ?? "", /^application\/openmetrics-text; version=1\.0\.0/);
    const omText = await om.text();
    assert.ok(omText.endsWith("# EOF\n"), `ends with: ${JSON.stringify(omText.slice(-80))}`);
    assert.equal(omText.split("\n").filter((l) => l === "# EOF").length, 1);
    // OpenMetrics names a counter family without _total and its samples with it.
    assert.match(omText, /^# TYPE llamawrapper_requests counter$/m);
    assert.match(omText, /^llamawrapper_requests_total\{/m);
    assert.match(omText, /^# TYPE llamawrapper_request_duration_seconds histogram$/m);

    // A Prometheus server asks for OpenMetrics, `curl` and many agents for text: one gateway
    // serves both, in any order, and the text's names must not depend on who scraped before.
    const textAfter = await (await fetch(`${gateway.url}/metrics`, { headers: bearer(USER) })).text();
    assert.deepEqual(families(textAfter), families(textBefore));
    assert.match(textAfter, /^llamawrapper_requests_total\{/m, "requests_total after an OpenMetrics scrape");
  });
});

describe("fake backends: auth.publicMetrics, SLA numbers, traceparent", () => {
  let gateway: RunningGateway;
  const recordFile = join(mkdtempSync(join(tmpdir(), "llamawrapper-obs-")), "traced.jsonl");

  before(async () => {
    gateway = await startGateway({
      auth: {
        apiKeys: [{ name: "user", key: USER }],
        adminKeys: [{ name: "ops", key: ADMIN }],
        publicMetrics: true,
      },
      sla: { availability: 0.95 },
      scheduler: { maxLoadedModels: 4 },
      models: {
        // Every answer takes at least 2 × 10 ms: always over a 1 ms latency objective.
        slow: {
          cmd: fakeCmd("--fake-tokens", "2", "--fake-token-delay-ms", "10"),
          cache: false,
          sla: { latency: "1ms", availability: 0.9 },
        },
        fast: { cmd: fakeCmd(), cache: false },
        broken: { cmd: fakeCmd("--fake-status", "500"), cache: false, sla: { availability: 0.5 } },
        traced: {
          cmd: [process.execPath, "--import", import.meta.resolve("tsx"), OBSERVED, "--port", "${PORT}"],
          env: { OBSERVED_HEADERS: recordFile },
          cache: false,
        },
      },
    });
  });

  after(() => stopClean(gateway));

  test("auth.publicMetrics: /metrics answers without a key, the API still needs one", async () => {
    const res = await fetch(`${gateway.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /^llamawrapper_models_loaded \d+$/m);
    const api = await fetch(`${gateway.url}/v1/models`);
    assert.equal(api.status, 401);
    await api.arrayBuffer();
  });

  test("SLA: hand-computed burn rates in /admin/status and in /metrics", async () => {
    const ask = (model: string, extra: Record<string, unknown> = {}) =>
      chat(
        gateway,
        { model, messages: [{ role: "user", content: "sla" }], max_tokens: 2, ...extra },
        bearer(USER),
      );
    // slow: 3 plain + 1 streamed, all 200 and all slower than 1 ms. No ttft objective: the
    // stream meets ttft (1/1), every request misses latency (0/4): good 0, bad share 1,
    // burn = 1 / (1 - 0.9) = 10, budget left 1 - 10 = -9.
    for (let i = 0; i < 3; i++) assert.equal((await ask("slow")).status, 200);
    assert.equal((await ask("slow", { stream: true })).status, 200);
    // fast: no objective of its own but the top-level availability; nothing to miss.
    for (let i = 0; i < 2; i++) assert.equal((await ask("fast")).status, 200);
    // broken: llama-server answers 500, twice: failed 2/2, availability 0, burn 1 / 0.5 = 2.
    for (let i = 0; i < 2; i++) {
      const a = await ask("broken");
      assert.ok(a.status >= 500, `broken answered ${a.status}`);
    }

    const expected: Record<string, Record<string, number | null>> = {
      slow: {
        requests: 4,
        failed: 0,
        availability: 1,
        ttftAttainment: 1,
        latencyAttainment: 0,
        good: 0,
        objective: 0.9,
        burnRate: 10,
        errorBudgetRemaining: -9,
        windowSeconds: 3600,
      },
      fast: {
        requests: 2,
        failed: 0,
        availability: 1,
        ttftAttainment: null,
        latencyAttainment: 1,
        good: 1,
        objective: 0.95,
        burnRate: 0,
        errorBudgetRemaining: 1,
        windowSeconds: 3600,
      },
      broken: {
        requests: 2,
        failed: 2,
        availability: 0,
        ttftAttainment: null,
        latencyAttainment: null,
        good: 0,
        objective: 0.5,
        burnRate: 2,
        errorBudgetRemaining: -1,
        windowSeconds: 3600,
      },
    };
    const close = (actual: unknown, want: number | null, what: string) => {
      if (want === null) return assert.equal(actual, null, what);
      assert.equal(typeof actual, "number", `${what}: ${actual}`);
      assert.ok(Math.abs((actual as number) - want) < 1e-9, `${what}: ${actual}, want ${want}`);
    };

    const { status, body } = await admin(gateway, "GET", "/admin/status", { key: ADMIN });
    assert.equal(status, 200);
    const reports = body.sla as Json[];
    assert.deepEqual(reports.map((r) => r.model).sort(), ["broken", "fast", "slow"]);
    for (const [model, want] of Object.entries(expected)) {
      const report = reports.find((r) => r.model === model) as Json;
      for (const [field, value] of Object.entries(want)) close(report[field], value, `${model}.${field}`);
    }

    const s = await scrape(gateway); // public
    const gauges: Record<string, string> = {
      availability: "llamawrapper_sla_availability",
      ttftAttainment: "llamawrapper_sla_ttft_attainment",
      latencyAttainment: "llamawrapper_sla_latency_attainment",
      good: "llamawrapper_sla_good_ratio",
      objective: "llamawrapper_sla_objective",
      burnRate: "llamawrapper_sla_burn_rate",
      errorBudgetRemaining: "llamawrapper_sla_error_budget_remaining",
    };
    for (const [model, want] of Object.entries(expected)) {
      for (const [field, series] of Object.entries(gauges)) {
        const value = s.value(series, { model });
        // A ratio without requests to compute it from is absent, not 0.
        if (want[field] === null) assert.equal(value, undefined, `${series}{model="${model}"}`);
        else close(value, want[field] as number, `${series}{model="${model}"}`);
      }
    }
    assert.deepEqual(
      s.series("llamawrapper_sla_burn_rate").map((x) => x.labels.model),
      ["broken", "fast", "slow"],
      "no SLA series for models without requests (traced) or for unknown names",
    );
  });

  test("traceparent: a valid one reaches llama-server and the access log; an invalid one is dropped", async () => {
    const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    const invalid = [
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01", // all-zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", // all-zero parent id
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", // forbidden version
      "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", // short trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01", // not hex
      "not a traceparent",
    ];
    const tag = randomBytes(4).toString("hex");
    const sent: Array<{ id: string; header: string | null; expect: string | null }> = [
      { id: `trace-${tag}-valid`, header: valid, expect: valid },
      { id: `trace-${tag}-valid-stream`, header: valid, expect: valid },
      { id: `trace-${tag}-none`, header: null, expect: null },
      ...invalid.map((header, i) => ({ id: `trace-${tag}-bad-${i}`, header, expect: null })),
    ];
    for (const { id, header } of sent) {
      const headers: Record<string, string> = { ...bearer(USER), "x-request-id": id };
      if (header !== null) headers.traceparent = header;
      const stream = id.endsWith("-stream");
      const a = await chat(
        gateway,
        { model: "traced", messages: [{ role: "user", content: "trace" }], max_tokens: 2, stream },
        headers,
      );
      assert.equal(a.status, 200, id);
      assert.equal(a.requestId, id);
    }

    // What llama-server received (the fixture writes each request before answering it).
    const received = readRecord(recordFile).filter((r) => r.path === CHAT);
    const output = await gateway.loggedOutput();
    const logLines = output
      .split("\n")
      .filter((l) => l.includes('"msg":"request"'))
      .map((l) => JSON.parse(l) as Json);
    for (const { id, expect } of sent) {
      const atBackend = received.filter((r) => r.requestId === id);
      assert.equal(atBackend.length, 1, `${id} reached llama-server once`);
      assert.equal(atBackend[0]?.traceparent, expect, `${id}: traceparent at llama-server`);
      const line = logLines.find((l) => l.requestId === id);
      assert.ok(line, `no access-log line for ${id}`);
      assert.equal(line.traceparent, expect ?? undefined, `${id}: traceparent in the access log`);
    }
    // Not sent on other requests to llama-server (health probes carry none).
    assert.ok(
      readRecord(recordFile)
        .filter((r) => r.path !== CHAT)
        .every((r) => r.traceparent === null),
    );
  });
});
