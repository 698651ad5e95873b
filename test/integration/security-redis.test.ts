import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import type { RateLimits } from "../../src/config/security-types.js";
import { RedisLimiter } from "../../src/security/redis-limiter.js";
import { postJson } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";
import { type RunningRedis, redisServerMissing, startRedis } from "../support/redis-server.js";

const skip = redisServerMissing() ?? false;

/**
 * rateLimit.redis: the buckets live in a real redis-server (started here on a free loopback
 * port), so two gateway processes enforce one limit together; when Redis goes away, requests
 * pass uncounted (fail open) and the gateway says so.
 */
describe("rate limits shared through Redis", { skip }, () => {
  let redis: RunningRedis;
  const gateways: RunningGateway[] = [];
  let neverUp: RunningGateway;

  before(async () => {
    redis = await startRedis();
    const config = {
      rateLimit: { requestsPerMinute: 10, burst: 10, redis: redis.url },
      models: { m: { cmd: fakeCmd(), maxConcurrent: 64 } },
    };
    // Port 1 on loopback: nothing listens there, so this one's Redis is down from the start.
    const down = { ...config, rateLimit: { requestsPerMinute: 1, burst: 1, redis: "redis://127.0.0.1:1" } };
    const started = await Promise.all([startGateway(config), startGateway(config), startGateway(down)]);
    gateways.push(started[0], started[1]);
    neverUp = started[2];
  });

  after(async () => {
    const all = [...gateways, neverUp];
    const groups = all.flatMap((g) => childGroups(g.process.pid ?? 0));
    const codes = await Promise.all(all.map((g) => g.stop()));
    await redis.stop();
    assert.deepEqual(codes, [0, 0, 0], all.map((g) => g.output().slice(-2000)).join("\n---\n"));
    await waitFor(
      "every child to be gone",
      () => (groupMembers(groups).length === 0 ? true : undefined),
      5_000,
    );
  });

  const chat = (gateway: RunningGateway) =>
    postJson(gateway.url, "/v1/chat/completions", {
      model: "m",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 2,
    });

  test("50 simultaneous requests spread over two gateways admit exactly 10 in all", async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => chat(gateways[i % 2] as RunningGateway)),
    );
    await Promise.all(answers.map((res) => res.arrayBuffer()));
    const statuses = answers.map((res) => res.status);
    assert.equal(statuses.filter((s) => s === 200).length, 10, `statuses: ${statuses.join(",")}`);
    assert.equal(statuses.filter((s) => s === 429).length, 40);
    const refused = answers.find((res) => res.status === 429);
    assert.ok(Number(refused?.headers.get("retry-after")) >= 1);
    assert.equal(refused?.headers.get("x-ratelimit-limit"), "10");
    assert.equal(refused?.headers.get("x-ratelimit-remaining"), "0");
    // Both gateways took part in admitting and in refusing: neither counted alone.
    for (const [index, gateway] of gateways.entries()) {
      const mine = statuses.filter((_, i) => i % 2 === index);
      assert.ok(mine.includes(429), `gateway ${index} refused some`);
      assert.ok((await gateway.loggedOutput()).includes('"status":429'));
    }
  });

  test("Redis down: requests pass uncounted (fail open) and the gateway warns", async () => {
    const [first] = gateways as [RunningGateway];
    const limited = await chat(first);
    assert.equal(limited.status, 429, "still limited while Redis is up");
    await limited.arrayBuffer();
    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const res = await chat(first);
      assert.equal(res.status, 200, "admitted although the shared bucket is empty");
      assert.equal(res.headers.get("x-ratelimit-limit"), null, "uncounted: no quota to report");
      await res.arrayBuffer();
    }
    await waitFor("the warning", () =>
      first.output().includes("rate-limit store (redis) unavailable") ? true : undefined,
    );
    assert.ok(!first.output().includes(redis.url), "the Redis URL (it may hold a password) is not logged");
  });

  test("Redis down from the start: the gateway starts, admits uncounted and warns", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await chat(neverUp);
      assert.equal(res.status, 200, "a limit of 1/min, yet admitted");
      await res.arrayBuffer();
    }
    assert.match(await neverUp.loggedOutput(), /rate-limit store \(redis\) unavailable/);
  });
});

/**
 * The Redis script against the in-process token bucket it mirrors (token-bucket.ts), driven
 * directly: same admissions, same token debt after usage is settled, same quota headers.
 */
describe("the Redis bucket script matches the in-memory bucket", { skip }, () => {
  let redis: RunningRedis;
  let limiter: RedisLimiter;

  before(async () => {
    redis = await startRedis();
    limiter = new RedisLimiter(redis.url, pino({ level: "silent" }));
    await limiter.ready();
  });

  after(async () => {
    await limiter.close();
    await redis.stop();
  });

  test("requests: a burst of 50 concurrent takes admits exactly the bucket", async () => {
    const limits: RateLimits = { requestsPerMinute: 10, tokensPerMinute: null, burst: 10 };
    const decisions = await Promise.all(
      Array.from({ length: 50 }, () => limiter.take("key:burst", limits, 0)),
    );
    assert.equal(decisions.filter((d) => d.allowed).length, 10);
    const refused = decisions.find((d) => !d.allowed);
    assert.ok(refused && refused.retryAfterMs > 5_000 && refused.retryAfterMs <= 6_000);
    assert.deepEqual(refused.headers, {
      "x-ratelimit-limit": "10",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": "60",
    });
  });

  test("tokens: the estimate is taken, settled usage becomes debt, and the next take waits for it", async () => {
    const limits: RateLimits = { requestsPerMinute: null, tokensPerMinute: 100, burst: 10 };
    const first = await limiter.take("key:tok", limits, 10);
    assert.equal(first.allowed, true);
    assert.equal(first.headers["x-ratelimit-remaining-tokens"], "90");
    limiter.settle("key:tok", limits, 150); // the answer used 160 tokens, not 10
    const next = await waitFor("the settle to land", async () => {
      const decision = await limiter.take("key:tok", limits, 1);
      return decision.allowed ? undefined : decision;
    });
    assert.equal(next.headers["x-ratelimit-remaining-tokens"], "0");
    // -60 tokens: 61 to refill at 100/min is 36.6 s (a few ms of Redis time may have passed).
    assert.ok(next.retryAfterMs > 36_000 && next.retryAfterMs <= 36_600, String(next.retryAfterMs));
    // A refund (no backend answered) gives the estimate back.
    assert.equal((await limiter.take("key:refund", limits, 100)).allowed, true);
    assert.equal((await limiter.take("key:refund", limits, 100)).allowed, false, "the bucket is empty");
    limiter.settle("key:refund", limits, -100);
    await waitFor("the refund to land", async () => {
      const decision = await limiter.take("key:refund", limits, 100);
      return decision.allowed ? decision : undefined;
    });
  });
});
