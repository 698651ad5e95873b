import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { postJson } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";
import { type RunningRedis, startRedis } from "../support/redis-server.js";

/**
 * rateLimit.redis: the buckets live in a real redis-server (started here on a free loopback
 * port), so two gateway processes enforce one limit together; when Redis goes away, requests
 * pass uncounted (fail open) and the gateway says so.
 */
describe("rate limits shared through Redis", () => {
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
      assert.ok(gateway.output().includes('"status":429'));
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
    assert.match(neverUp.output(), /rate-limit store \(redis\) unavailable/);
  });
});
