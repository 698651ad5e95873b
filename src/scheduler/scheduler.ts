import { GatewayError } from "../errors/gateway-error.js";
import { chooseVictims, type Limits, type LoadedModel } from "./eviction.js";
import type { Lease, ModelGroup } from "./model-group.js";

export interface SchedulerOptions {
  readonly limits: Limits;
  /** How long a request may wait for room (every loaded model busy) before a 503. */
  readonly queueTimeoutMs: number;
  readonly now?: () => number;
}

/**
 * Decides which model instance serves a request: lazy loads, evicts the least recently used
 * idle model when at capacity, and makes a request wait while every loaded model is busy.
 * Room decisions run one at a time, so two cold models never both think they fit.
 */
export class Scheduler {
  readonly #groups: ReadonlyMap<string, ModelGroup>;
  readonly #options: SchedulerOptions;
  readonly #now: () => number;
  readonly #roomWaiters = new Set<() => void>();
  #roomLock: Promise<unknown> = Promise.resolve();
  #closed = false;

  constructor(groups: ReadonlyMap<string, ModelGroup>, options: SchedulerOptions) {
    this.#groups = groups;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Called by a group when its last hold ends: someone waiting for room may now fit. */
  notifyIdle(): void {
    for (const wake of this.#roomWaiters) wake();
  }

  groups(): ModelGroup[] {
    return [...this.#groups.values()];
  }

  /** A lease on a ready instance of `modelId`; release it when the response has ended. */
  async acquire(modelId: string, signal: AbortSignal): Promise<Lease> {
    if (this.#closed) throw new GatewayError("shutting_down", "the gateway is shutting down");
    const group = this.#groups.get(modelId);
    if (group === undefined) throw new GatewayError("model_not_found", `model ${modelId} does not exist`);
    group.hold(this.#now());
    try {
      if (!group.resident) await this.#withRoomLock(() => this.#makeRoom(group, signal));
      const lease = await group.lease(signal);
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

  #withRoomLock<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#roomLock.then(operation, operation);
    this.#roomLock = run.catch(() => {});
    return run;
  }

  async #makeRoom(group: ModelGroup, signal: AbortSignal): Promise<void> {
    const deadline = this.#now() + this.#options.queueTimeoutMs;
    while (!group.resident) {
      const loaded: LoadedModel[] = this.groups()
        .filter((other) => other.resident)
        .map((other) => ({
          id: other.id,
          inFlight: other.holds,
          lastUsedAt: other.lastUsedAt,
          pinned: false,
        }));
      const decision = chooseVictims(group.id, loaded, this.#options.limits);
      if (decision.kind === "impossible") throw new GatewayError("model_load_failed", decision.reason);
      if (decision.kind === "load") {
        await Promise.all(decision.victims.map((id) => this.#groups.get(id)?.stop()));
        group.markResident();
        return;
      }
      await this.#waitForRoom(deadline, signal, group.id);
    }
  }

  #waitForRoom(deadline: number, signal: AbortSignal, modelId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const left = deadline - this.#now();
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        this.#roomWaiters.delete(wake);
        if (error === undefined) resolve();
        else reject(error);
      };
      const wake = () => finish();
      const onAbort = () => finish(signal.reason);
      const timer = setTimeout(
        () =>
          finish(
            new GatewayError("queue_timeout", `waited too long for room to load model ${modelId}`, {
              retryAfterSeconds: 5,
            }),
          ),
        Math.max(0, left),
      );
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      this.#roomWaiters.add(wake);
    });
  }

  /** Refuse new work from now on (graceful shutdown). */
  close(): void {
    this.#closed = true;
  }

  /** Stops every model's children (graceful: SIGTERM, grace, SIGKILL). */
  async stopAll(): Promise<void> {
    await Promise.all(this.groups().map((group) => group.stop()));
  }
}
