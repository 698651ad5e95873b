import assert from "node:assert/strict";
import { test } from "node:test";
import { answerBytes, type CachedAnswer } from "./answer.js";
import { MemoryStore } from "./memory-store.js";
import type { StoreLimits } from "./store.js";

const LIMITS: StoreLimits = { maxEntries: 3, maxBytes: 1_000_000, maxEntryBytes: 100_000, ttlMs: 60_000 };

/** A clock the test moves; it starts above 0 (lru-cache reads a start time of 0 as "no ttl"). */
function clock(start = 1_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

/** A chat answer whose answerBytes is exactly `bytes` ("chat" counts 4). */
function answer(bytes = 20, fill = "x"): CachedAnswer {
  return { kind: "chat", json: fill.repeat(bytes - 4) };
}

test("the entry bound drops the least recently used entry, and a hit counts as a use", () => {
  const store = new MemoryStore(LIMITS, clock().now);
  store.set("a", answer());
  store.set("b", answer());
  store.set("c", answer());
  assert.ok(store.get("a"), "a is now the most recently used");
  store.set("d", answer());
  assert.equal(store.get("b"), null, "b was the least recently used");
  for (const key of ["a", "c", "d"]) assert.ok(store.get(key), key);
  assert.deepEqual(store.stats(), { entries: 3, bytes: 60, evictions: 1, expirations: 0, errors: 0 });
});

test("the byte bound drops as many old entries as a new one needs", () => {
  const store = new MemoryStore(
    { ...LIMITS, maxEntries: 100, maxBytes: 100, maxEntryBytes: 100 },
    clock().now,
  );
  for (const key of ["a", "b", "c", "d"]) store.set(key, answer(25));
  assert.equal(store.stats().bytes, 100);
  store.set("big", answer(60));
  assert.equal(store.get("a"), null);
  assert.equal(store.get("b"), null);
  assert.equal(store.get("c"), null);
  assert.ok(store.get("d"));
  assert.ok(store.get("big"));
  assert.deepEqual(store.stats(), { entries: 2, bytes: 85, evictions: 3, expirations: 0, errors: 0 });
});

test("an answer over maxEntryBytes is not stored and pushes nothing out", () => {
  const store = new MemoryStore({ ...LIMITS, maxEntryBytes: 50 }, clock().now);
  store.set("small", answer(50));
  store.set("large", answer(51));
  assert.ok(store.get("small"), "exactly maxEntryBytes fits");
  assert.equal(store.get("large"), null);
  assert.deepEqual(store.stats(), { entries: 1, bytes: 50, evictions: 0, expirations: 0, errors: 0 });
});

test("maxEntryBytes above maxBytes: an answer over maxBytes does not fit and empties nothing", () => {
  const store = new MemoryStore({ ...LIMITS, maxBytes: 40, maxEntryBytes: 1_000 }, clock().now);
  store.set("a", answer(20));
  store.set("huge", answer(41));
  assert.equal(store.get("huge"), null);
  assert.ok(store.get("a"));
});

test("bytes are counted as UTF-8, kind included", () => {
  const store = new MemoryStore(LIMITS, clock().now);
  const accented: CachedAnswer = { kind: "embedding", json: '"é"' };
  store.set("k", accented);
  assert.equal(store.stats().bytes, answerBytes(accented));
  assert.equal(answerBytes(accented), 4 + "embedding".length);
});

test("an entry expires ttlMs after it was stored; a hit does not extend it", () => {
  const c = clock();
  const store = new MemoryStore({ ...LIMITS, ttlMs: 1_000 }, c.now);
  store.set("a", answer());
  c.t += 600;
  store.set("b", answer());
  assert.ok(store.get("a"));
  c.t += 400;
  assert.ok(store.get("a"), "exactly ttlMs old is still fresh");
  c.t += 1;
  assert.equal(store.get("a"), null);
  assert.ok(store.get("b"));
  c.t += 600;
  assert.deepEqual(store.stats(), { entries: 0, bytes: 0, evictions: 0, expirations: 2, errors: 0 });
});

test("an expired entry pushed out for room counts as an expiration, not an eviction", () => {
  const c = clock();
  const store = new MemoryStore({ ...LIMITS, maxEntries: 2, ttlMs: 1_000 }, c.now);
  store.set("old", answer());
  c.t += 2_000;
  store.set("b", answer());
  store.set("c", answer());
  store.set("d", answer());
  assert.deepEqual(store.stats(), { entries: 2, bytes: 40, evictions: 1, expirations: 1, errors: 0 });
});

test("storing under a key again replaces the answer and its bytes, dropping nothing", () => {
  const store = new MemoryStore(LIMITS, clock().now);
  store.set("a", answer(20, "x"));
  store.set("a", answer(30, "y"));
  assert.equal(store.get("a")?.json, "y".repeat(26));
  assert.deepEqual(store.stats(), { entries: 1, bytes: 30, evictions: 0, expirations: 0, errors: 0 });
});

test("clear drops every live entry, says how many, and counts none as evicted", async () => {
  const c = clock();
  const store = new MemoryStore({ ...LIMITS, ttlMs: 1_000 }, c.now);
  store.set("stale", answer());
  c.t += 2_000;
  store.set("a", answer());
  store.set("b", answer());
  assert.equal(await store.clear(), 2, "the expired entry was already gone");
  assert.equal(store.get("a"), null);
  assert.deepEqual(store.stats(), { entries: 0, bytes: 0, evictions: 0, expirations: 1, errors: 0 });
  assert.equal(await store.clear(), 0);
  store.set("again", answer());
  assert.ok(store.get("again"), "usable after clear");
});

test("kind, ready and close", async () => {
  const store = new MemoryStore(LIMITS);
  assert.equal(store.kind, "memory");
  await store.ready();
  store.set("a", answer());
  assert.ok(store.get("a"), "the real clock works too");
  await store.close();
});
