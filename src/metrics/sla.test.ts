import assert from "node:assert/strict";
import { test } from "node:test";
import { requestRecord } from "../../test/support/request-record.js";
import type { RequestRecord } from "../http/request-record.js";
import { SLA_BUCKETS, type SlaObjectives, type SlaReport, SlaTracker } from "./sla.js";

const HOUR = 3_600_000;
const DEFAULTS: SlaObjectives = { ttftMs: 2000, latencyMs: 30_000, availability: 0.99, windowMs: HOUR };

/** A clock the test moves by hand. */
function clock(start = 0): { now: () => number; set: (t: number) => void } {
  let t = start;
  return { now: () => t, set: (next) => (t = next) };
}

/** A full RequestRecord, so the test also proves the tracker accepts what the HTTP layer emits. */
function rec(over: Partial<RequestRecord> = {}): RequestRecord {
  return requestRecord({
    durationMs: 1000,
    ttfbMs: 100,
    queueMs: 0,
    upstreamMs: 900,
    instance: "m#1",
    stream: true,
    ...over,
  });
}

function only(tracker: SlaTracker, model = "m"): SlaReport {
  const report = tracker.report().find((r) => r.model === model);
  assert.ok(report, `a report for ${model}`);
  return report;
}

function close(actual: number | null, expected: number, what: string): void {
  assert.ok(actual !== null && Math.abs(actual - expected) < 1e-9, `${what}: ${actual} ≈ ${expected}`);
}

test("a hand-computed window of 100 requests", () => {
  const tracker = new SlaTracker(() => DEFAULTS, clock(5000).now);
  const add = (n: number, over: Partial<RequestRecord>) => {
    for (let i = 0; i < n; i += 1) tracker.record(rec(over));
  };
  add(86, {}); // fine: ttfb 100 ms, 1 s in all
  add(3, { status: 503, errorCode: "queue_full", ttfbMs: null }); // failed
  add(5, { ttfbMs: 2500, durationMs: 10_000 }); // over the 2 s ttft, within latency
  add(2, { ttfbMs: 500, durationMs: 31_000 }); // within ttft, over the 30 s latency
  add(4, { status: 400, ttfbMs: null, durationMs: 2 }); // the client's fault: good

  // requests 100, failed 3                       → availability 1 − 3/100 = 0.97
  // successful (status < 400): 100 − 3 − 4 = 93, all with a ttfb
  // ttft met: 93 − 5 = 88                        → ttftAttainment 88/93
  // latency met: 93 − 2 = 91                     → latencyAttainment 91/93
  // good: 86 fine + 4 client errors = 90         → good 0.90, bad 0.10
  // burn rate 0.10 / (1 − 0.99) = 10             → budget remaining 1 − 10 = −9
  const r = only(tracker);
  assert.equal(r.model, "m");
  assert.equal(r.windowSeconds, 3600);
  assert.equal(r.requests, 100);
  assert.equal(r.failed, 3);
  assert.equal(r.objective, 0.99);
  close(r.availability, 0.97, "availability");
  close(r.ttftAttainment, 88 / 93, "ttft attainment");
  close(r.latencyAttainment, 91 / 93, "latency attainment");
  close(r.good, 0.9, "good");
  close(r.burnRate, 10, "burn rate");
  close(r.errorBudgetRemaining, -9, "budget remaining");
});

test("burn rate and budget against different targets (10% bad)", () => {
  // bad share 0.10 throughout; burn = 0.10 / (1 − target), remaining = 1 − burn.
  const cases: { target: number; burn: number; remaining: number }[] = [
    { target: 0.9, burn: 1, remaining: 0 }, // spending exactly at the sustainable pace
    { target: 0.8, burn: 0.5, remaining: 0.5 },
    { target: 0.5, burn: 0.2, remaining: 0.8 },
    { target: 0.95, burn: 2, remaining: -1 },
    { target: 1, burn: Number.POSITIVE_INFINITY, remaining: Number.NEGATIVE_INFINITY },
  ];
  for (const c of cases) {
    const tracker = new SlaTracker(() => ({ ...DEFAULTS, availability: c.target }), clock().now);
    for (let i = 0; i < 9; i += 1) tracker.record(rec());
    tracker.record(rec({ status: 500 }));
    const r = only(tracker);
    if (Number.isFinite(c.burn)) {
      close(r.burnRate, c.burn, `burn at ${c.target}`);
      close(r.errorBudgetRemaining, c.remaining, `remaining at ${c.target}`);
    } else {
      assert.equal(r.burnRate, c.burn);
      assert.equal(r.errorBudgetRemaining, c.remaining);
    }
  }
});

test("which statuses fail, and which are eligible for the speed objectives", () => {
  // Each record is slow on both objectives, so a successful one is bad for speed alone.
  const slow = { ttfbMs: 5000, durationMs: 60_000 };
  const cases: { status: number; code: string | null; failed: boolean; good: boolean; eligible: boolean }[] =
    [
      { status: 200, code: null, failed: false, good: false, eligible: true },
      { status: 400, code: "invalid_request", failed: false, good: true, eligible: false },
      { status: 401, code: "unauthorized", failed: false, good: true, eligible: false },
      { status: 404, code: "model_not_found", failed: false, good: true, eligible: false },
      { status: 429, code: "rate_limited", failed: false, good: true, eligible: false },
      { status: 499, code: "client_closed", failed: false, good: true, eligible: false },
      { status: 500, code: "internal", failed: true, good: false, eligible: false },
      { status: 502, code: "upstream_error", failed: true, good: false, eligible: false },
      { status: 503, code: "queue_full", failed: true, good: false, eligible: false },
      { status: 503, code: "queue_timeout", failed: true, good: false, eligible: false },
      { status: 503, code: "model_failed", failed: true, good: false, eligible: false },
      { status: 504, code: "upstream_timeout", failed: true, good: false, eligible: false },
    ];
  for (const c of cases) {
    const tracker = new SlaTracker(() => DEFAULTS, clock().now);
    tracker.record(rec({ status: c.status, errorCode: c.code, ...slow }));
    const r = only(tracker);
    const what = `${c.status} ${c.code}`;
    assert.equal(r.failed, c.failed ? 1 : 0, what);
    assert.equal(r.availability, c.failed ? 0 : 1, what);
    assert.equal(r.good, c.good ? 1 : 0, what);
    assert.equal(r.ttftAttainment, c.eligible ? 0 : null, what);
    assert.equal(r.latencyAttainment, c.eligible ? 0 : null, what);
  }
});

test("ttft: boundaries, requests without a first byte, and null objectives", () => {
  const cases: {
    name: string;
    objectives: Partial<SlaObjectives>;
    ttfbMs: number | null;
    durationMs: number;
    ttft: number | null;
    latency: number;
    good: number;
  }[] = [
    {
      name: "exactly at both objectives",
      objectives: {},
      ttfbMs: 2000,
      durationMs: 30_000,
      ttft: 1,
      latency: 1,
      good: 1,
    },
    { name: "1 ms over ttft", objectives: {}, ttfbMs: 2001, durationMs: 3000, ttft: 0, latency: 1, good: 0 },
    {
      name: "1 ms over latency",
      objectives: {},
      ttfbMs: 10,
      durationMs: 30_001,
      ttft: 1,
      latency: 0,
      good: 0,
    },
    {
      name: "no ttfb: not eligible for ttft",
      objectives: {},
      ttfbMs: null,
      durationMs: 10,
      ttft: null,
      latency: 1,
      good: 1,
    },
    {
      name: "ttft unset: always met",
      objectives: { ttftMs: null },
      ttfbMs: 90_000,
      durationMs: 10,
      ttft: 1,
      latency: 1,
      good: 1,
    },
    {
      name: "latency unset: always met",
      objectives: { latencyMs: null },
      ttfbMs: 1,
      durationMs: 9e9,
      ttft: 1,
      latency: 1,
      good: 1,
    },
    {
      name: "both unset: only failures are bad",
      objectives: { ttftMs: null, latencyMs: null },
      ttfbMs: 9e9,
      durationMs: 9e9,
      ttft: 1,
      latency: 1,
      good: 1,
    },
  ];
  for (const c of cases) {
    const tracker = new SlaTracker(() => ({ ...DEFAULTS, ...c.objectives }), clock().now);
    tracker.record(rec({ ttfbMs: c.ttfbMs, durationMs: c.durationMs }));
    const r = only(tracker);
    assert.equal(r.ttftAttainment, c.ttft, c.name);
    assert.equal(r.latencyAttainment, c.latency, c.name);
    assert.equal(r.good, c.good, c.name);
  }
});

test("records without a model are not counted; no requests means null ratios", () => {
  const tracker = new SlaTracker(() => DEFAULTS, clock().now);
  tracker.record(rec({ model: null, route: "/admin/status", status: 500 }));
  assert.deepEqual(tracker.report(), []);
  assert.deepEqual(tracker.models(), []);
});

test("the window slides bucket by bucket", () => {
  // 60 s window → 60 buckets of 1 s. A request recorded at t (bucket floor(t/1000)) counts
  // until the bucket 60 later begins.
  const minute: SlaObjectives = { ...DEFAULTS, windowMs: 60_000 };
  const c = clock(0);
  const tracker = new SlaTracker(() => minute, c.now);
  tracker.record(rec({ status: 503 })); // bucket 0
  c.set(500);
  tracker.record(rec()); // bucket 0 too
  c.set(30_000);
  tracker.record(rec()); // bucket 30

  const steps: { at: number; requests: number; failed: number }[] = [
    { at: 30_000, requests: 3, failed: 1 },
    { at: 59_999, requests: 3, failed: 1 }, // last instant bucket 0 is inside
    { at: 60_000, requests: 1, failed: 0 }, // bucket 60 begins: bucket 0 (both records) is out
    { at: 89_999, requests: 1, failed: 0 },
    { at: 90_000, requests: 0, failed: 0 }, // bucket 30 out: the model is dropped
  ];
  for (const s of steps) {
    c.set(s.at);
    const r = tracker.report().find((x) => x.model === "m");
    assert.equal(r?.requests ?? 0, s.requests, `requests at ${s.at}`);
    assert.equal(r?.failed ?? 0, s.failed, `failed at ${s.at}`);
  }
  assert.deepEqual(tracker.models(), []);
  assert.deepEqual(tracker.size(), { models: 0, buckets: 0 });
});

test("a reused ring slot starts from zero", () => {
  const minute: SlaObjectives = { ...DEFAULTS, windowMs: 60_000 };
  const c = clock(1000);
  const tracker = new SlaTracker(() => minute, c.now);
  tracker.record(rec({ status: 503 })); // bucket 1, slot 1
  c.set(61_000);
  tracker.record(rec()); // bucket 61, slot 1 again
  const r = only(tracker);
  assert.equal(r.requests, 1);
  assert.equal(r.failed, 0);
});

test("a clock stepping back counts in the newest bucket", () => {
  const minute: SlaObjectives = { ...DEFAULTS, windowMs: 60_000 };
  const c = clock(90_000);
  const tracker = new SlaTracker(() => minute, c.now);
  tracker.record(rec()); // bucket 90
  c.set(10_000); // back 80 s, to a bucket that left the window long ago
  tracker.record(rec());
  assert.equal(only(tracker).requests, 2);
  c.set(149_999);
  assert.equal(only(tracker).requests, 2);
  c.set(150_000);
  assert.deepEqual(tracker.report(), []);
});

test("each model is judged by its own objectives", () => {
  const objectives: Record<string, SlaObjectives> = {
    fast: { ttftMs: 200, latencyMs: 2000, availability: 0.999, windowMs: 60_000 },
    big: { ttftMs: 5000, latencyMs: 120_000, availability: 0.9, windowMs: HOUR },
  };
  const tracker = new SlaTracker((m) => objectives[m] ?? DEFAULTS, clock().now);
  for (const model of ["fast", "big", "other"]) {
    tracker.record(rec({ model, ttfbMs: 1000, durationMs: 10_000 }));
    tracker.record(rec({ model, ttfbMs: 100, durationMs: 1000 }));
  }
  const byModel = Object.fromEntries(tracker.report().map((r) => [r.model, r]));
  assert.deepEqual(tracker.models(), ["big", "fast", "other"]);
  // fast: the first request misses both objectives → good 0.5, burn 0.5/0.001 = 500.
  assert.equal(byModel.fast?.good, 0.5);
  assert.equal(byModel.fast?.ttftAttainment, 0.5);
  assert.equal(byModel.fast?.latencyAttainment, 0.5);
  assert.equal(byModel.fast?.windowSeconds, 60);
  close(byModel.fast?.burnRate ?? null, 500, "fast burn");
  // big and other (defaults): both requests within objectives → burn 0, budget intact.
  for (const model of ["big", "other"]) {
    assert.equal(byModel[model]?.good, 1, model);
    assert.equal(byModel[model]?.burnRate, 0, model);
    assert.equal(byModel[model]?.errorBudgetRemaining, 1, model);
  }
  assert.equal(byModel.big?.objective, 0.9);
  assert.equal(byModel.other?.objective, 0.99);
});

test("a changed window starts the model's counts over", () => {
  let windowMs = 60_000;
  const tracker = new SlaTracker(() => ({ ...DEFAULTS, windowMs }), clock().now);
  tracker.record(rec({ status: 503 }));
  windowMs = HOUR;
  tracker.record(rec());
  const r = only(tracker);
  assert.equal(r.requests, 1);
  assert.equal(r.failed, 0);
  assert.equal(r.windowSeconds, 3600);
});

test("memory is bounded by models × buckets, never by requests", () => {
  const c = clock(0);
  const tracker = new SlaTracker(() => DEFAULTS, c.now);
  const bucketMs = HOUR / SLA_BUCKETS;
  // A million records spread over five buckets, then over two whole windows for two models.
  for (let i = 0; i < 1_000_000; i += 1) {
    c.set(Math.floor(i / 200_000) * bucketMs);
    tracker.record(rec({ status: i % 100 === 0 ? 503 : 200 }));
  }
  assert.deepEqual(tracker.size(), { models: 1, buckets: 5 });
  assert.equal(only(tracker).requests, 1_000_000);
  assert.equal(only(tracker).failed, 10_000);
  for (let i = 0; i < 2 * SLA_BUCKETS * 10; i += 1) {
    c.set(5 * bucketMs + (i * bucketMs) / 10);
    tracker.record(rec({ model: i % 2 === 0 ? "m" : "n" }));
  }
  assert.deepEqual(tracker.size(), { models: 2, buckets: 2 * SLA_BUCKETS });
  // Only the last window's records count: 60 buckets × 10 records, half each model.
  assert.equal(only(tracker, "m").requests, 300);
  assert.equal(only(tracker, "n").requests, 300);
});

test("only streamed requests are judged on time to first token", () => {
  const tracker = new SlaTracker(() => ({ ...DEFAULTS, ttftMs: 1000, latencyMs: null }), clock(5000).now);
  // A non-streamed answer's first byte is its last: slow "ttfb", but no ttft objective applies.
  tracker.record(rec({ stream: false, ttfbMs: 5000, durationMs: 5000 }));
  tracker.record(rec({ stream: true, ttfbMs: 500 }));
  const [report] = tracker.report();
  assert.equal(report?.ttftAttainment, 1);
  assert.equal(report?.good, 1);
});
