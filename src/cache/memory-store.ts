import { LRUCache } from "lru-cache";
import { answerBytes, type CachedAnswer } from "./answer.js";
import type { CacheStore, StoreLimits, StoreStats } from "./store.js";

/**
 * Cached answers in this process, bounded three ways: at most maxEntries entries, at most
 * maxBytes of answer text, each entry for at most ttlMs. Past either size bound the least
 * recently used entry goes (a hit counts as a use). Expired entries are dropped lazily, when
 * looked up, pushed out, or when stats() or clear() sweeps them.
 */
export class MemoryStore implements CacheStore {
  readonly kind = "memory";
  readonly #cache: LRUCache<string, CachedAnswer>;
  #evictions = 0;
  #expirations = 0;

  /** `now` replaces the clock ttls are measured with (tests); it must never return 0. */
  constructor(limits: StoreLimits, now?: () => number) {
    this.#cache = new LRUCache<string, CachedAnswer>({
      max: limits.maxEntries,
      maxSize: limits.maxBytes,
      sizeCalculation: answerBytes,
      // Over maxBytes lru-cache would empty itself trying to make room; such an entry just
      // does not fit, whatever maxEntryBytes says.
      maxEntrySize: Math.min(limits.maxEntryBytes, limits.maxBytes),
      ttl: limits.ttlMs,
      // Read the clock on every check instead of caching it for 1 ms behind a timer: a
      // performance.now() is cheaper than that timer, and an injected clock is seen at once.
      ttlResolution: 0,
      ...(now === undefined ? {} : { perf: { now } }),
      dispose: (_answer, key, reason) => this.#dropped(key, reason),
    });
  }

  get(key: string): CachedAnswer | null {
    return this.#cache.get(key) ?? null;
  }

  set(key: string, answer: CachedAnswer): void {
    this.#cache.set(key, answer);
  }

  async clear(): Promise<number> {
    this.#cache.purgeStale();
    const dropped = this.#cache.size;
    this.#cache.clear();
    return dropped;
  }

  /** Sweeps expired entries first (one pass; stats are read per scrape, not per request). */
  stats(): StoreStats {
    this.#cache.purgeStale();
    return {
      entries: this.#cache.size,
      bytes: this.#cache.calculatedSize,
      evictions: this.#evictions,
      expirations: this.#expirations,
      errors: 0,
    };
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {
    this.#cache.clear();
  }

  /**
   * lru-cache calls a stale entry pushed out for room an eviction; here it counts as an
   * expiration, so `evictions` says only how often the size bounds cost a live answer.
   */
  #dropped(key: string, reason: LRUCache.DisposeReason): void {
    if (reason === "expire" || (reason === "evict" && this.#cache.getRemainingTTL(key) < 0)) {
      this.#expirations++;
    } else if (reason === "evict") {
      this.#evictions++;
    }
  }
}
