import { resolve } from "node:path";
import { connectionsAllowedBy, readDescriptorLimit } from "../util/descriptor-limit.js";
import type { ParsedConfig } from "./schema.js";
import type {
  AdminKeyConfig,
  ApiKeyConfig,
  AuthConfig,
  CorsConfig,
  KeySecret,
  RateLimitConfig,
  RateLimits,
  ServerTrafficConfig,
} from "./security-types.js";

type Parsed = ParsedConfig;

/**
 * `descriptorLimit` is read when the config is resolved (at start and on each reload), for
 * maxConnections: auto; tests pass their own.
 */
export function resolveServerTraffic(
  server: Parsed["server"],
  descriptorLimit: () => number | null = readDescriptorLimit,
): ServerTrafficConfig {
  const maxConnections =
    server.maxConnections === "auto" ? connectionsAllowedBy(descriptorLimit()) : server.maxConnections;
  return {
    // Node refuses a request deadline shorter than the headers deadline.
    requestTimeoutMs: Math.max(server.requestTimeout, server.headersTimeout),
    maxHeaderBytes: server.maxHeaderSize,
    maxConnections,
    // Behind a proxy every connection comes from the proxy's address: a per-client cap would cap
    // the proxy, so by default it is the whole cap there.
    maxConnectionsPerClient: Math.min(
      maxConnections,
      server.maxConnectionsPerClient ??
        (server.trustProxy > 0 ? maxConnections : Math.max(1, Math.floor(maxConnections / 2))),
    ),
    firstByteTimeoutMs: server.firstByteTimeout,
    streamIdleTimeoutMs: server.streamIdleTimeout,
    minStreamRate: { bytesPerSecond: server.minStreamRate ?? 0, windowMs: server.streamRateWindow },
    maxResponseBufferBytes: server.maxResponseBuffer,
    requestLimits: {
      maxJsonDepth: server.requestLimits.maxJsonDepth,
      maxPrompts: server.requestLimits.maxPrompts,
      maxN: server.requestLimits.maxN,
      maxTools: server.requestLimits.maxTools,
      maxSchemaBytes: server.requestLimits.maxSchemaSize,
    },
    trustProxy: server.trustProxy,
    allowedHosts: server.allowedHosts.map((host) => host.toLowerCase()),
  };
}

export function resolveCors(cors: Parsed["cors"]): CorsConfig {
  return {
    origins: cors.origins,
    methods: cors.methods,
    headers: cors.headers.map((name) => name.toLowerCase()),
    exposeHeaders: cors.exposeHeaders.map((name) => name.toLowerCase()),
    credentials: cors.credentials,
    maxAgeSeconds: Math.floor(cors.maxAge / 1000),
  };
}

export function resolveRateLimit(rateLimit: Parsed["rateLimit"]): RateLimitConfig {
  return {
    requestsPerMinute: rateLimit.requestsPerMinute,
    tokensPerMinute: rateLimit.tokensPerMinute,
    burst: rateLimit.burst,
    redis: rateLimit.redis,
  };
}

type ApiKeyEntry = Parsed["auth"]["apiKeys"][number];
type AdminKeyEntry = Parsed["auth"]["adminKeys"][number];

function secretOf(
  entry: { key?: string | undefined; keyFile?: string | undefined },
  baseDir: string,
): KeySecret {
  return entry.key !== undefined
    ? { kind: "inline", key: entry.key }
    : { kind: "file", path: resolve(baseDir, entry.keyFile ?? "") };
}

function limitsFor(entry: ApiKeyEntry, defaults: RateLimits): RateLimits {
  if (typeof entry === "string" || entry.rateLimit === undefined) return defaults;
  const own = entry.rateLimit;
  return {
    requestsPerMinute:
      own.requestsPerMinute === undefined ? defaults.requestsPerMinute : own.requestsPerMinute,
    tokensPerMinute: own.tokensPerMinute === undefined ? defaults.tokensPerMinute : own.tokensPerMinute,
    burst: own.burst ?? defaults.burst,
  };
}

function apiKey(entry: ApiKeyEntry, index: number, baseDir: string, defaults: RateLimits): ApiKeyConfig {
  if (typeof entry === "string") {
    return {
      name: `apiKeys[${index}]`,
      secret: { kind: "inline", key: entry },
      models: null,
      routes: null,
      rateLimit: defaults,
    };
  }
  return {
    name: entry.name,
    secret: secretOf(entry, baseDir),
    models: entry.models ?? null,
    routes: entry.routes ?? null,
    rateLimit: limitsFor(entry, defaults),
  };
}

function adminKey(entry: AdminKeyEntry, index: number, baseDir: string): AdminKeyConfig {
  if (typeof entry === "string")
    return { name: `adminKeys[${index}]`, secret: { kind: "inline", key: entry } };
  return { name: entry.name, secret: secretOf(entry, baseDir) };
}

/** Key files stay paths here: the gateway reads them when it starts, so the secret is fresh. */
export function resolveAuth(parsed: Parsed, baseDir: string): AuthConfig {
  const defaults = resolveRateLimit(parsed.rateLimit);
  const limits: RateLimits = {
    requestsPerMinute: defaults.requestsPerMinute,
    tokensPerMinute: defaults.tokensPerMinute,
    burst: defaults.burst,
  };
  return {
    apiKeys: parsed.auth.apiKeys.map((entry, i) => apiKey(entry, i, baseDir, limits)),
    adminKeys: parsed.auth.adminKeys.map((entry, i) => adminKey(entry, i, baseDir)),
    publicMetrics: parsed.auth.publicMetrics,
  };
}
