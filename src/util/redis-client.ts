import { Redis } from "ioredis";
import type { Logger } from "pino";

/** While Redis is down, one warning per this interval, not one per request. */
const WARN_EVERY_MS = 10_000;

/**
 * A Redis connection for a store the request path uses (the shared rate limiter, the response
 * cache): it connects when told (ready, which never throws), fails a command at once while
 * disconnected instead of queueing it, gives up on a command after `commandMs`, and reconnects
 * with back-off. Failures are logged at most once per 10 s with the store's own message; the
 * URL (it may hold a password) is never logged. Imported only by the lazily loaded Redis
 * modules, so ioredis stays out of a gateway without Redis.
 */
export class RedisConnection {
  readonly client: Redis;
  readonly #log: Logger;
  readonly #unavailable: string;
  #lastWarning = -Infinity;

  constructor(
    url: string,
    timeouts: { readonly commandMs: number; readonly connectMs: number },
    log: Logger,
    /** The warning's message, saying what the store does while Redis is down. */
    unavailable: string,
  ) {
    this.#log = log;
    this.#unavailable = unavailable;
    this.client = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: timeouts.commandMs,
      connectTimeout: timeouts.connectMs,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    });
    this.client.on("error", (error: Error) => this.warn(error));
  }

  async ready(): Promise<void> {
    try {
      await this.client.connect();
    } catch (error) {
      this.warn(error);
    }
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }

  warn(error: unknown): void {
    const now = performance.now();
    if (now - this.#lastWarning < WARN_EVERY_MS) return;
    this.#lastWarning = now;
    this.#log.warn({ err: (error as Error).message ?? String(error) }, this.#unavailable);
  }
}
