import { isAbsolute, resolve } from "node:path";
import type { Env } from "./env-subst.js";
import { readKeyFile } from "./key-file.js";
import { resolveAuth, resolveCors, resolveRateLimit, resolveServerTraffic } from "./resolve-security.js";
import type { ParsedConfig } from "./schema.js";
import type { GatewayConfig, LaunchSpec, ModelConfig, SlaObjectives, UpstreamConfig } from "./types.js";

/**
 * Builds the GatewayConfig from a schema-valid, checked config. Paths become absolute against
 * the config file's folder, so nothing later depends on the process's working directory. A
 * program name without `/` is left as is: it is looked up on PATH when spawned.
 */
export function resolveConfig(
  parsed: ParsedConfig,
  baseDir: string,
  source: string | null,
  env: Env = {},
): GatewayConfig {
  const sla = slaOf(parsed.sla);
  const models: Record<string, ModelConfig> = {};
  for (const [id, model] of Object.entries(parsed.models)) {
    const launch: LaunchSpec =
      model.cmd !== undefined
        ? { kind: "cmd", cmd: model.cmd.map((arg, i) => (i === 0 ? resolveProgram(arg, baseDir) : arg)) }
        : model.model !== undefined
          ? { kind: "model", model: resolve(baseDir, model.model), args: model.args }
          : { kind: "none" };
    models[id] = {
      id,
      launch,
      aliases: model.aliases,
      unlistedAliases: model.unlistedAliases,
      instances: launch.kind === "none" ? 0 : model.instances,
      upstreams: model.upstreams.map((upstream) => resolveUpstream(upstream, id, baseDir, env)),
      startupTimeoutMs: model.startupTimeout,
      stopTimeoutMs: model.stopTimeout,
      // llama-server's environment form of --metrics: works for `cmd:` entries too.
      env: model.metrics ? { ...model.env, LLAMA_ARG_ENDPOINT_METRICS: "1" } : model.env,
      ownedBy: model.ownedBy,
      pinned: model.pinned,
      preload: model.preload,
      ttlMs: model.ttl,
      maxConcurrent: model.maxConcurrent ?? slotsFromArgs(model.args) ?? LLAMA_SERVER_AUTO_SLOTS,
      maxQueue: model.maxQueue ?? parsed.scheduler.maxQueue,
      queueTimeoutMs: model.queueTimeout ?? parsed.scheduler.queueTimeout,
      firstByteTimeoutMs: model.firstByteTimeout ?? parsed.server.firstByteTimeout,
      memoryBytes: model.memory,
      cache: model.cache,
      metrics: model.metrics,
      affinity: model.affinity,
      llamaSlots: llamaSlots(model),
      kvCache: model.kvCache,
      sla: modelSla(sla, model.sla),
      discoveredFrom: null,
    };
  }
  const binary = parsed.llamaServer.binary;
  return {
    source: source === null || isAbsolute(source) ? source : resolve(source),
    server: {
      host: parsed.server.host,
      port: parsed.server.port,
      bodyLimitBytes: parsed.server.bodyLimit,
      headersTimeoutMs: parsed.server.headersTimeout,
      shutdownTimeoutMs: parsed.server.shutdownTimeout,
      upstreamPassthrough: parsed.server.upstreamPassthrough,
      ...resolveServerTraffic(parsed.server),
    },
    llamaServer: {
      binary: binary === null ? null : resolveProgram(binary, baseDir),
      sockets: parsed.llamaServer.sockets,
    },
    scheduler: {
      maxLoadedModels: parsed.scheduler.maxLoadedModels,
      memoryBudgetBytes: parsed.scheduler.memoryBudget === "auto" ? null : parsed.scheduler.memoryBudget,
      memoryBudgetAuto: parsed.scheduler.memoryBudget === "auto",
      memoryMarginBytes: parsed.scheduler.memoryMargin,
      coolDownMs: parsed.scheduler.coolDown,
      maxCoolDownMs: Math.max(parsed.scheduler.coolDown, parsed.scheduler.maxCoolDown),
      swapDelayMs: parsed.scheduler.swapDelay,
    },
    logging: {
      level: parsed.logging.level,
      file: parsed.logging.file === null ? null : resolve(baseDir, parsed.logging.file),
    },
    cache: {
      enabled: parsed.cache.enabled,
      maxEntries: parsed.cache.maxEntries,
      maxBytes: parsed.cache.maxBytes,
      maxEntryBytes: parsed.cache.maxEntrySize,
      ttlMs: parsed.cache.ttl,
      redis: parsed.cache.redis,
    },
    sla,
    kvCache: {
      enabled: parsed.kvCache.enabled,
      dir: parsed.kvCache.dir === null ? null : resolve(baseDir, parsed.kvCache.dir),
      maxBytes: parsed.kvCache.maxSize,
      saveTimeoutMs: parsed.kvCache.saveTimeout,
    },
    upstreamHealth: {
      intervalMs: parsed.upstreamHealth.interval,
      timeoutMs: parsed.upstreamHealth.timeout,
      fall: parsed.upstreamHealth.fall,
      rise: parsed.upstreamHealth.rise,
      ejectAfter: parsed.upstreamHealth.ejectAfter,
      ejectTimeMs: parsed.upstreamHealth.ejectTime,
      maxEjectTimeMs: Math.max(parsed.upstreamHealth.ejectTime, parsed.upstreamHealth.maxEjectTime),
    },
    history: {
      size: parsed.history.size,
      file: parsed.history.file === null ? null : resolve(baseDir, parsed.history.file),
      maxFileBytes: parsed.history.maxFileSize,
    },
    dashboard: { enabled: parsed.dashboard.enabled, public: parsed.dashboard.public },
    cors: resolveCors(parsed.cors),
    auth: resolveAuth(parsed, baseDir),
    rateLimit: resolveRateLimit(parsed.rateLimit),
    discovery: {
      dir: parsed.discovery.dir === null ? null : resolve(baseDir, parsed.discovery.dir),
      maxContext: parsed.discovery.maxContext,
    },
    defaultModel: parsed.defaultModel,
    models,
  };
}

function slaOf(fields: ParsedConfig["sla"]): SlaObjectives {
  return {
    ttftMs: fields.ttft,
    latencyMs: fields.latency,
    availability: fields.availability,
    windowMs: fields.window,
  };
}

/** A model's objectives: each field it gives replaces the default (null turns one off). */
function modelSla(defaults: SlaObjectives, own: ParsedConfig["models"][string]["sla"]): SlaObjectives {
  if (own === undefined) return defaults;
  return {
    ttftMs: own.ttft === undefined ? defaults.ttftMs : own.ttft,
    latencyMs: own.latency === undefined ? defaults.latencyMs : own.latency,
    availability: own.availability ?? defaults.availability,
    windowMs: own.window ?? defaults.windowMs,
  };
}

function resolveProgram(program: string, baseDir: string): string {
  return program.includes("/") ? resolve(baseDir, program) : program;
}

/** llama-server's slot count when -np is not given (n_parallel = -1 → 4, tools/server/server.cpp). */
const LLAMA_SERVER_AUTO_SLOTS = 4;

/** The `-np N` / `--parallel N` / `--parallel=N` the user passed, if any. */
function slotsFromArgs(args: readonly string[]): number | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? "";
    const [flag, inline] = arg.split("=", 2);
    if (flag !== "-np" && flag !== "--parallel") continue;
    const value = Number(inline ?? args[i + 1]);
    if (Number.isInteger(value) && value > 0) return value;
  }
  return null;
}

/** The slots a child of this model will have, when the gateway can tell (see ModelConfig.llamaSlots). */
function llamaSlots(model: {
  readonly cmd?: readonly string[] | undefined;
  readonly args: readonly string[];
}): number | null {
  if (model.cmd !== undefined) return slotsFromArgs(model.cmd);
  return slotsFromArgs(model.args) ?? LLAMA_SERVER_AUTO_SLOTS;
}

type ParsedUpstream = ParsedConfig["models"][string]["upstreams"][number];

/** An upstream with its key read (env or file: checked by upstreamProblems before) and its name. */
function resolveUpstream(
  upstream: ParsedUpstream,
  modelId: string,
  baseDir: string,
  env: Env,
): UpstreamConfig {
  const url = new URL(upstream.url);
  let apiKey: string | null = null;
  if (upstream.keyEnv !== undefined) apiKey = env[upstream.keyEnv] ?? null;
  if (upstream.keyFile !== undefined) {
    try {
      apiKey = readKeyFile(resolve(baseDir, upstream.keyFile));
    } catch {
      apiKey = null;
    }
  }
  return {
    name: upstream.name ?? url.host,
    url: upstream.url.replace(/\/+$/, ""),
    apiKey,
    model: upstream.model ?? modelId,
    maxConcurrent: upstream.maxConcurrent,
    healthPath: upstream.healthPath,
  };
}
