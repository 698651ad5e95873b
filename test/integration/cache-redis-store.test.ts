import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import pino from "pino";
import type { CachedAnswer } from "../../src/cache/answer.js";
import { createStore } from "../../src/cache/create-store.js";
import { RedisStore } from "../../src/cache/redis-store.js";
import type { StoreLimits } from "../../src/cache/store.js";
import { waitFor } from "../support/deadline.js";
import { type RunningRedis, redisServerMissing, startRedis } from "../support/redis-server.js";

const skip = redisServerMissing() ?? false;
const LIMITS: StoreLimits = { maxEntries: 10, maxBytes: 10_000, maxEntryBytes: 1_000, ttlMs: 60_000 };
const ANSWER: CachedAnswer = { kind: "chat", json: '{"object":"chat.completion","choices":[]}' };
const PREFIX = "llamawrapper:cache:";

/** A logger whose lines the test reads. */
function capturedLog() {
  const lines: string[] = [];
  return { lines, log: pino({ level: "info" }, { write: (line: string) => lines.push(line) }) };
}

const silent = () => pino({ level: "silent" });

/**
 * cache.redis: answers live in a real redis-server (started here on a free loopback port), shared
 * by every gateway pointed at it; a Redis that goes away costs misses, never errors or waits.
 */
describe("the response cache in Redis", { skip }, () => {
  let redis: RunningRedis;
  let raw: Redis;
  const stores: RedisStore[] = [];
  const open = async (limits = LIMITS) => {
    const store = new RedisStore(redis.url, limits, silent());
    stores.push(store);
    await store.ready();
    return store;
  };

  before(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
  });

  after(async () => {
    await Promise.all(stores.map((store) => store.close()));
    raw.disconnect();
    await redis.stop();
  });

  test("an answer stored by one gateway is found by another, with the store's ttl", async () => {
    const [a, b] = [await open(), await open()];
    assert.equal(a.kind, "redis");
    assert.equal(await b.get("k1"), null, "a miss before");
    a.set("k1", ANSWER);
    const found = await waitFor("the entry to reach the other store", () =>
      b.get("k1").then((x) => x ?? undefined),
    );
    assert.deepEqual(found, ANSWER);
    assert.deepEqual(await a.get("k1"), ANSWER);
    const pttl = await raw.pttl(`${PREFIX}k1`);
    assert.ok(pttl > 55_000 && pttl <= 60_000, `PTTL ${pttl}`);
    assert.equal(await raw.get(`${PREFIX}k1`), `chat\n${ANSWER.json}`, "kind, newline, the JSON as is");
    assert.deepEqual(a.stats(), { entries: null, bytes: null, evictions: 0, expirations: 0, errors: 0 });
  });

  test("an answer over maxEntryBytes is not stored", async () => {
    const store = await open({ ...LIMITS, maxEntryBytes: 100 });
    store.set("big", { kind: "text", json: "x".repeat(97) });
    store.set("fits", { kind: "text", json: "x".repeat(96) });
    // One connection keeps order: once the later write landed, the earlier one would have too.
    await waitFor("the later write", async () => ((await raw.exists(`${PREFIX}fits`)) ? true : undefined));
    assert.equal(await raw.exists(`${PREFIX}big`), 0);
    assert.equal(await store.get("big"), null);
  });

  test("a value this version cannot read is a miss, not an error", async () => {
    const store = await open();
    await raw.set(`${PREFIX}odd`, "no-kind-here");
    await raw.set(`${PREFIX}odd2`, "audio\n{}");
    assert.equal(await store.get("odd"), null);
    assert.equal(await store.get("odd2"), null);
    assert.equal(store.stats().errors, 0);
  });

  test("clear drops every cache key in batches and leaves other keys alone", async () => {
    const store = await open();
    await raw.flushall();
    const ours = Array.from({ length: 1_234 }, (_, i) => [`${PREFIX}n${i}`, `chat\n{"i":${i}}`]).flat();
    await raw.mset(...ours);
    await raw.set("llamawrapper:ratelimit:key:a", "1");
    await raw.set("someone-else:llamawrapper:cache:x", "1");
    assert.equal(await store.clear(), 1_234);
    assert.deepEqual((await raw.keys("*")).sort(), [
      "llamawrapper:ratelimit:key:a",
      "someone-else:llamawrapper:cache:x",
    ]);
    assert.equal(await store.clear(), 0);
  });

  test("createStore loads the Redis store lazily; before ready() it only misses", async () => {
    const store = createStore(redis.url, LIMITS, silent());
    assert.equal(store.kind, "redis");
    assert.equal(await store.get("k1"), null, "not loaded yet: a miss, no throw");
    store.set("early", ANSWER);
    assert.deepEqual(store.stats(), { entries: null, bytes: null, evictions: 0, expirations: 0, errors: 0 });
    await store.ready();
    store.set("lazy", ANSWER);
    assert.deepEqual(await waitFor("the write", async () => (await store.get("lazy")) ?? undefined), ANSWER);
    assert.equal(await raw.exists(`${PREFIX}early`), 0, "the write before ready() was dropped");
    await store.close();
    assert.equal(createStore(null, LIMITS, silent()).kind, "memory");
  });
});

describe("the response cache when Redis is down", { skip }, () => {
  test("Redis stops: lookups miss at once and are counted, writes do not throw, one warning", async () => {
    const redis = await startRedis();
    const { lines, log } = capturedLog();
    const store = new RedisStore(redis.url, LIMITS, log);
    try {
      await store.ready();
      store.set("k", ANSWER);
      await waitFor("the write", async () => (await store.get("k")) ?? undefined);
      await redis.stop();
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        assert.equal(await store.get("k"), null);
        const took = performance.now() - started;
        assert.ok(took < 1_000, `lookup ${i} took ${took.toFixed(0)} ms`);
        store.set("k", ANSWER);
      }
      await waitFor("the failed writes to be counted too", () =>
        store.stats().errors >= 10 ? true : undefined,
      );
      const warnings = lines.filter((line) => line.includes("response cache store (redis) unavailable"));
      assert.equal(warnings.length, 1, lines.join(""));
      assert.equal(await store.clear(), 0, "clear resolves with nothing dropped");
    } finally {
      await store.close();
      await redis.stop();
    }
  });

  test("nothing listening from the start: ready() resolves, lookups miss, the URL is not logged", async () => {
    const { lines, log } = capturedLog();
    // Port 1 on loopback: nothing listens there. The password must never reach the log.
    const store = new RedisStore("redis://:s3cret-pw@127.0.0.1:1", LIMITS, log);
    try {
      await store.ready();
      const started = performance.now();
      assert.equal(await store.get("k"), null);
      assert.ok(performance.now() - started < 1_000);
      store.set("k", ANSWER);
      assert.equal(await store.clear(), 0);
      assert.ok(store.stats().errors >= 2);
      assert.ok(lines.some((line) => line.includes("response cache store (redis) unavailable")));
      assert.ok(!lines.join("").includes("s3cret-pw"));
    } finally {
      await store.close();
    }
  });

  test("a Redis that accepts connections but never answers: ready() and lookups are bounded", async () => {
    const sockets: Socket[] = [];
    const hung = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const { port } = hung.address() as { port: number };
    const store = new RedisStore(`redis://127.0.0.1:${port}`, LIMITS, silent());
    try {
      let started = performance.now();
      await store.ready();
      assert.ok(performance.now() - started < 5_000, "ready() gives up on a silent server");
      for (let i = 0; i < 3; i++) {
        started = performance.now();
        assert.equal(await store.get("k"), null);
        assert.ok(performance.now() - started < 1_000, `lookup ${i} is bounded by the command timeout`);
      }
      assert.ok(store.stats().errors >= 3);
    } finally {
      await store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});
