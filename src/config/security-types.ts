/**
 * The resolved traffic-control and security sections of GatewayConfig (see types.ts).
 * Durations are milliseconds, sizes bytes, paths absolute.
 */

/** A token bucket per key (or per client address): null turns that limit off. */
export interface RateLimits {
  readonly requestsPerMinute: number | null;
  readonly tokensPerMinute: number | null;
  /** Most requests at once from a full bucket; capped at requestsPerMinute. */
  readonly burst: number;
}

export interface RateLimitConfig extends RateLimits {
  /** redis:// URL: counters shared by every gateway that uses it; null = in this process. */
  readonly redis: string | null;
}

/** Where a key's secret comes from; a file is read when the gateway starts. */
export type KeySecret =
  | { readonly kind: "inline"; readonly key: string }
  | { readonly kind: "file"; readonly path: string };

export interface ApiKeyConfig {
  /** What logs show instead of the key: its `name`, or `apiKeys[N]` for a plain string. */
  readonly name: string;
  readonly secret: KeySecret;
  /** Ids, aliases or globs (`gpt-*`) of the models it may use; null = every model. */
  readonly models: readonly string[] | null;
  /** Paths or globs (`/v1/*`) it may call; null = every non-admin route. */
  readonly routes: readonly string[] | null;
  /** Its own limits: the global rateLimit with this key's overrides applied. */
  readonly rateLimit: RateLimits;
}

export interface AdminKeyConfig {
  readonly name: string;
  readonly secret: KeySecret;
}

export interface AuthConfig {
  readonly apiKeys: readonly ApiKeyConfig[];
  readonly adminKeys: readonly AdminKeyConfig[];
  /** Whether /metrics answers without a key. */
  readonly publicMetrics: boolean;
}

export interface CorsConfig {
  /** Exact origins or globs (`https://*.example.com`); `*` = any. Empty = no cross-origin use. */
  readonly origins: readonly string[];
  readonly methods: readonly string[];
  /** Request headers a browser may send; `*` = whatever it asks for. */
  readonly headers: readonly string[];
  readonly exposeHeaders: readonly string[];
  readonly credentials: boolean;
  readonly maxAgeSeconds: number;
}

/** Shape limits on a request body, checked before it reaches llama-server (server.requestLimits). */
export interface RequestLimits {
  readonly maxJsonDepth: number;
  /** Entries in a batch input (prompt, input, documents, texts). */
  readonly maxPrompts: number;
  readonly maxN: number;
  readonly maxTools: number;
  /** Compact-JSON bytes of one JSON schema (response_format, json_schema, a tool's parameters). */
  readonly maxSchemaBytes: number;
}

/** server.minStreamRate over server.streamRateWindow; bytesPerSecond 0 = off. */
export interface StreamRate {
  /** Bytes per second a client must take, on average over windowMs, while the gateway waits on it. */
  readonly bytesPerSecond: number;
  readonly windowMs: number;
}

/** The server keys this issue added; ServerConfig extends it. */
export interface ServerTrafficConfig {
  /** The whole request (headers and body) must arrive within this; at least headersTimeout. */
  readonly requestTimeoutMs: number;
  readonly maxHeaderBytes: number;
  /**
   * Open client connections at once (maxConnections: auto = what the descriptor limit allows).
   * At the cap the longest-idle connection is closed to admit a newcomer (http/connection-guard.ts).
   */
  readonly maxConnections: number;
  /** Open connections per socket address; at most maxConnections. */
  readonly maxConnectionsPerClient: number;
  /** Deadline for llama-server's first response byte (a non-streaming answer comes whole). */
  readonly firstByteTimeoutMs: number;
  /** A stream that moves no byte this long, either way, is cut. */
  readonly streamIdleTimeoutMs: number;
  /** A client slower than this while the gateway waits on it is dropped (its upstream cancelled). */
  readonly minStreamRate: StreamRate;
  /** Most bytes of a non-streamed or error answer held in memory; past it a 502. */
  readonly maxResponseBufferBytes: number;
  readonly requestLimits: RequestLimits;
  /** Proxy hops whose X-Forwarded-For is believed; 0 = the socket's address only. */
  readonly trustProxy: number;
  /** Host names accepted besides loopback names (DNS-rebinding guard). */
  readonly allowedHosts: readonly string[];
}
