/**
 * The validated, resolved, frozen configuration every other part receives.
 * Produced only by config/load.ts; durations are milliseconds, sizes bytes, paths absolute.
 */
import type { AuthConfig, CorsConfig, RateLimitConfig, ServerTrafficConfig } from "./security-types.js";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/** How a model's llama-server is started. */
export type LaunchSpec =
  /** `model:` form: the gateway builds the argv: binary -m model --host 127.0.0.1 --port P --api-key K ...args. */
  | { readonly kind: "model"; readonly model: string; readonly args: readonly string[] }
  /** `cmd:` form: a full argv; `${PORT}`, `${MODEL}`, `${API_KEY}` are substituted at spawn time. */
  | { readonly kind: "cmd"; readonly cmd: readonly string[] }
  /** No local process: only `upstreams` serve the model. */
  | { readonly kind: "none" };

/** A remote server of a model (docs/upstreams.md). */
export interface UpstreamConfig {
  /** `<host:port>` or the name given; instances are named `<model>@<name>`. */
  readonly name: string;
  /** Base URL without a trailing slash; request paths are appended. */
  readonly url: string;
  /** Sent as `Authorization: Bearer`; null = none. Read from keyEnv or keyFile at load. */
  readonly apiKey: string | null;
  /** The model name asked of it; requests' `model` is rewritten to it. */
  readonly model: string;
  readonly maxConcurrent: number;
  readonly healthPath: string;
}

/** Active and passive checks of remote upstreams. */
export interface UpstreamHealthConfig {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly fall: number;
  readonly rise: number;
  readonly ejectAfter: number;
  readonly ejectTimeMs: number;
  readonly maxEjectTimeMs: number;
}

export interface ModelConfig {
  readonly id: string;
  readonly launch: LaunchSpec;
  readonly aliases: readonly string[];
  /** Aliases that resolve but are not listed by GET /v1/models. */
  readonly unlistedAliases: readonly string[];
  /** Local llama-server processes (0 with launch kind none). */
  readonly instances: number;
  /** Remote servers besides (or instead of) the local instances. */
  readonly upstreams: readonly UpstreamConfig[];
  /** Spawn → /health 200 budget. */
  readonly startupTimeoutMs: number;
  /** SIGTERM → SIGKILL grace. */
  readonly stopTimeoutMs: number;
  /** Extra environment for the child. */
  readonly env: Readonly<Record<string, string>>;
  /** Shown as `owned_by` in /v1/models. */
  readonly ownedBy: string;
  /** Never evicted to make room. */
  readonly pinned: boolean;
  /** Started with the gateway. */
  readonly preload: boolean;
  /** Unloaded after this long idle; null = never. */
  readonly ttlMs: number | null;
  /** Requests in flight per instance before the gateway queues (llama-server's slots). */
  readonly maxConcurrent: number;
  /** Requests that may wait for this model. */
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
  /** Deadline for llama-server's first response byte (a non-streaming answer comes whole); then 504. */
  readonly firstByteTimeoutMs: number;
  /** Memory this model needs for the budget; null = estimate from the GGUF file. */
  readonly memoryBytes: number | null;
  /** Whether its answers may be cached (cache.enabled must be on too). */
  readonly cache: boolean;
  /** Conversation-affine routing across its instances and slots (docs/routing.md). */
  readonly affinity: boolean;
  /**
   * Slots each llama-server child has when the gateway knows it (the -np value, or llama-server's
   * automatic 4 for a `model:` entry without one); null for a `cmd:` entry without -np. Requests
   * are pinned to slots (id_slot) only when this equals maxConcurrent.
   */
  readonly llamaSlots: number | null;
  /** Its slots' KV caches are saved at unload and restored (kvCache.enabled must be on too). */
  readonly kvCache: boolean;
  /** Whether its children expose llama.cpp's /metrics, merged into the gateway's. */
  readonly metrics: boolean;
  /** Its SLA objectives (the top-level default with its own overrides). */
  readonly sla: SlaObjectives;
  /** The file it was discovered from (discovery.dir, --models-dir); null when the config names it. */
  readonly discoveredFrom: string | null;
}

export interface ServerConfig extends ServerTrafficConfig {
  readonly host: string;
  readonly port: number;
  readonly bodyLimitBytes: number;
  /** Absolute deadline for request headers (slowloris). */
  readonly headersTimeoutMs: number;
  /** How long graceful shutdown drains in-flight requests. */
  readonly shutdownTimeoutMs: number;
  /** Whether /upstream/{model}/... forwards to llama-server (admin keys only). */
  readonly upstreamPassthrough: boolean;
}

/** Service-level objectives of a model (docs/metrics.md). */
export interface SlaObjectives {
  /** Time-to-first-token objective of streamed requests; null = none. */
  readonly ttftMs: number | null;
  /** Whole-request duration objective; null = none. */
  readonly latencyMs: number | null;
  /** Share of requests that must be good, in [0, 1). */
  readonly availability: number;
  readonly windowMs: number;
}

export interface HistoryConfig {
  /** Recent requests kept in memory. */
  readonly size: number;
  /** Absolute path of the JSON-lines file; null = memory only. */
  readonly file: string | null;
  readonly maxFileBytes: number;
}

/** The response cache (docs/cache.md). */
export interface CacheConfig {
  readonly enabled: boolean;
  readonly maxEntries: number;
  readonly maxBytes: number;
  /** An answer larger than this is never stored. */
  readonly maxEntryBytes: number;
  readonly ttlMs: number;
  /** redis:// URL of a store shared by several gateways; null = in this process. */
  readonly redis: string | null;
}

/** Slots' KV caches saved across unloads (docs/routing.md). */
export interface KvCacheConfig {
  readonly enabled: boolean;
  /** Absolute folder; null = kv/ in the gateway's cache folder. */
  readonly dir: string | null;
  readonly maxBytes: number;
  readonly saveTimeoutMs: number;
}

export interface GatewayConfig {
  /** Absolute path of the file this came from, or null when built in code. */
  readonly source: string | null;
  readonly server: ServerConfig;
  readonly llamaServer: {
    /** null = auto: `llama-server` on PATH, else the binary `llamawrapper setup` built. */
    readonly binary: string | null;
    /** `model:` children on Unix sockets in a private folder (process/child-sockets.ts), not ports. */
    readonly sockets: boolean;
  };
  readonly scheduler: {
    readonly maxLoadedModels: number;
    /** null = no memory budget, only maxLoadedModels. */
    readonly memoryBudgetBytes: number | null;
    /** `memoryBudget: auto`: the budget is the free GPU memory minus memoryMarginBytes, read at start and reload. */
    readonly memoryBudgetAuto: boolean;
    readonly memoryMarginBytes: number;
    /** First wait of a `failed` model before it tries again by itself; doubles up to maxCoolDownMs. */
    readonly coolDownMs: number;
    readonly maxCoolDownMs: number;
    /** How long reordering may hold back a request for a model that is not loaded (0 = FIFO across models). */
    readonly swapDelayMs: number;
  };
  readonly logging: {
    readonly level: LogLevel;
    /** Absolute path of the log file; null = stdout. */
    readonly file: string | null;
  };
  readonly cache: CacheConfig;
  readonly kvCache: KvCacheConfig;
  readonly upstreamHealth: UpstreamHealthConfig;
  /** The default SLA objectives (a model's own are in its ModelConfig). */
  readonly sla: SlaObjectives;
  readonly history: HistoryConfig;
  readonly dashboard: { readonly enabled: boolean; readonly public: boolean };
  readonly cors: CorsConfig;
  readonly auth: AuthConfig;
  readonly rateLimit: RateLimitConfig;
  readonly discovery: {
    /** Absolute folder whose .gguf files are served as models; null = none. */
    readonly dir: string | null;
    readonly maxContext: number;
  };
  /** Model used when a request names none; an id or alias. */
  readonly defaultModel: string | null;
  readonly models: Readonly<Record<string, ModelConfig>>;
}

/** One thing wrong with a config file, with the dotted path of the key it is about. */
export interface ConfigProblem {
  readonly path: string;
  readonly message: string;
}

export type ConfigResult =
  | { readonly ok: true; readonly config: GatewayConfig }
  | { readonly ok: false; readonly problems: readonly ConfigProblem[] };
