import assert from "node:assert/strict";
import { test } from "node:test";
import type { RateLimits } from "../config/security-types.js";
import { adjust, type BucketState, msUntilFull, quotaHeaders, specOf, take } from "./token-bucket.js";

const limits = (
  requestsPerMinute: number | null,
  tokensPerMinute: number | null,
  burst = 20,
): RateLimits => ({
  requestsPerMinute,
  tokensPerMinute,
  burst,
});

test("specOf: burst is capped at a minute's worth, and a null limit has no bucket", () => {
  assert.deepEqual(specOf(limits(60, null, 10)), {
    requests: { capacity: 10, perMs: 60 / 60_000, limitText: "10" },
    tokens: null,
  });
  // A burst above the per-minute rate would let more than requestsPerMinute through in a minute.
  assert.equal(specOf(limits(5, null, 20)).requests?.capacity, 5);
  assert.deepEqual(specOf(limits(null, 600, 20)), {
    requests: null,
    tokens: { capacity: 600, perMs: 0.01, limitText: "600" },
  });
  const same = limits(60, 600, 10);
  assert.equal(specOf(same), specOf(same), "one spec per limits object, made once");
});

test("a fresh bucket admits exactly its burst at one instant, then says how long to wait", () => {
  const spec = specOf(limits(60, null, 10)); // one request per second
  let state: BucketState | undefined;
  const admitted: boolean[] = [];
  for (let i = 0; i < 15; i++) {
    const result = take(state, spec, 0, 1_000);
    state = result.state;
    admitted.push(result.allowed);
  }
  assert.equal(admitted.filter(Boolean).length, 10);
  assert.deepEqual(admitted.slice(0, 10), Array(10).fill(true));
  const refused = take(state, spec, 0, 1_000);
  assert.equal(refused.allowed, false);
  assert.equal(refused.retryAfterMs, 1_000, "one request refills in 1 s at 60/min");
});

test("the bucket refills at the per-minute rate and never above its capacity", () => {
  const spec = specOf(limits(60, null, 3));
  let state = take(undefined, spec, 0, 0).state;
  state = take(state, spec, 0, 0).state;
  state = take(state, spec, 0, 0).state;
  assert.equal(take(state, spec, 0, 0).allowed, false);
  assert.equal(take(state, spec, 0, 999).allowed, false, "not a whole request yet");
  const after1s = take(state, spec, 0, 1_000);
  assert.equal(after1s.allowed, true);
  assert.equal(take(after1s.state, spec, 0, 1_000).allowed, false, "only one refilled");
  // An hour later the bucket holds its capacity, not an hour's worth.
  let later = take(after1s.state, spec, 0, 3_600_000).state;
  let count = 1;
  while (take(later, spec, 0, 3_600_000).allowed) {
    later = take(later, spec, 0, 3_600_000).state;
    count++;
  }
  assert.equal(count, 3);
});

test("tokens: the estimate is taken with the request, and both or neither are taken", () => {
  const spec = specOf(limits(60, 100, 10));
  const first = take(undefined, spec, 80, 0);
  assert.equal(first.allowed, true);
  assert.equal(first.state.tokens, 20);
  assert.equal(first.state.requests, 9);
  const second = take(first.state, spec, 30, 0);
  assert.equal(second.allowed, false);
  assert.equal(second.state.requests, 9, "a refused request takes no request either");
  assert.equal(second.retryAfterMs, 10 / (100 / 60_000), "ms until 10 more tokens refill");
});

test("a request larger than the whole token bucket needs only a full bucket", () => {
  const spec = specOf(limits(null, 100, 10));
  const huge = take(undefined, spec, 5_000, 0);
  assert.equal(huge.allowed, true);
  assert.equal(huge.state.tokens, 0);
  assert.equal(take(huge.state, spec, 5_000, 0).allowed, false);
  assert.equal(take(huge.state, spec, 5_000, 60_000).allowed, true, "full again after a minute");
});

test("adjust: usage above the estimate is debt, capped at one bucket; below it is refunded", () => {
  const spec = specOf(limits(null, 100, 10));
  const taken = take(undefined, spec, 50, 0).state;
  assert.equal(adjust(taken, spec, -20, 0).tokens, 70, "refund");
  assert.equal(adjust(taken, spec, 120, 0).tokens, -70);
  assert.equal(adjust(taken, spec, 10_000, 0).tokens, -100, "debt is capped at one bucket");
  assert.equal(adjust(taken, spec, -10_000, 0).tokens, 100, "a refund never overfills");
  const inDebt = adjust(taken, spec, 120, 0);
  assert.equal(take(inDebt, spec, 1, 0).allowed, false);
  assert.equal(take(inDebt, spec, 1, 0).retryAfterMs, 71 / (100 / 60_000));
  // Without a token limit there is nothing to adjust.
  const requestsOnly = specOf(limits(60, null, 10));
  assert.equal(adjust(undefined, requestsOnly, 500, 0).tokens, 0);
});

test("msUntilFull: the time after which a bucket's state carries no information", () => {
  const spec = specOf(limits(60, 600, 10));
  assert.equal(msUntilFull({ requests: 10, tokens: 600, at: 0 }, spec), 0);
  assert.equal(msUntilFull({ requests: 8, tokens: 600, at: 0 }, spec), 2_000);
  assert.equal(msUntilFull({ requests: 10, tokens: 0, at: 0 }, spec), 60_000);
});

test("quota headers: limit, remaining (floored, never negative) and seconds until full", () => {
  const spec = specOf(limits(60, 600, 10));
  assert.deepEqual(quotaHeaders(spec, { requests: 7.5, tokens: -30, at: 0 }), {
    "x-ratelimit-limit": "10",
    "x-ratelimit-remaining": "7",
    "x-ratelimit-reset": "3",
    "x-ratelimit-limit-tokens": "600",
    "x-ratelimit-remaining-tokens": "0",
    "x-ratelimit-reset-tokens": "63",
  });
  assert.deepEqual(quotaHeaders(specOf(limits(null, null)), { requests: 0, tokens: 0, at: 0 }), {});
});

test("a take of several requests needs that many (at most a full bucket); a take of 0 requests only tokens", () => {
  const spec = specOf({ requestsPerMinute: 60, tokensPerMinute: 1_000, burst: 10 });
  const many = take(undefined, spec, 0, 0, 800);
  assert.equal(many.allowed, true, "800 completions need only the full bucket of 10");
  assert.equal(many.state.requests, 0);
  assert.equal(take(many.state, spec, 0, 0, 1).allowed, false);
  const tokensOnly = take(many.state, spec, 400, 0, 0);
  assert.equal(tokensOnly.allowed, true, "charging more work to an admitted request takes no request");
  assert.deepEqual([tokensOnly.state.requests, tokensOnly.state.tokens], [0, 600]);
});
