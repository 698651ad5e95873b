import type { GatewayError } from "../errors/gateway-error.js";
import type { Backend, BackendSnapshot } from "./backend.js";
import { FifoWaiters } from "./fifo-waiters.js";
import { InstanceRequests } from "./instance-requests.js";
import { SlotTable } from "./slot-table.js";

/** One instance as the admin API shows it. */
export interface InstanceSnapshot extends BackendSnapshot {
  /** Requests dispatched to it and not yet finished. */
  readonly inFlight: number;
}

/** One instance of a model as its group dispatches to it. */
export interface Instance {
  readonly index: number;
  readonly supervisor: Backend;
  /** llama-server's slots, when requests are pinned to them (pinsSlots); else null. */
  slots: SlotTable | null;
  /** Requests dispatched to it and not yet released. */
  active: number;
  /** performance.now() until which it gets no requests (see Lease.suspect). */
  suspectUntil: number;
  /** The ids of the requests on it, for the crash log. */
  readonly requests: InstanceRequests;
}

/**
 * A model's instances and the FIFO line of requests waiting for a free one: which instance is
 * free (the least busy ready one, round-robin among equals) and handing freed ones to waiters.
 * What a request prefers (its conversation's instance) is the group's business, passed in as
 * an `accepts` predicate of its wait.
 */
export class InstancePool {
  readonly instances: readonly Instance[];
  readonly line: FifoWaiters<Instance>;
  /** Requests an instance takes at once unless its backend says otherwise (maxConcurrent). */
  readonly #defaultCapacity: () => number;
  #next = 0;

  constructor(backends: readonly Backend[], modelId: string, defaultCapacity: () => number) {
    this.instances = backends.map((supervisor, index) => ({
      index,
      supervisor,
      slots: null,
      active: 0,
      suspectUntil: 0,
      requests: new InstanceRequests(),
    }));
    this.line = new FifoWaiters(`a free slot of model ${modelId}`);
    this.#defaultCapacity = defaultCapacity;
  }

  /** Each instance's state, with the requests it serves now. */
  snapshots(): InstanceSnapshot[] {
    return this.instances.map((instance) => ({
      ...instance.supervisor.snapshot(),
      inFlight: instance.active,
    }));
  }

  /** The reason requests cannot be served while every instance is parked in `failed`; else null. */
  failure(): GatewayError | null {
    let first: GatewayError | null = null;
    for (const instance of this.instances) {
      const failure = instance.supervisor.failure();
      if (failure === null) return null;
      first ??= failure;
    }
    return first;
  }

  /**
   * The ids of the requests on instance `name` (e.g. `qwen#0`) now or until just before (see
   * InstanceRequests): who was there when it crashed.
   */
  requestsOn(name: string, now: number): string[] {
    const instance = this.instances.find((candidate) => candidate.supervisor.name === name);
    return instance?.requests.suspects(now) ?? [];
  }

  /**
   * Pins `slots` llama-server slots per local instance (the gateway chooses which one a request
   * uses), or none (null). A remote upstream's slots are its own business.
   */
  pinSlots(slots: number | null): void {
    for (const instance of this.instances) {
      if (slots === null || instance.supervisor.remote === true) {
        instance.slots = null;
        continue;
      }
      instance.slots ??= new SlotTable();
      instance.slots.resize(slots);
    }
  }

  /** Every instance has an endpoint (is ready). */
  allReady(): boolean {
    for (const instance of this.instances) if (instance.supervisor.endpoint() === null) return false;
    return true;
  }

  /**
   * Starts every instance that is not running; null when all are ready (no promise: the common
   * case of a request), else a promise that settles once at least one is ready.
   */
  startMissing(signal?: AbortSignal): Promise<void> | null {
    return this.allReady() ? null : this.#startAll(signal);
  }

  async #startAll(signal?: AbortSignal): Promise<void> {
    const starts = this.instances.map((instance) => instance.supervisor.ensureReady(signal));
    // Instances not awaited here keep loading; their failures surface on their own supervisor.
    for (const start of starts) start.catch(() => {});
    if (this.instances.some((instance) => instance.supervisor.endpoint() !== null)) return;
    await Promise.any(starts).catch((error: AggregateError) => {
      throw error.errors[0];
    });
  }

  capacity(instance: Instance): number {
    return instance.supervisor.capacity ?? this.#defaultCapacity();
  }

  /** Slots of all instances together (ready or not). */
  totalCapacity(): number {
    let slots = 0;
    for (const instance of this.instances) slots += this.capacity(instance);
    return slots;
  }

  usable(instance: Instance, now: number): boolean {
    return instance.supervisor.endpoint() !== null && instance.suspectUntil <= now;
  }

  hasRoom(instance: Instance): boolean {
    return instance.active < this.capacity(instance);
  }

  /** The least busy ready instance with a free slot, round-robin among equals; never `avoid`. */
  pickFree(avoid: string | null = null): Instance | null {
    let best: Instance | null = null;
    const count = this.instances.length;
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const candidate = this.instances[(this.#next + i) % count];
      if (candidate === undefined || !this.hasRoom(candidate) || !this.usable(candidate, now)) continue;
      if (candidate.supervisor.name === avoid) continue;
      if (best === null || candidate.active < best.active) best = candidate;
    }
    if (best !== null) this.#next = (this.instances.indexOf(best) + 1) % count;
    return best;
  }

  /**
   * Waits in line. Those ahead may be holding out for their conversation's instance while
   * another has a free slot: that slot goes to the first waiter that takes it, maybe this one.
   */
  join(signal: AbortSignal, deadline: number, accepts?: (instance: Instance) => boolean): Promise<Instance> {
    const waiting = this.line.wait(signal, deadline, accepts);
    this.drain();
    return waiting;
  }

  /** Hands free slots to waiting requests (after an instance became ready or a slot freed up elsewhere). */
  drain(): void {
    while (this.line.length > 0 && this.#handOne()) {}
  }

  /**
   * One free slot to the first waiter that takes it: the least busy instance's first (as
   * without affinity), then any other free instance's, for waiters that hold out for their
   * conversation's instance. False when no free slot found a taker.
   */
  #handOne(): boolean {
    const first = this.pickFree();
    if (first === null) return false;
    const now = performance.now();
    for (const candidate of [first, ...this.instances]) {
      if (candidate !== first && (!this.hasRoom(candidate) || !this.usable(candidate, now))) continue;
      candidate.active++;
      if (this.line.handOff(candidate)) return true;
      candidate.active--;
    }
    return false;
  }
}
