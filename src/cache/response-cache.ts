import type { CacheConfig, ModelConfig } from "../config/types.js";
import { type AnswerKind, answerBytes, type CachedAnswer } from "./answer.js";
import { cacheKey } from "./cache-key.js";
import { answerKindOf, clientDirectives, notDeterministic } from "./cacheable.js";
import { Flights } from "./flights.js";
import { LaunchFingerprints } from "./launch-fingerprint.js";
import { type Recorder, recorder } from "./recorder.js";
import type { CacheStore, StoreStats } from "./store.js";

/** What the cache does for one request. */
export type CachePlan =
  /** A route the cache does not serve: no X-Cache header, the access log's cacheHit stays null. */
  | { readonly kind: "none" }
  /** Not looked up nor stored (X-Cache: BYPASS); the reason is for the debug log. */
  | { readonly kind: "bypass"; readonly reason: string }
  | {
      readonly kind: "cache";
      readonly key: string;
      readonly answer: AnswerKind;
      /** Look the key up and join an identical request in flight (not with no-cache). */
      readonly lookup: boolean;
      /** Keep the answer (not with no-store). */
      readonly store: boolean;
    };

export interface PlanInput {
  readonly route: string;
  readonly model: ModelConfig;
  /** The llama-server binary the model runs. */
  readonly binary: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** The request's Cache-Control header. */
  readonly cacheControl: string | undefined;
}

/** The cache's numbers for the admin API (and later metrics). */
export interface CacheStats extends StoreStats {
  readonly enabled: boolean;
  readonly store: "memory" | "redis";
  readonly maxEntries: number;
  readonly maxBytes: number;
  readonly maxEntryBytes: number;
  readonly ttlMs: number;
  readonly hits: number;
  readonly misses: number;
  readonly bypasses: number;
  /** Requests answered by joining an identical request in flight (also counted in hits). */
  readonly coalesced: number;
  /** Answers written to the store. */
  readonly stored: number;
  /** Requests waiting for an identical one in flight now. */
  readonly waiting: number;
}

/**
 * The response cache (docs/cache.md): which requests it serves, their keys, lookups, the
 * identical requests in flight, the answers it keeps and its counters. It lives as long as the
 * gateway's cache settings do: a reload that keeps them keeps every entry (a model whose launch
 * settings changed gets new keys), one that changes them builds a new cache.
 */
export class ResponseCache {
  readonly config: CacheConfig;
  readonly flights = new Flights();
  readonly #store: CacheStore;
  readonly #fingerprints = new LaunchFingerprints();
  #hits = 0;
  #misses = 0;
  #bypasses = 0;
  #coalesced = 0;
  #stored = 0;

  constructor(config: CacheConfig, store: CacheStore) {
    this.config = config;
    this.#store = store;
  }

  /**
   * What to do for a request; synchronous except for a cacheable request to a model whose launch
   * fingerprint is not known yet (its first one: the key needs the model file's identity).
   */
  plan(input: PlanInput): CachePlan | Promise<CachePlan> {
    const answer = answerKindOf(input.route);
    if (answer === null) return { kind: "none" };
    const bypass = (reason: string): CachePlan => {
      this.#bypasses++;
      return { kind: "bypass", reason };
    };
    if (!this.config.enabled) return bypass("the cache is off (cache.enabled)");
    if (!input.model.cache) return bypass(`the cache is off for model ${input.model.id}`);
    const why = notDeterministic(answer, input.body);
    if (why !== null) return bypass(why);
    const directives = clientDirectives(input.cacheControl);
    if (directives.noCache && directives.noStore) return bypass("Cache-Control: no-cache, no-store");
    if (directives.noCache) this.#bypasses++;
    const planOf = (fingerprint: string): CachePlan => ({
      kind: "cache",
      key: cacheKey(input.route, input.model.id, fingerprint, input.body),
      answer,
      lookup: !directives.noCache,
      store: !directives.noStore,
    });
    // Known once the model's first request looked at its files: no turn of the loop after that.
    const fingerprint = this.#fingerprints.of(input.model, input.binary);
    return typeof fingerprint === "string" ? planOf(fingerprint) : fingerprint.then(planOf);
  }

  /** The stored answer for `key`, counted as a hit; null counts nothing (see missed()). */
  async lookup(key: string): Promise<CachedAnswer | null> {
    const found = await this.#store.get(key);
    if (found !== null) this.#hits++;
    return found;
  }

  /** A looked-up request went to llama-server. */
  missed(): void {
    this.#misses++;
  }

  /** A request got the answer of an identical one in flight. */
  coalesced(): void {
    this.#hits++;
    this.#coalesced++;
  }

  recorder(answer: AnswerKind, streamed: boolean): Recorder {
    return recorder(answer, streamed, this.config.maxEntryBytes);
  }

  /** Stores an answer; one larger than maxEntrySize (or, in memory, maxBytes) is not kept. */
  keep(key: string, answer: CachedAnswer): void {
    const limit =
      this.#store.kind === "memory"
        ? Math.min(this.config.maxEntryBytes, this.config.maxBytes)
        : this.config.maxEntryBytes;
    if (answerBytes(answer) > limit) return;
    this.#stored++;
    this.#store.set(key, answer);
  }

  clear(): Promise<number> {
    return this.#store.clear();
  }

  stats(): CacheStats {
    const { config } = this;
    return {
      enabled: config.enabled,
      store: this.#store.kind,
      maxEntries: config.maxEntries,
      maxBytes: config.maxBytes,
      maxEntryBytes: config.maxEntryBytes,
      ttlMs: config.ttlMs,
      ...this.#store.stats(),
      hits: this.#hits,
      misses: this.#misses,
      bypasses: this.#bypasses,
      coalesced: this.#coalesced,
      stored: this.#stored,
      waiting: this.flights.counts().waiters,
    };
  }

  ready(): Promise<void> {
    return this.#store.ready();
  }

  close(): Promise<void> {
    return this.#store.close();
  }
}
