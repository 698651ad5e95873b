import assert from "node:assert/strict";
import { test } from "node:test";
import type { RateLimits } from "../config/security-types.js";
import { MemoryLimiter } from "./memory-limiter.js";

const TEN: RateLimits = { requestsPerMinute: 10, tokensPerMinute: null, burst: 10 };

function clock(start = 0) {
  const c = { t: start, now: () => c.t };
  return c;
}

test("50 takes at one instant against 10/min with burst 10 admit exactly 10", () => {
  const c = clock();
  const limiter = new MemoryLimiter(c.now);
  const decisions = Array.from({ length: 50 }, () => limiter.take("key:a", TEN, 0));
  assert.equal(decisions.filter((d) => d.allowed).length, 10);
  const refused = decisions.filter((d) => !d.allowed);
  assert.ok(
    refused.every((d) => d.retryAfterMs === 6_000),
    "one request refills in 6 s at 10/min",
  );
  assert.deepEqual(refused[0]?.headers, {
    "x-ratelimit-limit": "10",
    "x-ratelimit-remaining": "0",
    "x-ratelimit-reset": "60",
  });
  assert.equal(decisions[0]?.headers["x-ratelimit-remaining"], "9");
});

test("buckets are separate: one key's exhaustion leaves another key and an address untouched", () => {
  const limiter = new MemoryLimiter(clock().now);
  for (let i = 0; i < 10; i++) assert.ok(limiter.take("key:a", TEN, 0).allowed);
  assert.equal(limiter.take("key:a", TEN, 0).allowed, false);
  assert.equal(limiter.take("key:b", TEN, 0).allowed, true);
  assert.equal(limiter.take("addr:127.0.0.1", TEN, 0).allowed, true);
});

test("time refills: after 6 s one more request passes, not two", () => {
  const c = clock();
  const limiter = new MemoryLimiter(c.now);
  for (let i = 0; i < 10; i++) limiter.take("key:a", TEN, 0);
  c.t = 5_999;
  assert.equal(limiter.take("key:a", TEN, 0).allowed, false);
  c.t = 6_000;
  assert.equal(limiter.take("key:a", TEN, 0).allowed, true);
  assert.equal(limiter.take("key:a", TEN, 0).allowed, false);
});

test("settle charges real usage to the bucket: a key that used more than estimated waits", () => {
  const c = clock();
  const limits: RateLimits = { requestsPerMinute: null, tokensPerMinute: 100, burst: 10 };
  const limiter = new MemoryLimiter(c.now);
  assert.ok(limiter.take("key:a", limits, 10).allowed);
  limiter.settle("key:a", limits, 150); // the answer used 160 tokens, not 10
  const next = limiter.take("key:a", limits, 1);
  assert.equal(next.allowed, false);
  assert.equal(next.headers["x-ratelimit-remaining-tokens"], "0");
  // 90 left after the estimate, minus 150 more: -60; 61 tokens refill in 36.6 s at 100/min.
  assert.equal(Math.round(next.retryAfterMs), 36_600);
  // A refund of an estimate (no backend answered) gives the tokens back.
  const other = new MemoryLimiter(c.now);
  other.take("key:b", limits, 100);
  other.settle("key:b", limits, -100);
  assert.ok(other.take("key:b", limits, 100).allowed);
});

test("settle without a token limit, or with nothing to correct, changes nothing", () => {
  const limiter = new MemoryLimiter(clock().now);
  limiter.settle("key:a", TEN, 500);
  assert.equal(limiter.size, 0);
  limiter.settle("key:a", { ...TEN, tokensPerMinute: 100 }, 0);
  assert.equal(limiter.size, 0);
});

test("buckets that refilled are forgotten, so addresses seen once do not pile up", () => {
  const c = clock();
  const limiter = new MemoryLimiter(c.now);
  for (let i = 0; i < 1_000; i++) limiter.take(`addr:10.0.${i >> 8}.${i & 255}`, TEN, 0);
  assert.equal(limiter.size, 1_000);
  c.t = 6_000; // every bucket (one request taken) is full again
  for (let i = 0; i < 24; i++) limiter.take("key:busy", TEN, 0); // the 1024th take sweeps
  assert.equal(limiter.size, 1, "only the bucket that is not full is kept");
});
