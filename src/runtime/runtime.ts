import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { ReloadOutcome } from "../admin/reload-outcome.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type { ConfigProblem, GatewayConfig, ModelConfig } from "../config/types.js";
import type { Discovery } from "../discovery/discover.js";
import type { Limits } from "../scheduler/eviction.js";
import type { ModelGroup } from "../scheduler/model-group.js";
import type { Limiter } from "../security/limiter.js";
import { buildGroup, type GroupDeps } from "./build-group.js";
import { buildGeneration, type Generation, type GenerationShell } from "./generation.js";
import { planReload } from "./plan-reload.js";
import { restartOnlyChanges } from "./restart-only.js";

/** A config file as read: its parsed result and the hash of its bytes. */
export interface LoadedConfig {
  readonly result: { ok: true; config: GatewayConfig } | { ok: false; problems: readonly ConfigProblem[] };
  /** SHA-256 of the file's bytes (and of the discovered folder's listing). */
  readonly hash: string | null;
  /** What discovery.dir / --models-dir held, files skipped included; null without a folder. */
  readonly discovery: Discovery | null;
}

export interface RuntimeDeps {
  readonly shell: Omit<GenerationShell, "admin">;
  readonly admin: Pick<GenerationShell["admin"], "status" | "gpu">;
  readonly groups: GroupDeps;
  readonly log: Logger;
  /** Reads and validates the config file again (reload). */
  readonly readConfig: () => Promise<LoadedConfig>;
  /** The llama-server binary for a config, or a problem when its `model:` entries need one that is missing. */
  readonly locateBinary: (config: GatewayConfig) => Promise<string | ConfigProblem>;
  readonly createLimiter: (config: GatewayConfig) => Limiter;
  /** A response cache for a config's cache settings (its store not connected yet: ready()). */
  readonly createCache: (config: GatewayConfig) => ResponseCache;
  /** The scheduler's limits for a config: `memoryBudget: auto` reads the GPUs' free memory. */
  readonly limitsFor: (config: GatewayConfig, previous: Generation | null) => Promise<Limits>;
  /** Applies settings of `server` that a listening server can change (timeouts, maxConnections). */
  readonly applyServerSettings: (config: GatewayConfig) => void;
}

/**
 * The current runtime generation and the reloads that replace it. Reloads run one at a time
 * (a reload during a reload waits for it). A reload validates first and changes nothing on any
 * problem; otherwise unchanged models keep their children, changed launch settings are
 * replaced blue/green (new instances start and become ready before they take requests; if
 * they fail, the old ones keep serving), removed models drain then stop, and every other
 * setting applies to new requests at once.
 */
export class Runtime {
  readonly #deps: RuntimeDeps;
  #current: Generation;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(deps: RuntimeDeps, first: Generation) {
    this.#deps = deps;
    this.#current = first;
  }

  static create(deps: RuntimeDeps, config: GatewayConfig, binary: string, hash: string | null): Runtime {
    const groups = new Map<string, ModelGroup>();
    for (const model of Object.values(config.models))
      groups.set(model.id, buildGroup(deps.groups, model, config, binary));
    deps.shell.scheduler.adopt([...groups.values()], config.scheduler);
    let runtime: Runtime | undefined;
    const first = buildGeneration(
      { ...deps.shell, admin: { ...deps.admin, reload: () => (runtime as Runtime).reload() } },
      {
        number: 1,
        config,
        binary,
        configHash: hash,
        groups,
        limiter: deps.createLimiter(config),
        cache: deps.createCache(config),
        limits: config.scheduler,
      },
    );
    runtime = new Runtime(deps, first);
    return runtime;
  }

  get current(): Generation {
    return this.#current;
  }

  /** The entry of every request: the generation current when it arrives serves it to its end. */
  handle(req: IncomingMessage, res: ServerResponse, cut: AbortSignal): void {
    this.#current.handle(req, res, cut);
  }

  /** Works out limits that need a look at the machine (memoryBudget: auto); before listening. */
  async resolveLimits(): Promise<void> {
    const current = this.#current;
    const limits = await this.#deps.limitsFor(current.config, null);
    this.#deps.shell.scheduler.adopt([...current.groups.values()], limits);
    this.#current = { ...current, limits };
  }

  /** Starts the models marked `preload` that are not running. */
  preload(): void {
    for (const group of this.#current.groups.values()) {
      if (!group.model.preload || group.resident) continue;
      this.#deps.shell.scheduler.load(group).catch((error: unknown) => {
        this.#deps.log.error({ model: group.id, err: error }, "preloading the model failed");
      });
    }
  }

  reload(): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reload());
    this.#queue = run.catch(() => {});
    return run;
  }

  async #reload(): Promise<ReloadOutcome> {
    const { log } = this.#deps;
    const loaded = await this.#deps.readConfig();
    logDiscovery(log, loaded.discovery);
    if (!loaded.result.ok) return this.#refuse(loaded.result.problems);
    const next = loaded.result.config;
    const binary = await this.#deps.locateBinary(next);
    if (typeof binary !== "string") return this.#refuse([binary]);
    const old = this.#current;
    const plan = planReload(old, { config: next, binary });
    const needsRestart = restartOnlyChanges(old.config, next);
    const changed =
      plan.added.length + plan.removed.length + plan.replaced.length + plan.reconfigured.length > 0 ||
      plan.sections.length > 0;
    if (!changed) {
      log.info({ generation: old.number }, "config reload: nothing changed");
      const { added, removed, replaced, reconfigured, sections } = plan;
      return {
        ok: true,
        generation: old.number,
        unchanged: true,
        added,
        removed,
        replaced,
        reconfigured,
        sections,
        keptOld: [],
        needsRestart: [],
      };
    }

    const groups = new Map<string, ModelGroup>();
    const models: Record<string, ModelConfig> = {};
    const keptOld: Array<{ id: string; reason: string }> = [];
    for (const model of Object.values(next.models)) {
      const current = old.groups.get(model.id);
      if (current !== undefined && !plan.replaced.includes(model.id)) {
        if (plan.reconfigured.includes(model.id)) {
          current.reconfigure(model);
          // A reload that touches a parked model is the operator's "try again".
          current.reset();
        }
        groups.set(model.id, current);
        models[model.id] = model;
        continue;
      }
      const fresh = buildGroup(this.#deps.groups, model, next, binary);
      if (current?.instances().some((instance) => instance.state === "ready")) {
        const failed = await this.#startGreen(fresh, model.id);
        if (failed !== null) {
          keptOld.push({ id: model.id, reason: failed });
          groups.set(model.id, current);
          models[model.id] = current.model;
          continue;
        }
      }
      groups.set(model.id, fresh);
      models[model.id] = model;
    }

    const config: GatewayConfig = { ...next, models };
    const limits = await this.#deps.limitsFor(next, old);
    const limiter = isSameLimiter(old.config, next) ? old.limiter : this.#deps.createLimiter(next);
    if (limiter !== old.limiter) void limiter.ready().then(() => retireLimiter(old.limiter));
    const cache = isSameCache(old.config, next) ? old.cache : this.#deps.createCache(next);
    if (cache !== old.cache) void cache.ready().then(() => retireCache(old.cache));
    const generation = buildGeneration(
      { ...this.#deps.shell, admin: { ...this.#deps.admin, reload: () => this.reload() } },
      { number: old.number + 1, config, binary, configHash: loaded.hash, groups, limiter, cache, limits },
    );
    this.#deps.shell.scheduler.adopt([...groups.values()], limits);
    this.#deps.applyServerSettings(next);
    this.#current = generation;
    this.preload();
    const outcome: ReloadOutcome = {
      ok: true,
      generation: generation.number,
      unchanged: false,
      added: plan.added,
      removed: plan.removed,
      replaced: plan.replaced.filter((id) => !keptOld.some((kept) => kept.id === id)),
      reconfigured: plan.reconfigured,
      keptOld,
      sections: plan.sections,
      needsRestart,
    };
    log.info(outcome, "config reloaded");
    if (keptOld.length > 0) log.warn({ keptOld }, "config reload: changed models kept their old instances");
    if (needsRestart.length > 0)
      log.warn({ needsRestart }, "config reload: these settings apply only after a restart");
    return outcome;
  }

  /** Starts the new instances of a replaced model; null once ready, else why they failed (stopped again). */
  async #startGreen(group: ModelGroup, id: string): Promise<string | null> {
    group.markResident();
    try {
      await group.start();
      return null;
    } catch (error) {
      await group.stop();
      const reason = error instanceof Error ? error.message : String(error);
      this.#deps.log.warn({ model: id, reason }, "config reload: the new instances did not start");
      return reason;
    }
  }

  #refuse(problems: readonly ConfigProblem[]): ReloadOutcome {
    this.#deps.log.error(
      { problems, generation: this.#current.number },
      `config reload refused: ${problems.length} problem(s); the running config is kept`,
    );
    return { ok: false, problems };
  }
}

function isSameLimiter(old: GatewayConfig, next: GatewayConfig): boolean {
  return old.rateLimit.redis === next.rateLimit.redis;
}

function isSameCache(old: GatewayConfig, next: GatewayConfig): boolean {
  return JSON.stringify(old.cache) === JSON.stringify(next.cache);
}

/** A replaced cache may still record answers of the old generation's requests: close it later. */
function retireCache(cache: ResponseCache): void {
  setTimeout(() => void cache.close().catch(() => {}), 60_000).unref();
}

/** A replaced limiter may still settle requests of the old generation: close it a little later. */
function retireLimiter(limiter: Limiter): void {
  setTimeout(() => void limiter.close().catch(() => {}), 60_000).unref();
}

/** Files of the models folder that were skipped, and warnings about the ones served. */
export function logDiscovery(log: Logger, discovery: Discovery | null): void {
  if (discovery === null) return;
  for (const problem of discovery.problems)
    log.warn({ file: problem.path, reason: problem.message }, "models folder: file skipped");
  for (const model of discovery.models)
    for (const warning of model.warnings) log.warn({ model: model.id, file: model.path }, warning);
}
