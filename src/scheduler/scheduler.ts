import { GatewayError } from "../errors/gateway-error.js";
import { chooseVictims, type Limits, type LoadedModel } from "./eviction.js";
import type { Lease, ModelGroup } from "./model-group.js";

export type UnloadReason = "evicted" | "ttl";

export interface SchedulerOptions {
  readonly limits: Limits;
  /** A model's memory need for the budget (0 = unknown); called once per model. */
  readonly memoryOf: (group: ModelGroup) => Promise<number>;
  readonly onUnload?: (modelId: string, reason: UnloadReason) => void;
  readonly now?: () => number;
}

/**
 * Decides which model instance serves a request: lazy loads, evicts the least recently used
 * idle model when at capacity, queues requests (bounded, FIFO, with a deadline) while every
 * loaded model is busy or every slot is taken, and unloads idle models after their ttl.
 * Room decisions run one at a time, so two cold models never both think they fit.
 */
export class Scheduler {
  readonly #groups: ReadonlyMap<string, ModelGroup>;
  readonly #options: SchedulerOptions;
  readonly #now: () => number;
  readonly #roomWaiters = new Set<() => void>();
  readonly #ttlTimers = new Map<ModelGroup, NodeJS.Timeout>();
  readonly #memory = new Map<ModelGroup, Promise<number>>();
  #roomLock: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(groups: ReadonlyMap<string, ModelGroup>, options: SchedulerOptions) {
    this.#groups = groups;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Called by a group when its last hold ends: someone waiting for room may now fit. */
  notifyIdle(group: ModelGroup): void {
    for (const wake of this.#roomWaiters) wake();
    this.#scheduleTtl(group);
  }

  groups(): ModelGroup[] {
    return [...this.#groups.values()];
  }

  /** A lease on a ready instance slot of `modelId`; release it when the response has ended. */
  async acquire(modelId: string, signal: AbortSignal): Promise<Lease> {
    if (this.#closed)
      throw new GatewayError("shutting_down", "the gateway is shutting down", { retryAfterSeconds: 5 });
    const group = this.#groups.get(modelId);
    if (group === undefined) throw new GatewayError("model_not_found", `model ${modelId} does not exist`);
    if (group.waiting >= group.model.maxQueue && !(group.resident && group.hasFreeSlot())) {
      throw new GatewayError(
        "queue_full",
        `${group.waiting} requests are already waiting for model ${modelId}`,
        {
          retryAfterSeconds: 1,
        },
      );
    }
    this.#cancelTtl(group);
    const now = this.#now();
    group.hold(now);
    const deadline = now + group.model.queueTimeoutMs;
    try {
      if (!group.resident) await this.#withRoomLock(() => this.#makeRoom(group, signal, deadline));
      const lease = await group.lease(signal, deadline);
      let released = false;
      return {
        ...lease,
        release: () => {
          if (released) return;
          released = true;
          lease.release();
          group.unhold(this.#now());
        },
      };
    } catch (error) {
      group.unhold(this.#now());
      throw error;
    }
  }

  /** Loads a model without a request (preload, admin load): makes room, then starts it. */
  async load(modelId: string): Promise<void> {
    const group = this.#groups.get(modelId);
    if (group === undefined) throw new GatewayError("model_not_found", `model ${modelId} does not exist`);
    const never = new AbortController().signal;
    if (!group.resident)
      await this.#withRoomLock(() => this.#makeRoom(group, never, Number.POSITIVE_INFINITY));
    await group.start();
    this.#scheduleTtl(group);
  }

  #withRoomLock<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#roomLock.then(operation, operation);
    this.#roomLock = run.catch(() => {});
    return run;
  }

  #memoryOf(group: ModelGroup): Promise<number> {
    let bytes = this.#memory.get(group);
    if (bytes === undefined) {
      bytes = this.#options.memoryOf(group);
      this.#memory.set(group, bytes);
    }
    return bytes;
  }

  async #makeRoom(group: ModelGroup, signal: AbortSignal, deadline: number): Promise<void> {
    const budgeted = this.#options.limits.memoryBudgetBytes !== null;
    while (!group.resident) {
      const loaded: LoadedModel[] = [];
      for (const other of this.groups()) {
        if (!other.resident) continue;
        loaded.push({
          id: other.id,
          inFlight: other.holds,
          lastUsedAt: other.lastUsedAt,
          pinned: other.model.pinned,
          bytes: budgeted ? await this.#memoryOf(other) : 0,
        });
      }
      const wanted = { id: group.id, bytes: budgeted ? await this.#memoryOf(group) : 0 };
      const decision = chooseVictims(wanted, loaded, this.#options.limits);
      if (decision.kind === "impossible") throw new GatewayError("model_load_failed", decision.reason);
      if (decision.kind === "load") {
        await Promise.all(decision.victims.map((id) => this.#unload(id, "evicted")));
        group.markResident();
        return;
      }
      await this.#waitForRoom(deadline, signal, group.id);
    }
  }

  async #unload(id: string, reason: UnloadReason): Promise<void> {
    const group = this.#groups.get(id);
    if (group === undefined) return;
    this.#cancelTtl(group);
    this.#options.onUnload?.(id, reason);
    await group.stop();
  }

  #waitForRoom(deadline: number, signal: AbortSignal, modelId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#roomWaiters.delete(wake);
        if (error === undefined) resolve();
        else reject(error);
      };
      const wake = () => finish();
      const onAbort = () => finish(signal.reason);
      const timeout = new GatewayError("queue_timeout", `waited too long for room to load model ${modelId}`, {
        retryAfterSeconds: 5,
      });
      const left = deadline - this.#now();
      const timer = setTimeout(
        () => finish(timeout),
        Number.isFinite(left) ? Math.max(0, left) : 2 ** 31 - 1,
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#roomWaiters.add(wake);
    });
  }

  /** An idle resident model with a ttl is unloaded when the ttl passes without a request. */
  #scheduleTtl(group: ModelGroup): void {
    const ttl = group.model.ttlMs;
    if (ttl === null || !group.resident || group.holds > 0 || this.#closed) return;
    this.#cancelTtl(group);
    const timer = setTimeout(() => {
      this.#ttlTimers.delete(group);
      void this.#withRoomLock(async () => {
        if (group.holds === 0 && group.resident) await this.#unload(group.id, "ttl");
      });
    }, ttl);
    timer.unref();
    this.#ttlTimers.set(group, timer);
  }

  #cancelTtl(group: ModelGroup): void {
    const timer = this.#ttlTimers.get(group);
    if (timer !== undefined) clearTimeout(timer);
    this.#ttlTimers.delete(group);
  }

  /** Refuse new work from now on (graceful shutdown). */
  close(): void {
    this.#closed = true;
    for (const group of this.#groups.values()) this.#cancelTtl(group);
  }

  /** Stops every model's children (graceful: SIGTERM, grace, SIGKILL). */
  async stopAll(): Promise<void> {
    await Promise.all(this.groups().map((group) => group.stop()));
  }
}
