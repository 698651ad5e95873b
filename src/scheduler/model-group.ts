import type { ModelConfig } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { Backend, BackendSnapshot, Endpoint } from "./backend.js";
import { FifoWaiters } from "./fifo-waiters.js";
import { InstanceRequests } from "./instance-requests.js";

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

/** What a group tells its owner (the scheduler). */
export interface GroupHooks {
  /** Its last hold ended: someone waiting for room may now fit; its ttl starts. */
  readonly onIdle: (group: ModelGroup) => void;
  /** A `failed` instance's cool-down ended: the owner starts it again if the model is still wanted. */
  readonly onCooledDown: (group: ModelGroup) => void;
}

/** One instance as the admin API shows it. */
export interface InstanceSnapshot extends BackendSnapshot {
  /** Requests dispatched to it and not yet finished. */
  readonly inFlight: number;
}

interface Instance {
  readonly supervisor: Backend;
  /** Requests dispatched to it and not yet released. */
  active: number;
  /** performance.now() until which it gets no requests (see Lease.suspect). */
  suspectUntil: number;
  /** The ids of the requests on it, for the crash log. */
  readonly requests: InstanceRequests;
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
  #model: ModelConfig;
  readonly #instances: Instance[];
  readonly #hooks: GroupHooks;
  readonly #line: FifoWaiters<Instance>;
  #holds = 0;
  #leased = 0;
  #next = 0;
  #lastUsedAt = 0;
  /** Counted against the scheduler's limits from the moment a load is decided until it is stopped. */
  #resident = false;

  constructor(model: ModelConfig, backends: readonly Backend[], hooks: GroupHooks) {
    this.#model = model;
    this.#instances = backends.map((supervisor) => ({
      supervisor,
      active: 0,
      suspectUntil: 0,
      requests: new InstanceRequests(),
    }));
    this.#hooks = hooks;
    this.#line = new FifoWaiters(`a free slot of model ${model.id}`);
    for (const instance of this.#instances) {
      instance.supervisor.onEvent((event) => {
        if (event.type === "cooled-down") this.#hooks.onCooledDown(this);
        if (event.type !== "state" || !("to" in event)) return;
        // An instance that becomes ready (late start, restart) brings free slots for the line.
        if (event.to === "ready") {
          instance.suspectUntil = 0;
          this.#drain();
        }
        // Waiting cannot help once every instance is parked: the line gets the reason at once
        // instead of waiting out the queue timeout.
        if (event.to === "failed") {
          const failure = this.failure();
          if (failure !== null) this.#line.rejectAll(failure);
        }
      });
    }
  }

  get model(): ModelConfig {
    return this.#model;
  }

  /**
   * Settings that do not change how its children are launched (aliases, queue, ttl, slots,
   * pinned) take effect for the next request; a launch change needs new instances instead.
   */
  reconfigure(model: ModelConfig): void {
    if (model.id !== this.#model.id) throw new Error(`reconfigure ${this.#model.id} with ${model.id}`);
    this.#model = model;
    this.#drain();
  }

  get id(): string {
    return this.#model.id;
  }

  /** Requests holding this model: dispatched, waiting for a slot, or waiting for it to load. */
  get holds(): number {
    return this.#holds;
  }

  /** Requests that hold the model but have no slot yet. */
  get waiting(): number {
    return this.#holds - this.#leased;
  }

  /** Slots of all instances (ready or not) that no dispatched request holds. */
  unleasedSlots(): number {
    return Math.max(0, this.#instances.length * this.#model.maxConcurrent - this.#leased);
  }

  get lastUsedAt(): number {
    return this.#lastUsedAt;
  }

  get resident(): boolean {
    return this.#resident;
  }

  backends(): Backend[] {
    return this.#instances.map((instance) => instance.supervisor);
  }

  instances(): InstanceSnapshot[] {
    return this.#instances.map((instance) => ({
      ...instance.supervisor.snapshot(),
      inFlight: instance.active,
    }));
  }

  /**
   * The ids of the requests on instance `name` (e.g. `qwen#0`) now or until just before (see
   * InstanceRequests): who was there when it crashed.
   */
  requestsOn(name: string): string[] {
    const instance = this.#instances.find((candidate) => candidate.supervisor.name === name);
    return instance?.requests.suspects(performance.now()) ?? [];
  }

  /** The reason requests cannot be served while every instance is parked in `failed`; else null. */
  failure(): GatewayError | null {
    let first: GatewayError | null = null;
    for (const instance of this.#instances) {
      const failure = instance.supervisor.failure();
      if (failure === null) return null;
      first ??= failure;
    }
    return first;
  }

  /** Everyone waiting in line for a slot gets `reason`. */
  cancelWaiting(reason: unknown): void {
    this.#line.rejectAll(reason);
  }

  /** Out of `failed` (admin reset, a reload that changed the model). */
  reset(): void {
    for (const instance of this.#instances) instance.supervisor.reset();
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
    if (this.#holds === 0) this.#hooks.onIdle(this);
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

  /**
   * A slot on a ready instance, waiting in line (until `deadline`) while all are taken.
   * `requestId` is kept on the instance while the lease lasts, for the crash log.
   */
  async lease(signal: AbortSignal, deadline: number, requestId?: string): Promise<Lease> {
    await this.start(signal);
    if (this.#line.length === 0) {
      const free = this.#pickFree();
      if (free !== null) {
        free.active++;
        return this.#leaseOn(free, requestId);
      }
    }
    return this.#leaseOn(await this.#line.wait(signal, deadline), requestId);
  }

  /** The least busy ready instance with a free slot, round-robin among equals. */
  #pickFree(): Instance | null {
    let best: Instance | null = null;
    const count = this.#instances.length;
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const candidate = this.#instances[(this.#next + i) % count];
      if (candidate === undefined || candidate.active >= this.#model.maxConcurrent) continue;
      if (candidate.supervisor.endpoint() === null || candidate.suspectUntil > now) continue;
      if (best === null || candidate.active < best.active) best = candidate;
    }
    if (best !== null) this.#next = (this.#instances.indexOf(best) + 1) % count;
    return best;
  }

  /** `instance.active` already counts this request. */
  #leaseOn(instance: Instance, requestId: string | undefined): Lease {
    const endpoint = instance.supervisor.endpoint();
    if (endpoint === null) {
      instance.active--;
      throw new GatewayError(
        "backend_crashed",
        `model ${this.#model.id}: its llama-server stopped before the request was sent`,
      );
    }
    this.#leased++;
    const ended = requestId === undefined ? null : instance.requests.begin(requestId);
    let released = false;
    return {
      modelId: this.#model.id,
      instance: instance.supervisor.name,
      endpoint,
      release: () => {
        if (released) return;
        released = true;
        this.#leased--;
        ended?.(performance.now());
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

  /** Stops every instance at once: requests in flight are cut (their streams end with an error). */
  async kill(): Promise<void> {
    this.#resident = false;
    await Promise.all(this.#instances.map((instance) => instance.supervisor.kill()));
  }
}
