import type { RateLimits } from "../config/security-types.js";
import type { LimitDecision, Limiter } from "./limiter.js";
import { adjust, type BucketState, msUntilFull, quotaHeaders, specOf, take } from "./token-bucket.js";

interface Entry {
  state: BucketState;
  /** When the buckets are full again; after that the entry can be forgotten. */
  fullAt: number;
}

/** Every this many takes, entries whose buckets have refilled are dropped. */
const SWEEP_EVERY = 1024;

/**
 * Buckets in this process. Node runs one callback at a time and take() does not await, so a
 * burst of simultaneous requests is admitted exactly up to the bucket, never more.
 */
export class MemoryLimiter implements Limiter {
  readonly #buckets = new Map<string, Entry>();
  readonly #now: () => number;
  #takes = 0;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  take(bucket: string, limits: RateLimits, tokens: number, requests = 1): LimitDecision {
    const now = this.#now();
    if (++this.#takes % SWEEP_EVERY === 0) this.#sweep(now);
    const spec = specOf(limits);
    const result = take(this.#buckets.get(bucket)?.state, spec, tokens, now, requests);
    this.#buckets.set(bucket, { state: result.state, fullAt: now + msUntilFull(result.state, spec) });
    return {
      allowed: result.allowed,
      retryAfterMs: result.retryAfterMs,
      headers: quotaHeaders(spec, result.state),
    };
  }

  settle(bucket: string, limits: RateLimits, tokenDelta: number): void {
    if (tokenDelta === 0 || limits.tokensPerMinute === null) return;
    const now = this.#now();
    const spec = specOf(limits);
    const state = adjust(this.#buckets.get(bucket)?.state, spec, tokenDelta, now);
    this.#buckets.set(bucket, { state, fullAt: now + msUntilFull(state, spec) });
  }

  /** How many buckets are remembered (for tests of the sweep). */
  get size(): number {
    return this.#buckets.size;
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#buckets.clear();
  }

  #sweep(now: number): void {
    for (const [bucket, entry] of this.#buckets) if (entry.fullAt <= now) this.#buckets.delete(bucket);
  }
}
