import type { Logger } from "pino";
import { RedisConnection } from "../util/redis-client.js";
import { type AnswerKind, answerBytes, type CachedAnswer } from "./answer.js";
import type { CacheStore, StoreLimits, StoreStats } from "./store.js";

const KEY_PREFIX = "llamawrapper:cache:";
/** A cache lookup must never hold a request long: past this, Redis counts as down (a miss). */
const COMMAND_TIMEOUT_MS = 300;
/** How long ready() waits for a first connection (it delays the gateway's start). */
const CONNECT_WAIT_MS = 2_000;
/** While Redis is down, one warning per this interval, not one per request. */
/** Keys per SCAN step and per UNLINK in clear(). */
const CLEAR_BATCH = 500;
const KINDS: ReadonlySet<string> = new Set<AnswerKind>(["chat", "text", "embedding"]);

/** `<kind>\n<json>`: the JSON text stored as is, not wrapped in another JSON string. */
function encode(answer: CachedAnswer): string {
  return `${answer.kind}\n${answer.json}`;
}

/** The answer in a stored value, or null for one this version cannot read (a miss). */
function decode(value: string): CachedAnswer | null {
  const newline = value.indexOf("\n");
  const kind = value.slice(0, Math.max(newline, 0));
  return KINDS.has(kind) ? { kind: kind as AnswerKind, json: value.slice(newline + 1) } : null;
}

/**
 * Cached answers in Redis, shared by every gateway pointed at it. A Redis that is down or slow
 * costs misses, never failed requests: every command fails at once while disconnected (no
 * offline queue) or after COMMAND_TIMEOUT_MS, and is counted in `errors`.
 *
 * What bounds Redis's memory: here, the ttl (SET ... PX) and maxEntryBytes per entry; maxEntries
 * and maxBytes are not enforced (no gateway sees the whole key space). The total is the Redis
 * server's to bound: its `maxmemory` with an `allkeys-lru` (or `volatile-lru`) policy, set by the
 * operator. The URL is never logged (it may hold a password).
 */
export class RedisStore implements CacheStore {
  readonly kind = "redis";
  readonly #redis: RedisConnection;
  readonly #limits: StoreLimits;
  #errors = 0;

  constructor(url: string, limits: StoreLimits, log: Logger) {
    this.#limits = limits;
    this.#redis = new RedisConnection(
      url,
      { commandMs: COMMAND_TIMEOUT_MS, connectMs: CONNECT_WAIT_MS },
      log,
      "response cache store (redis) unavailable: lookups are misses",
    );
  }

  ready(): Promise<void> {
    return this.#redis.ready();
  }

  async get(key: string): Promise<CachedAnswer | null> {
    try {
      const value = await this.#redis.client.get(KEY_PREFIX + key);
      return value === null ? null : decode(value);
    } catch (error) {
      this.#failed(error);
      return null;
    }
  }

  set(key: string, answer: CachedAnswer): void {
    if (answerBytes(answer) > this.#limits.maxEntryBytes) return;
    this.#redis.client
      .set(KEY_PREFIX + key, encode(answer), "PX", this.#limits.ttlMs)
      .catch((error: unknown) => this.#failed(error));
  }

  /** SCAN + UNLINK in batches; when Redis fails midway, resolves with what was dropped so far. */
  async clear(): Promise<number> {
    let dropped = 0;
    let cursor = "0";
    try {
      do {
        const [next, keys] = await this.#redis.client.scan(
          cursor,
          "MATCH",
          `${KEY_PREFIX}*`,
          "COUNT",
          CLEAR_BATCH,
        );
        cursor = next;
        if (keys.length > 0) dropped += await this.#redis.client.unlink(...keys);
      } while (cursor !== "0");
    } catch (error) {
      this.#failed(error);
    }
    return dropped;
  }

  stats(): StoreStats {
    return { entries: null, bytes: null, evictions: 0, expirations: 0, errors: this.#errors };
  }

  close(): Promise<void> {
    return this.#redis.close();
  }

  #failed(error: unknown): void {
    this.#errors++;
    this.#redis.warn(error);
  }
}
