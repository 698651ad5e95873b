import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { type Json, sseData } from "../fixtures/fake/client.js";
import { admin, modelStatus } from "../support/admin-client.js";
import { testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { type RunningRedis, redisServerMissing, startRedis } from "../support/redis-server.js";
import { stopClean } from "../support/stop-clean.js";

const skip = redisServerMissing() ?? false;

/**
 * cache.redis with two real gateway processes in front of the real llama-server and one real
 * redis-server (started here): an answer one gateway got from llama-server is a hit on the
 * other, which never even starts its llama-server for it. A Redis that goes away costs misses,
 * never a failed request.
 */
describe("the response cache shared through Redis", { skip }, () => {
  let redis: RunningRedis;
  let a: RunningGateway;
  let b: RunningGateway;
  /** The test's own connection, to see when a gateway's write (sent after its answer) landed. */
  let raw: Redis;

  before(async () => {
    const assets = await testAssets();
    redis = await startRedis();
    const config = {
      llamaServer: { binary: assets.llamaServer },
      cache: { redis: redis.url },
      models: {
        tiny: { model: assets.tinyModel, args: ["-c", "512", "-np", "1"], aliases: ["gpt-4o-mini"] },
      },
    };
    [a, b] = await Promise.all([startGateway(config), startGateway(config)]);
    raw = new Redis(redis.url);
  });

  after(async () => {
    raw.disconnect();
    await Promise.all([stopClean(a), stopClean(b)]);
    await redis.stop();
  });

  const storedKeys = async (): Promise<number> => (await raw.keys("llamawrapper:cache:*")).length;

  /** Waits until `count` answers are in Redis: a gateway writes its answer after sending it. */
  const landed = (count: number) =>
    waitFor(`${count} answers in Redis`, async () => ((await storedKeys()) === count ? true : undefined));

  async function chat(
    g: RunningGateway,
    content: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ cache: string | null; json: Json; text: string }> {
    const started = performance.now();
    const res = await fetch(`${g.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content }],
        max_tokens: 8,
        temperature: 0,
        ...extra,
      }),
    });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    assert.ok(performance.now() - started < 10_000, "no request waits on the cache store");
    if (extra.stream === true) {
      const chunks = sseData(body)
        .slice(0, -1)
        .map((e) => JSON.parse(e) as Json);
      const text = chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("");
      return { cache: res.headers.get("x-cache"), json: { chunks }, text };
    }
    const json = JSON.parse(body) as Json;
    return { cache: res.headers.get("x-cache"), json, text: json.choices[0].message.content };
  }

  const cacheStats = async (g: RunningGateway): Promise<Json> =>
    (await admin(g, "GET", "/admin/status")).body.cache as Json;

  test("an answer one gateway got from llama-server is a HIT on the other, which never calls its own", async () => {
    const first = await chat(a, "redis: shared");
    assert.equal(first.cache, "MISS");
    assert.match(first.text, /[a-z]/);
    await landed(1);

    const onB = await chat(b, "redis: shared", { model: "gpt-4o-mini" });
    assert.equal(onB.cache, "HIT");
    assert.equal(onB.text, first.text);
    assert.equal(onB.json.model, "gpt-4o-mini");
    assert.notEqual(onB.json.id, first.json.id);
    const streamed = await chat(b, "redis: shared", { stream: true });
    assert.equal(streamed.cache, "HIT");
    assert.equal(streamed.text, first.text);
    const model = await modelStatus(b, "tiny");
    assert.equal(model.state, "unloaded", "B answered from Redis without starting llama-server");
    assert.deepEqual(
      (model.instances as Json[]).map((i) => [i.state, i.pid, i.readySince]),
      [["stopped", null, null]],
      "its llama-server never ran",
    );

    assert.equal((await chat(a, "redis: shared")).cache, "HIT");
    const statsB = await cacheStats(b);
    assert.equal(statsB.store, "redis");
    assert.equal(statsB.entries, null, "a shared store has no count of its own");
    assert.equal(statsB.hits, 2);
    assert.equal(statsB.errors, 0);
  });

  test("POST /admin/cache/clear on one gateway empties the shared store for both", async () => {
    assert.equal((await chat(a, "redis: to clear")).cache, "MISS");
    await landed(2);
    assert.equal((await chat(b, "redis: to clear")).cache, "HIT");
    const cleared = await admin(a, "POST", "/admin/cache/clear");
    assert.equal(cleared.status, 200);
    assert.deepEqual(cleared.body, { cleared: 2, store: "redis" });
    assert.equal(await storedKeys(), 0);
    assert.equal((await chat(b, "redis: to clear")).cache, "MISS");
    await landed(1);
    assert.equal((await chat(a, "redis: to clear")).cache, "HIT", "B's answer reached A");
  });

  test("Redis stops: requests still succeed, as misses, and the gateway warns", async () => {
    assert.equal((await chat(a, "redis: before it stops")).cache, "MISS");
    await landed(2);
    assert.equal((await chat(a, "redis: before it stops")).cache, "HIT");
    raw.disconnect();
    await redis.stop();
    for (let i = 0; i < 3; i++) {
      const answer = await chat(a, "redis: before it stops");
      assert.equal(answer.cache, "MISS", `request ${i} after Redis stopped`);
      assert.match(answer.text, /[a-z]/);
    }
    assert.equal((await chat(a, "redis: before it stops", { stream: true })).cache, "MISS");
    await waitFor("the warning", () =>
      a.output().includes("response cache store (redis) unavailable") ? true : undefined,
    );
    assert.ok(!a.output().includes(redis.url), "the Redis URL (it may hold a password) is not logged");
    assert.ok((await cacheStats(a)).errors >= 4);
  });
});
