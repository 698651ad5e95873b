import assert from "node:assert/strict";
import { test } from "node:test";
import { closeResponse, runStep, stepContext } from "../../../test/support/step-context.js";
import type { RateLimits } from "../../config/security-types.js";
import { keyAccess, openAccess, publicAccess } from "../../security/access.js";
import type { LimitDecision, Limiter } from "../../security/limiter.js";
import { MemoryLimiter } from "../../security/memory-limiter.js";
import { estimatePromptTokens, rateLimit, workStillDue } from "./rate-limit.js";

const TWO: RateLimits = { requestsPerMinute: 2, tokensPerMinute: null, burst: 2 };

/** A limiter that records what the step asked of it. */
function spyLimiter(inner: Limiter = new MemoryLimiter(() => 0)) {
  const takes: Array<{ bucket: string; tokens: number; requests: number }> = [];
  const settles: Array<{ bucket: string; delta: number }> = [];
  const limiter: Limiter = {
    take: (bucket, limits, tokens, requests = 1): LimitDecision | Promise<LimitDecision> => {
      takes.push({ bucket, tokens, requests });
      return inner.take(bucket, limits, tokens, requests);
    },
    settle: (bucket, limits, delta) => {
      settles.push({ bucket, delta });
      inner.settle(bucket, limits, delta);
    },
    ready: () => inner.ready(),
    close: () => inner.close(),
  };
  return { limiter, takes, settles };
}

function userAccess(name: string, limits: RateLimits) {
  return keyAccess({
    name,
    kind: "user",
    digest: Buffer.alloc(32),
    allowsModel: () => true,
    allowsRoute: () => true,
    limits,
  });
}

test("a client address is its own bucket; the third request of a burst of 2 gets 429 with Retry-After", async () => {
  const { limiter, takes } = spyLimiter();
  const step = rateLimit(limiter);
  const outcomes: string[] = [];
  let last: Record<string, string> = {};
  for (let i = 0; i < 3; i++) {
    const { ctx, response } = stepContext({ url: "/v1/chat/completions", remoteAddress: "10.0.0.7" });
    ctx.access = openAccess(TWO);
    outcomes.push(await runStep(step, ctx));
    last = response.headers;
  }
  assert.deepEqual(outcomes, ["passed", "passed", "rate_limited"]);
  assert.deepEqual(
    takes.map((t) => t.bucket),
    ["addr:10.0.0.7", "addr:10.0.0.7", "addr:10.0.0.7"],
  );
  assert.equal(last["x-ratelimit-limit"], "2");
  assert.equal(last["x-ratelimit-remaining"], "0");
  // The error carries the wait; the renderer turns it into Retry-After.
  const { ctx } = stepContext({ url: "/v1/chat/completions", remoteAddress: "10.0.0.7" });
  ctx.access = openAccess(TWO);
  await assert.rejects(
    async () => step(ctx),
    (error: { code: string; retryAfterSeconds: number; message: string }) =>
      error.code === "rate_limited" && error.retryAfterSeconds === 30 && /client address/.test(error.message),
  );
});

test("a key's bucket is the key's, whatever address it comes from", async () => {
  const { limiter, takes } = spyLimiter();
  const step = rateLimit(limiter);
  for (const address of ["10.0.0.1", "10.0.0.2", "10.0.0.3"]) {
    const { ctx } = stepContext({ url: "/v1/completions", remoteAddress: address });
    ctx.access = userAccess("alice", TWO);
    await runStep(step, ctx);
  }
  assert.deepEqual(
    takes.map((t) => t.bucket),
    ["key:alice", "key:alice", "key:alice"],
  );
});

test("/health, /admin/* and callers without limits are never counted", async () => {
  const { limiter, takes } = spyLimiter();
  const step = rateLimit(limiter);
  const cases = [
    { url: "/health", access: publicAccess(TWO) },
    { url: "/admin/status", access: userAccess("ops", TWO) },
    {
      url: "/v1/completions",
      access: openAccess({ requestsPerMinute: null, tokensPerMinute: null, burst: 2 }),
    },
  ];
  for (const { url, access } of cases) {
    const { ctx } = stepContext({ url });
    ctx.access = access;
    assert.equal(await runStep(step, ctx), "passed", url);
  }
  assert.deepEqual(takes, []);
});

test("tokens: estimated from Content-Length, corrected by the answer's usage, refunded when nothing answered", async () => {
  const limits: RateLimits = { requestsPerMinute: null, tokensPerMinute: 1_000, burst: 2 };
  const { limiter, takes, settles } = spyLimiter();
  const step = rateLimit(limiter);

  const answered = stepContext({ url: "/v1/completions", headers: { "content-length": "400" } });
  answered.ctx.access = userAccess("alice", limits);
  assert.equal(await runStep(step, answered.ctx), "passed");
  answered.ctx.facts.usage = { promptTokens: 30, completionTokens: 50, cachedTokens: 0 };
  closeResponse(answered.ctx);

  const failed = stepContext({ url: "/v1/completions", headers: { "content-length": "400" } });
  failed.ctx.access = userAccess("alice", limits);
  assert.equal(await runStep(step, failed.ctx), "passed");
  failed.ctx.res.statusCode = 404;
  closeResponse(failed.ctx);

  assert.deepEqual(
    takes.map((t) => t.tokens),
    [100, 100],
  );
  assert.deepEqual(
    settles.map((s) => s.delta),
    [-20, -100],
  );
  assert.equal(estimatePromptTokens(stepContext({ headers: {} }).ctx.req), 0, "chunked: counted at the end");
});

test("a chunked body is charged once it was read: the second of two concurrent ones gets 429", async () => {
  const limits: RateLimits = { requestsPerMinute: null, tokensPerMinute: 1_000, burst: 2 };
  const { limiter, takes, settles } = spyLimiter();
  const step = rateLimit(limiter);
  // Both pass the step: nothing is known of a chunked body before it is read.
  const first = stepContext({ url: "/v1/completions", headers: { "transfer-encoding": "chunked" } });
  const second = stepContext({ url: "/v1/completions", headers: { "transfer-encoding": "chunked" } });
  for (const { ctx } of [first, second]) {
    ctx.access = userAccess("alice", limits);
    assert.equal(await runStep(step, ctx), "passed");
  }
  const work = { tokens: 700, requests: 1 };
  await first.ctx.chargeWork?.(work);
  await assert.rejects(Promise.resolve(second.ctx.chargeWork?.(work)), { code: "rate_limited" });
  assert.deepEqual(
    takes.map((t) => [t.tokens, t.requests]),
    [
      [0, 1],
      [0, 1],
      [700, 0],
      [700, 0],
    ],
  );
  first.ctx.facts.usage = { promptTokens: 100, completionTokens: 100, cachedTokens: 0 };
  closeResponse(first.ctx);
  second.ctx.res.statusCode = 429;
  closeResponse(second.ctx);
  // The first is corrected from its usage; the second was charged nothing (its refund is -0).
  assert.deepEqual(
    settles.map((s) => s.delta),
    [-500, -0],
  );
});

test("the work beyond the step's estimate: never more than one full bucket in all, each completion a request", () => {
  const both: RateLimits = { requestsPerMinute: 60, tokensPerMinute: 1_000, burst: 20 };
  assert.deepEqual(workStillDue(both, { tokens: 300, requests: 1 }, 100), { tokens: 200, requests: 0 });
  assert.deepEqual(workStillDue(both, { tokens: 50_000, requests: 800 }, 100), { tokens: 900, requests: 19 });
  assert.deepEqual(workStillDue(both, { tokens: 50, requests: 4 }, 100), { tokens: 0, requests: 3 });
  const off: RateLimits = { requestsPerMinute: null, tokensPerMinute: null, burst: 20 };
  assert.deepEqual(workStillDue(off, { tokens: 50_000, requests: 800 }, 0), { tokens: 0, requests: 0 });
});

test("prompts × n completions drain the request bucket: the next request gets 429", async () => {
  const limits: RateLimits = { requestsPerMinute: 60, tokensPerMinute: null, burst: 10 };
  const { limiter } = spyLimiter();
  const step = rateLimit(limiter);
  const batch = stepContext({ url: "/v1/completions", headers: { "content-length": "100" } });
  batch.ctx.access = userAccess("bob", limits);
  assert.equal(await runStep(step, batch.ctx), "passed");
  await batch.ctx.chargeWork?.({ tokens: 0, requests: 200 * 4 });
  const next = stepContext({ url: "/v1/completions", headers: { "content-length": "100" } });
  next.ctx.access = userAccess("bob", limits);
  assert.equal(await runStep(step, next.ctx), "rate_limited");
});
