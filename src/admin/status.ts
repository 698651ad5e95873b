import type { ModelGroup } from "../scheduler/model-group.js";

/** The running generation as the admin API shows it. */
export interface GenerationFacts {
  readonly number: number;
  readonly configFile: string | null;
  /** SHA-256 of the config file's bytes as loaded. */
  readonly configHash: string | null;
  /** ms since epoch. */
  readonly loadedAt: number;
}

export interface StatusInput {
  readonly version: string;
  readonly startedAt: number;
  readonly now: number;
  readonly generation: GenerationFacts;
  readonly groups: readonly ModelGroup[];
  readonly retiring: readonly ModelGroup[];
  readonly limits: {
    readonly maxLoadedModels: number;
    readonly memoryBudgetBytes: number | null;
    readonly swapDelayMs: number;
  };
  /** The saved slots' folder (kvCache); null when it is off. */
  readonly kvCache: {
    readonly dir: string;
    readonly files: number;
    readonly bytes: number;
    readonly maxBytes: number;
  } | null;
  /** The scheduler's memory estimate of a model, when it has made one. */
  readonly memoryOf: (group: ModelGroup) => number | null;
  /** Waiting requests' facts (queued or loading), per model id. */
  readonly lastLines: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function modelStatus(input: StatusInput, group: ModelGroup): Record<string, unknown> {
  const model = group.model;
  const instances = group.instances();
  const failure = group.failure();
  const failedInstance = instances.find((instance) => instance.state === "failed");
  const state = instances.some((i) => i.state === "ready")
    ? "loaded"
    : instances.some((i) => i.state === "starting")
      ? "loading"
      : failure !== null
        ? "failed"
        : "unloaded";
  return {
    id: model.id,
    aliases: model.aliases,
    discoveredFrom: model.discoveredFrom,
    state,
    resident: group.resident,
    pinned: model.pinned,
    preload: model.preload,
    ttlSeconds: model.ttlMs === null ? null : model.ttlMs / 1000,
    lastUsedAt: group.lastUsedAt === 0 ? null : iso(group.lastUsedAt),
    inFlight: group.holds - group.waiting,
    queueDepth: group.waiting,
    maxConcurrent: model.maxConcurrent,
    routesByConversation: group.routesByConversation,
    memoryEstimateBytes: input.memoryOf(group),
    failure: failure?.message ?? null,
    retryAt: iso(failedInstance?.retryAt ?? null),
    instances: instances.map((instance) => ({
      name: instance.name,
      ...(instance.url === undefined ? {} : { remote: true, url: instance.url }),
      state: instance.state,
      pid: instance.pid,
      port: instance.port,
      // A local child on a Unix socket: its path (port null); null when on a port or not running.
      ...(instance.url === undefined ? { socket: instance.socket ?? null } : {}),
      readySince: iso(instance.readySince),
      uptimeSeconds:
        instance.readySince === null ? null : Math.round((input.now - instance.readySince) / 1000),
      restarts: instance.restarts,
      recentCrashes: instance.recentCrashes,
      inFlight: instance.inFlight,
      failure: instance.failure,
      retryAt: iso(instance.retryAt),
      // Why it failed is in its last output: admin eyes only (never in a user's error).
      ...(instance.state === "failed"
        ? { lastLines: lastLinesOf(group, instance.name, input.lastLines) }
        : {}),
    })),
  };
}

function lastLinesOf(group: ModelGroup, name: string, count: number): string[] {
  return (
    group
      .backends()
      .find((backend) => backend.name === name)
      ?.logs(count) ?? []
  );
}

/** GET /admin/status: the gateway, its config generation, and every model with its instances. */
export function statusReport(input: StatusInput): Record<string, unknown> {
  const models = input.groups.map((group) => modelStatus(input, group));
  return {
    version: input.version,
    startedAt: iso(input.startedAt),
    uptimeSeconds: Math.round((input.now - input.startedAt) / 1000),
    config: {
      file: input.generation.configFile,
      hash: input.generation.configHash,
      loadedAt: iso(input.generation.loadedAt),
      generation: input.generation.number,
    },
    scheduler: {
      maxLoadedModels: input.limits.maxLoadedModels,
      memoryBudgetBytes: input.limits.memoryBudgetBytes,
      swapDelaySeconds: input.limits.swapDelayMs / 1000,
      loadedModels: input.groups.filter((group) => group.resident).length,
    },
    kvCache: input.kvCache,
    models,
    retiring: input.retiring.map((group) => ({
      id: group.id,
      holds: group.holds,
      instances: group
        .instances()
        .map((i) => ({ name: i.name, state: i.state, pid: i.pid, inFlight: i.inFlight })),
    })),
  };
}
