import { Redis } from "ioredis";

/**
 * A Redis client for a store the request path uses (the shared rate limiter, the response
 * cache): it connects when told (ready), fails a command at once while disconnected instead of
 * queueing it, gives up on a command after `commandTimeoutMs`, and reconnects with back-off.
 * Errors go to `onError` (the caller warns, rate-limited); the URL is never logged here.
 * Imported only by the lazily loaded Redis modules, so ioredis stays out of a gateway without Redis.
 */
export function redisClient(
  url: string,
  timeouts: { readonly commandMs: number; readonly connectMs: number },
  onError: (error: Error) => void,
): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: timeouts.commandMs,
    connectTimeout: timeouts.connectMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
  });
  client.on("error", onError);
  return client;
}
