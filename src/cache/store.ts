import type { CachedAnswer } from "./answer.js";

/** Counters a store keeps of itself; null where a shared store cannot tell (Redis). */
export interface StoreStats {
  readonly entries: number | null;
  readonly bytes: number | null;
  /** Entries dropped to stay within maxEntries/maxBytes (memory store only). */
  readonly evictions: number;
  /** Entries dropped because their ttl passed (memory store only). */
  readonly expirations: number;
  /** Lookups or writes that failed (a Redis that is down); each was treated as a miss. */
  readonly errors: number;
}

/**
 * Where cached answers live: in this process (memory-store.ts) or in Redis, shared by several
 * gateways (redis-store.ts). A store never throws into the request path: a lookup that fails is
 * a miss, a write that fails is dropped, each counted in `errors` and logged at most once per
 * interval.
 */
export interface CacheStore {
  readonly kind: "memory" | "redis";
  /** The answer stored under `key`, or null (absent, expired, or the store is unavailable). */
  get(key: string): CachedAnswer | null | Promise<CachedAnswer | null>;
  /** Stores `answer` under `key` for the store's ttl; an answer over maxEntryBytes is not stored. */
  set(key: string, answer: CachedAnswer): void;
  /** Drops every entry of this gateway's cache; resolves with how many were dropped. */
  clear(): Promise<number>;
  stats(): StoreStats;
  /** Connects (Redis); resolves even when the store is unavailable (it then only misses). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** What bounds a store's entries (cache.* in the config). */
export interface StoreLimits {
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** An answer larger than this is never stored. */
  readonly maxEntryBytes: number;
  readonly ttlMs: number;
}
