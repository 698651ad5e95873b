import type { ModelConfig } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { Endpoint, Supervisor } from "../process/supervisor.js";

/** One dispatched request's hold on an instance; release exactly once when the response ends. */
export interface Lease {
  readonly modelId: string;
  readonly instance: string;
  readonly endpoint: Endpoint;
  release(): void;
}

interface Instance {
  readonly supervisor: Supervisor;
  active: number;
}

/**
 * The instances of one model: starts them together, hands each request to the least busy ready
 * instance (round-robin among equals), and counts holds so the scheduler never evicts a model
 * someone is using or waiting for.
 */
export class ModelGroup {
  readonly model: ModelConfig;
  readonly #instances: Instance[];
  readonly #onIdle: () => void;
  #holds = 0;
  #next = 0;
  #lastUsedAt = 0;
  /** Counted against maxLoadedModels from the moment a load is decided until it is stopped. */
  #resident = false;

  constructor(model: ModelConfig, supervisors: readonly Supervisor[], onIdle: () => void) {
    this.model = model;
    this.#instances = supervisors.map((supervisor) => ({ supervisor, active: 0 }));
    this.#onIdle = onIdle;
  }

  get id(): string {
    return this.model.id;
  }

  get holds(): number {
    return this.#holds;
  }

  get lastUsedAt(): number {
    return this.#lastUsedAt;
  }

  get resident(): boolean {
    return this.#resident;
  }

  supervisors(): Supervisor[] {
    return this.#instances.map((instance) => instance.supervisor);
  }

  markResident(): void {
    this.#resident = true;
  }

  /** A request commits to this model (before it may wait for a load). */
  hold(now: number): void {
    this.#holds++;
    this.#lastUsedAt = now;
  }

  unhold(now: number): void {
    this.#holds--;
    this.#lastUsedAt = now;
    if (this.#holds === 0) this.#onIdle();
  }

  /** Starts every instance; resolves with a lease on a ready one as soon as any is ready. */
  async lease(signal: AbortSignal): Promise<Lease> {
    const ready = this.#instances.filter((instance) => instance.supervisor.endpoint() !== null);
    if (ready.length < this.#instances.length) {
      const starts = this.#instances.map((instance) => instance.supervisor.ensureReady(signal));
      // Instances not awaited here keep loading; their failures surface on their own supervisor.
      for (const start of starts) start.catch(() => {});
      if (ready.length === 0)
        await Promise.any(starts).catch((error: AggregateError) => {
          throw error.errors[0];
        });
    }
    return this.#pick();
  }

  #pick(): Lease {
    let best: Instance | undefined;
    let bestEndpoint: Endpoint | null = null;
    const count = this.#instances.length;
    for (let i = 0; i < count; i++) {
      const candidate = this.#instances[(this.#next + i) % count];
      const endpoint = candidate?.supervisor.endpoint() ?? null;
      if (candidate === undefined || endpoint === null) continue;
      if (best === undefined || candidate.active < best.active) {
        best = candidate;
        bestEndpoint = endpoint;
      }
    }
    if (best === undefined || bestEndpoint === null) {
      // The instance that became ready crashed before we could pick it.
      throw new GatewayError(
        "backend_crashed",
        `model ${this.model.id}: llama-server stopped right after loading`,
      );
    }
    this.#next = (this.#next + 1) % count;
    const chosen = best;
    chosen.active++;
    let released = false;
    return {
      modelId: this.model.id,
      instance: chosen.supervisor.spec.name,
      endpoint: bestEndpoint,
      release: () => {
        if (released) return;
        released = true;
        chosen.active--;
      },
    };
  }

  async stop(): Promise<void> {
    await Promise.all(this.#instances.map((instance) => instance.supervisor.stop()));
    this.#resident = false;
  }
}
