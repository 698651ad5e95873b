import type { RateLimits } from "../config/security-types.js";

/** One bucket: holds at most `capacity`, refills `perMs` every millisecond. */
export interface BucketSpec {
  readonly capacity: number;
  readonly perMs: number;
  /** `capacity` as the X-RateLimit-Limit header's text, made once. */
  readonly limitText: string;
}

/** A caller's two buckets; null where that limit is off. */
export interface LimitSpec {
  readonly requests: BucketSpec | null;
  readonly tokens: BucketSpec | null;
}

/** Levels at time `at`; a level may go below zero when usage turns out above the estimate. */
export interface BucketState {
  readonly requests: number;
  readonly tokens: number;
  readonly at: number;
}

export interface TakeResult {
  readonly allowed: boolean;
  readonly state: BucketState;
  /** When refused: ms until both buckets hold enough. */
  readonly retryAfterMs: number;
}

const MINUTE_MS = 60_000;

/**
 * Requests: a bucket of `burst` (never more than a minute's worth, or a full bucket plus its
 * refill would let more than requestsPerMinute through in a minute) refilling at the per-minute
 * rate. Tokens: a bucket of one minute's worth.
 */
export function specOf(limits: RateLimits): LimitSpec {
  let spec = specs.get(limits);
  if (spec === undefined) {
    const rpm = limits.requestsPerMinute;
    const tpm = limits.tokensPerMinute;
    spec = {
      requests: rpm === null ? null : bucketSpec(Math.min(limits.burst, rpm), rpm / MINUTE_MS),
      tokens: tpm === null ? null : bucketSpec(tpm, tpm / MINUTE_MS),
    };
    specs.set(limits, spec);
  }
  return spec;
}

/** Limits objects come from the config (one per key and default): their specs are made once. */
const specs = new WeakMap<RateLimits, LimitSpec>();

function bucketSpec(capacity: number, perMs: number): BucketSpec {
  return { capacity, perMs, limitText: String(capacity) };
}

function level(spec: BucketSpec | null, previous: number | undefined, elapsedMs: number): number {
  if (spec === null) return 0;
  if (previous === undefined) return spec.capacity;
  return Math.min(spec.capacity, previous + elapsedMs * spec.perMs);
}

function refill(prev: BucketState | undefined, spec: LimitSpec, now: number): BucketState {
  const elapsed = prev === undefined ? 0 : Math.max(0, now - prev.at);
  return {
    requests: level(spec.requests, prev?.requests, elapsed),
    tokens: level(spec.tokens, prev?.tokens, elapsed),
    at: now,
  };
}

function wait(spec: BucketSpec | null, have: number, need: number): number {
  return spec === null || have >= need ? 0 : (need - have) / spec.perMs;
}

/**
 * Takes `requests` requests and `tokens` estimated tokens, both or neither. More than a bucket
 * holds only needs a full bucket, or it could never pass. `requests` is 0 when a request that
 * was already admitted is charged the rest of its work once its body was read.
 */
export function take(
  prev: BucketState | undefined,
  spec: LimitSpec,
  tokens: number,
  now: number,
  requests = 1,
): TakeResult {
  const state = refill(prev, spec, now);
  const needRequests = spec.requests === null ? 0 : Math.min(requests, spec.requests.capacity);
  const needTokens = spec.tokens === null ? 0 : Math.min(tokens, spec.tokens.capacity);
  const retryAfterMs = Math.max(
    wait(spec.requests, state.requests, needRequests),
    wait(spec.tokens, state.tokens, needTokens),
  );
  if (retryAfterMs > 0) return { allowed: false, state, retryAfterMs };
  return {
    allowed: true,
    retryAfterMs: 0,
    state: { requests: state.requests - needRequests, tokens: state.tokens - needTokens, at: now },
  };
}

/** Corrects the token level once the answer's real usage is known (`delta` may be negative). */
export function adjust(
  prev: BucketState | undefined,
  spec: LimitSpec,
  delta: number,
  now: number,
): BucketState {
  const state = refill(prev, spec, now);
  if (spec.tokens === null) return state;
  // Debt is capped at one bucket, so one huge answer cannot lock a key out for long.
  const tokens = Math.min(spec.tokens.capacity, Math.max(-spec.tokens.capacity, state.tokens - delta));
  return { ...state, tokens };
}

/** ms until both buckets are full again: after that the state carries no information. */
export function msUntilFull(state: BucketState, spec: LimitSpec): number {
  const full = (bucket: BucketSpec | null, have: number) =>
    bucket === null ? 0 : Math.max(0, (bucket.capacity - have) / bucket.perMs);
  return Math.max(full(spec.requests, state.requests), full(spec.tokens, state.tokens));
}

/**
 * X-RateLimit-Limit/Remaining/Reset describe the request bucket (Reset: seconds until it is
 * full again); the -Tokens variants the token bucket, as OpenAI names them.
 */
export function quotaHeaders(spec: LimitSpec, state: BucketState): Record<string, string> {
  const headers: Record<string, string> = {};
  const requests = spec.requests;
  if (requests !== null) {
    headers["x-ratelimit-limit"] = requests.limitText;
    headers["x-ratelimit-remaining"] = remainingText(state.requests);
    headers["x-ratelimit-reset"] = resetText(requests, state.requests);
  }
  const tokens = spec.tokens;
  if (tokens !== null) {
    headers["x-ratelimit-limit-tokens"] = tokens.limitText;
    headers["x-ratelimit-remaining-tokens"] = remainingText(state.tokens);
    headers["x-ratelimit-reset-tokens"] = resetText(tokens, state.tokens);
  }
  return headers;
}

function remainingText(have: number): string {
  return String(Math.max(0, Math.floor(have)));
}

/** Seconds until the bucket is full again. */
function resetText(bucket: BucketSpec, have: number): string {
  return String(Math.ceil(Math.max(0, bucket.capacity - have) / bucket.perMs / 1000));
}
