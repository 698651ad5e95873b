import type { Logger } from "pino";
import { MemoryStore } from "./memory-store.js";
import type { CacheStore, StoreLimits } from "./store.js";

/** The store for `cache.redis`: in this process when null, else shared through Redis. */
export function createStore(redisUrl: string | null, limits: StoreLimits, log: Logger): CacheStore {
  return redisUrl === null ? new MemoryStore(limits) : lazyRedisStore(redisUrl, limits, log);
}

/**
 * The Redis store, loaded only when `cache.redis` is set: ioredis adds about 20 MB to the
 * resident size of a gateway that never talks to Redis. Until the module is loaded the store
 * behaves as an empty cache that keeps nothing (lookups miss, writes are dropped) rather than
 * throwing: for a cache that is a correct answer, whoever calls it first.
 */
function lazyRedisStore(url: string, limits: StoreLimits, log: Logger): CacheStore {
  let inner: CacheStore | null = null;
  const loaded = import("./redis-store.js").then(({ RedisStore }) => {
    inner = new RedisStore(url, limits, log);
    return inner;
  });
  return {
    kind: "redis",
    get: (key) => inner?.get(key) ?? null,
    set: (key, answer) => inner?.set(key, answer),
    clear: async () => (await loaded).clear(),
    stats: () => inner?.stats() ?? { entries: null, bytes: null, evictions: 0, expirations: 0, errors: 0 },
    ready: async () => (await loaded).ready(),
    close: async () => (await loaded).close(),
  };
}
