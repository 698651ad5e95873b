import type { Logger } from "pino";
import type { Limiter } from "./limiter.js";
import { MemoryLimiter } from "./memory-limiter.js";

/** The limiter for `rateLimit.redis`: in this process when null, else shared through Redis. */
export function createLimiter(redisUrl: string | null, log: Logger): Limiter {
  return redisUrl === null ? new MemoryLimiter() : lazyRedisLimiter(redisUrl, log);
}

/**
 * The Redis limiter, loaded only when `rateLimit.redis` is set: ioredis adds about 20 MB to the
 * resident size of a gateway that never talks to Redis. The gateway's listen() awaits ready()
 * before the server accepts anything, so take() never runs before the real limiter exists.
 */
function lazyRedisLimiter(url: string, log: Logger): Limiter {
  let inner: Limiter | null = null;
  const loaded = import("./redis-limiter.js").then(({ RedisLimiter }) => {
    inner = new RedisLimiter(url, log);
    return inner;
  });
  const limiter = (): Limiter => {
    if (inner === null) throw new Error("the Redis rate limiter was used before ready()");
    return inner;
  };
  return {
    take: (bucket, limits, tokens) => limiter().take(bucket, limits, tokens),
    settle: (bucket, limits, delta) => limiter().settle(bucket, limits, delta),
    ready: async () => (await loaded).ready(),
    close: async () => (await loaded).close(),
  };
}
