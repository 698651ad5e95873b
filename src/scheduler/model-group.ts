import type { ModelConfig } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { Endpoint, Supervisor } from "../process/supervisor.js";
import { FifoWaiters } from "./fifo-waiters.js";

/** One dispatched request's hold on an instance slot; release exactly once when the response ends. */
export interface Lease {
  readonly modelId: string;
  readonly instance: string;
  readonly endpoint: Endpoint;
  release(): void;
  /**
   * The connection to this instance failed before any answer (refused, reset): keep requests
   * away from it until it is ready again (its supervisor restarts it) or SUSPECT_MS passed.
   */
  suspect(): void;
}

/** How long a suspected instance gets no requests unless its supervisor reports it ready. */
const SUSPECT_MS = 5_000;

interface Instance {
  readonly supervisor: Supervisor;
  /** Requests dispatched to it and not yet released. */
  active: number;
  /** performance.now() until which it gets no requests (see Lease.suspect). */
  suspectUntil: number;
}

/**
 * The instances of one model. Each instance takes `maxConcurrent` requests at once (its
 * llama-server slots); a request goes to the least busy ready instance (round-robin among
 * equals), and when every slot is taken it waits in a FIFO line: a released slot is handed
 * straight to the longest-waiting request, so a newcomer can never overtake the line.
 * Holds count requests from arrival to release, so the scheduler never evicts a model that
 * someone is using or waiting for.
 */
export class ModelGroup {
  readonly model: ModelConfig;
  readonly #instances: Instance[];
  readonly #onIdle: (group: ModelGroup) => void;
  readonly #line: FifoWaiters<Instance>;
  #holds = 0;
  #leased = 0;
  #next = 0;
  #lastUsedAt = 0;
  /** Counted against the scheduler's limits from the moment a load is decided until it is stopped. */
  #resident = false;

  constructor(model: ModelConfig, supervisors: readonly Supervisor[], onIdle: (group: ModelGroup) => void) {
    this.model = model;
    this.#instances = supervisors.map((supervisor) => ({ supervisor, active: 0, suspectUntil: 0 }));
    this.#onIdle = onIdle;
    this.#line = new FifoWaiters(`a free slot of model ${model.id}`);
    for (const instance of this.#instances) {
      // An instance that becomes ready (late start, restart) brings free slots for the line.
      instance.supervisor.onEvent((event) => {
        if (event.type !== "state" || event.to !== "ready") return;
        instance.suspectUntil = 0;
        this.#drain();
      });
    }
  }

  get id(): string {
    return this.model.id;
  }

  /** Requests holding this model: dispatched, waiting for a slot, or waiting for it to load. */
  get holds(): number {
    return this.#holds;
  }

  /** Requests that hold the model but have no slot yet. */
  get waiting(): number {
    return this.#holds - this.#leased;
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

  hasFreeSlot(): boolean {
    return this.#pickFree() !== null;
  }

  /** A request commits to this model (before it may wait for a load or a slot). */
  hold(now: number): void {
    this.#holds++;
    this.#lastUsedAt = now;
  }

  unhold(now: number): void {
    this.#holds--;
    this.#lastUsedAt = now;
    if (this.#holds === 0) this.#onIdle(this);
  }

  /** Starts every instance that is not running; resolves once at least one is ready. */
  async start(signal?: AbortSignal): Promise<void> {
    const starts = this.#instances.map((instance) => instance.supervisor.ensureReady(signal));
    // Instances not awaited here keep loading; their failures surface on their own supervisor.
    for (const start of starts) start.catch(() => {});
    if (this.#instances.some((instance) => instance.supervisor.endpoint() !== null)) return;
    await Promise.any(starts).catch((error: AggregateError) => {
      throw error.errors[0];
    });
  }

  /** A slot on a ready instance, waiting in line (until `deadline`) while all are taken. */
  async lease(signal: AbortSignal, deadline: number): Promise<Lease> {
    await this.start(signal);
    if (this.#line.length === 0) {
      const free = this.#pickFree();
      if (free !== null) {
        free.active++;
        return this.#leaseOn(free);
      }
    }
    return this.#leaseOn(await this.#line.wait(signal, deadline));
  }

  /** The least busy ready instance with a free slot, round-robin among equals. */
  #pickFree(): Instance | null {
    let best: Instance | null = null;
    const count = this.#instances.length;
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const candidate = this.#instances[(this.#next + i) % count];
      if (candidate === undefined || candidate.active >= this.model.maxConcurrent) continue;
      if (candidate.supervisor.endpoint() === null || candidate.suspectUntil > now) continue;
      if (best === null || candidate.active < best.active) best = candidate;
    }
    if (best !== null) this.#next = (this.#instances.indexOf(best) + 1) % count;
    return best;
  }

  /** `instance.active` already counts this request. */
  #leaseOn(instance: Instance): Lease {
    const endpoint = instance.supervisor.endpoint();
    if (endpoint === null) {
      instance.active--;
      throw new GatewayError(
        "backend_crashed",
        `model ${this.model.id}: its llama-server stopped before the request was sent`,
      );
    }
    this.#leased++;
    let released = false;
    return {
      modelId: this.model.id,
      instance: instance.supervisor.spec.name,
      endpoint,
      release: () => {
        if (released) return;
        released = true;
        this.#leased--;
        // The slot goes straight to the longest waiter; only with nobody waiting is it freed.
        const usable = instance.supervisor.endpoint() !== null && instance.suspectUntil <= performance.now();
        if (usable && this.#line.handOff(instance)) return;
        instance.active--;
        this.#drain();
      },
      suspect: () => {
        instance.suspectUntil = performance.now() + SUSPECT_MS;
      },
    };
  }

  /** Hands free slots to waiting requests (after an instance became ready or a slot freed up elsewhere). */
  #drain(): void {
    while (this.#line.length > 0) {
      const free = this.#pickFree();
      if (free === null) return;
      free.active++;
      this.#line.handOff(free);
    }
  }

  async stop(): Promise<void> {
    this.#resident = false;
    await Promise.all(this.#instances.map((instance) => instance.supervisor.stop()));
  }
}
