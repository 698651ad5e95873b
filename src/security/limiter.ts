import type { RateLimits } from "../config/security-types.js";

/** The answer to one request's take: admitted or not, and the quota headers to send either way. */
export interface LimitDecision {
  readonly allowed: boolean;
  readonly retryAfterMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Where the buckets live: in this process, or in Redis so that several gateways share them.
 * `bucket` names a key (`key:NAME`) or a client address (`addr:IP`).
 */
export interface Limiter {
  /** Takes `requests` (default 1) and `tokens`, both or neither (token-bucket.ts `take`). */
  take(
    bucket: string,
    limits: RateLimits,
    tokens: number,
    requests?: number,
  ): LimitDecision | Promise<LimitDecision>;
  /** Corrects the token count once the answer's usage is known; never throws. */
  settle(bucket: string, limits: RateLimits, tokenDelta: number): void;
  /** Resolves once the store can answer (Redis connected), or when it gave up trying. */
  ready(): Promise<void>;
  close(): Promise<void>;
}
