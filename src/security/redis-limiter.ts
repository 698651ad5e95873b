import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { RateLimits } from "../config/security-types.js";
import { RedisConnection } from "../util/redis-client.js";
import type { LimitDecision, Limiter } from "./limiter.js";
import { BUCKET_SCRIPT } from "./redis-bucket.lua.js";
import { type LimitSpec, quotaHeaders, specOf } from "./token-bucket.js";

const KEY_PREFIX = "llamawrapper:ratelimit:";
/** A rate limit must never hold a request long: past this, Redis is treated as down. */
const COMMAND_TIMEOUT_MS = 1_000;
const CONNECT_WAIT_MS = 5_000;

const ADMIT_UNCOUNTED: LimitDecision = { allowed: true, retryAfterMs: 0, headers: {} };

function bucketArgs(spec: LimitSpec): string[] {
  return [
    String(spec.requests?.capacity ?? -1),
    String(spec.requests?.perMs ?? 0),
    String(spec.tokens?.capacity ?? -1),
    String(spec.tokens?.perMs ?? 0),
  ];
}

/**
 * Buckets in Redis, shared by every gateway pointed at it. When Redis cannot answer in time the
 * request is admitted uncounted (fail open) and a warning is logged: a rate limiter that is
 * down must not take the gateway down with it. The URL is never logged (it may hold a password).
 */
export class RedisLimiter implements Limiter {
  readonly #redis: RedisConnection;
  readonly #sha = createHash("sha1").update(BUCKET_SCRIPT).digest("hex");

  constructor(url: string, log: Logger) {
    this.#redis = new RedisConnection(
      url,
      { commandMs: COMMAND_TIMEOUT_MS, connectMs: CONNECT_WAIT_MS },
      log,
      "rate-limit store (redis) unavailable: requests are admitted uncounted",
    );
  }

  ready(): Promise<void> {
    return this.#redis.ready();
  }

  async take(bucket: string, limits: RateLimits, tokens: number, count = 1): Promise<LimitDecision> {
    const spec = specOf(limits);
    try {
      const [allowed, requests, tokenLevel, wait] = await this.#run(bucket, [
        ...bucketArgs(spec),
        String(tokens),
        "take",
        "0",
        String(count),
      ]);
      const state = { requests: Number(requests), tokens: Number(tokenLevel), at: 0 };
      return { allowed: allowed === 1, retryAfterMs: Number(wait), headers: quotaHeaders(spec, state) };
    } catch (error) {
      this.#redis.warn(error);
      return ADMIT_UNCOUNTED;
    }
  }

  settle(bucket: string, limits: RateLimits, tokenDelta: number): void {
    if (tokenDelta === 0 || limits.tokensPerMinute === null) return;
    const args = [...bucketArgs(specOf(limits)), "0", "adjust", String(tokenDelta)];
    this.#run(bucket, args).catch((error: unknown) => this.#redis.warn(error));
  }

  close(): Promise<void> {
    return this.#redis.close();
  }

  async #run(bucket: string, args: string[]): Promise<[number, string, string, string]> {
    const key = KEY_PREFIX + bucket;
    try {
      return (await this.#redis.client.evalsha(this.#sha, 1, key, ...args)) as [
        number,
        string,
        string,
        string,
      ];
    } catch (error) {
      if (!String((error as Error).message).startsWith("NOSCRIPT")) throw error;
      return (await this.#redis.client.eval(BUCKET_SCRIPT, 1, key, ...args)) as [
        number,
        string,
        string,
        string,
      ];
    }
  }
}
