import assert from "node:assert/strict";
import { test } from "node:test";
import { closeResponse, runStep, stepContext } from "../../../test/support/step-context.js";
import type { RateLimits } from "../../config/security-types.js";
import { keyAccess, openAccess, publicAccess } from "../../security/access.js";
import type { LimitDecision, Limiter } from "../../security/limiter.js";
import { MemoryLimiter } from "../../security/memory-limiter.js";
import { estimatePromptTokens, rateLimit } from "./rate-limit.js";

const TWO: RateLimits = { requestsPerMinute: 2, tokensPerMinute: null, burst: 2 };

/** A limiter that records what the step asked of it. */
function spyLimiter(inner: Limiter = new MemoryLimiter(() => 0)) {
  const takes: Array<{ bucket: string; tokens: number }> = [];
  const settles: Array<{ bucket: string; delta: number }> = [];
  const limiter: Limiter = {
    take: (bucket, limits, tokens): LimitDecision | Promise<LimitDecision> => {
      takes.push({ bucket, tokens });
      return inner.take(bucket, limits, tokens);
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
    Promise.resolve(step(ctx)),
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
