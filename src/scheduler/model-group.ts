import type { ModelConfig } from "../config/types.js";
import type { GatewayError } from "../errors/gateway-error.js";
import { AffinityTable, type Conversation } from "./affinity-table.js";
import type { Backend } from "./backend.js";
import { type Instance, InstancePool, type InstanceSnapshot } from "./instance-pool.js";
import type { Lease } from "./lease.js";
import { type LeaseSite, leaseOn } from "./lease-on.js";
import { PrefillSpeed } from "./prefill-speed.js";
import { heldSlots, restoreSaved } from "./slot-caches.js";
import type { SlotKeeper } from "./slot-keeper.js";
import { pinsSlots, routesByConversation } from "./slot-table.js";

/** The longest a request waits for its conversation's instance beyond the usual queueing. */
export const MAX_AFFINITY_WAIT_MS = 10_000;

/** Where a request's conversation was served before (model-group's #homeOf). */
interface Home {
  readonly instance: Instance | undefined;
  readonly slot: number | null;
}

const NO_HOME: Home = { instance: undefined, slot: null };

/** What a group tells its owner (the scheduler). */
export interface GroupHooks {
  /** Its last hold ended: someone waiting for room may now fit; its ttl starts. */
  readonly onIdle: (group: ModelGroup) => void;
  /** A `failed` instance's cool-down ended: the owner starts it again if the model is still wanted. */
  readonly onCooledDown: (group: ModelGroup) => void;
}

/**
 * The instances of one model. Each instance takes `maxConcurrent` requests at once (its
 * llama-server slots); a request goes to the least busy ready instance (round-robin among
 * equals), and when every slot is taken it waits in a FIFO line: a released slot is handed
 * straight to the longest-waiting request, so a newcomer can never overtake the line.
 * Holds count requests from arrival to release, so the scheduler never evicts a model that
 * someone is using or waiting for.
 *
 * With `affinity` on (and more than one instance, or pinned slots), a request carrying a Conversation
 * goes to the instance, and slot, that served the conversation's previous turn, where
 * llama-server still holds its prompt in the KV cache (docs/routing.md). When that instance has
 * no free slot the request waits for it, but never longer than recomputing the prompt elsewhere
 * is predicted to take (its size over the model's measured prompt speed, at most
 * MAX_AFFINITY_WAIT_MS; no wait before a speed was measured): then it takes any free slot, so a
 * busy conversation never costs more than twice the recompute, and others are not starved.
 * Slots are pinned (`id_slot`) only when maxConcurrent equals llama-server's own slot count.
 */
export class ModelGroup {
  #model: ModelConfig;
  readonly #pool: InstancePool;
  readonly #instances: readonly Instance[];
  readonly #hooks: GroupHooks;
  #holds = 0;
  #leased = 0;
  #lastUsedAt = 0;
  /** Counted against the scheduler's limits from the moment a load is decided until it is stopped. */
  #resident = false;
  /** How long its last load took (an instance's starting → ready), ms; null before one finished. */
  #lastLoadMs: number | null = null;
  /** Where recent conversations were served; null when the model does not route by conversation. */
  #affinity: AffinityTable | null = null;
  /** The model's prompt speed: what recomputing a prompt is predicted to cost. */
  readonly #prefill = new PrefillSpeed();
  /** Saves its slots' KV caches at unload and restores them; null when not kept. */
  readonly #keeper: SlotKeeper | null;
  /** What its leases read of it (lease-on.ts). */
  readonly #site: LeaseSite;

  constructor(
    model: ModelConfig,
    backends: readonly Backend[],
    hooks: GroupHooks,
    keeper: SlotKeeper | null = null,
  ) {
    this.#model = model;
    this.#keeper = keeper;
    this.#pool = new InstancePool(backends, model.id, () => this.#model.maxConcurrent);
    this.#instances = this.#pool.instances;
    this.#hooks = hooks;
    const group = this;
    this.#site = {
      get modelId() {
        return group.#model.id;
      },
      get affinity() {
        return group.#affinity;
      },
      pool: this.#pool,
      prefill: this.#prefill,
      leased: (delta) => {
        this.#leased += delta;
      },
    };
    this.#applyRouting();
    for (const instance of this.#instances) {
      let startingAt = 0;
      instance.supervisor.onEvent((event) => {
        if (event.type === "cooled-down") this.#hooks.onCooledDown(this);
        if (event.type !== "state" || !("to" in event)) return;
        if (event.to === "starting") {
          startingAt = performance.now();
          // A new process: whatever its slots held before is gone.
          this.#affinity?.forgetInstance(instance.index);
          instance.slots?.forget();
        }
        if (event.to === "ready" && event.from === "starting")
          this.#lastLoadMs = performance.now() - startingAt;
        // An instance that becomes ready (late start, restart) brings free slots for the line.
        if (event.to === "ready") {
          instance.suspectUntil = 0;
          this.#pool.drain();
        }
        // Waiting cannot help once every instance is parked: the line gets the reason at once
        // instead of waiting out the queue timeout.
        if (event.to === "failed") {
          const failure = this.failure();
          if (failure !== null) this.#pool.line.rejectAll(failure);
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
    this.#applyRouting();
    this.#pool.drain();
  }

  /** Whether requests carry conversations to route by (the route computes them only then). */
  get routesByConversation(): boolean {
    return this.#affinity !== null;
  }

  /** Affinity on, and more than one place a conversation could go. */
  #applyRouting(): void {
    const model = this.#model;
    if (!routesByConversation(model)) this.#affinity = null;
    else this.#affinity ??= new AffinityTable();
    this.#pool.pinSlots(pinsSlots(model) ? model.maxConcurrent : null);
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
    return Math.max(0, this.#pool.totalCapacity() - this.#leased);
  }

  /** Whether it has local instances: only those need room and count as a loaded model. */
  get needsRoom(): boolean {
    return this.#instances.some((instance) => instance.supervisor.remote !== true);
  }

  get lastUsedAt(): number {
    return this.#lastUsedAt;
  }

  /** How long its last load took (starting → ready of an instance), ms; null before any. */
  get lastLoadMs(): number | null {
    return this.#lastLoadMs;
  }

  get resident(): boolean {
    return this.#resident;
  }

  backends(): Backend[] {
    return this.#instances.map((instance) => instance.supervisor);
  }

  instances(): InstanceSnapshot[] {
    return this.#pool.snapshots();
  }

  /**
   * The ids of the requests on instance `name` (e.g. `qwen#0`) now or until just before (see
   * InstanceRequests): who was there when it crashed.
   */
  requestsOn(name: string): string[] {
    return this.#pool.requestsOn(name, performance.now());
  }

  /** The reason requests cannot be served while every instance is parked in `failed`; else null. */
  failure(): GatewayError | null {
    return this.#pool.failure();
  }

  /** Everyone waiting in line for a slot gets `reason`. */
  cancelWaiting(reason: unknown): void {
    this.#pool.line.rejectAll(reason);
  }

  /** Out of `failed` (admin reset, a reload that changed the model). */
  reset(): void {
    for (const instance of this.#instances) instance.supervisor.reset();
  }

  markResident(): void {
    this.#resident = true;
  }

  hasFreeSlot(): boolean {
    return this.#pool.pickFree() !== null;
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
    const starting = this.#pool.startMissing(signal);
    if (starting !== null) await starting;
  }

  /**
   * A slot on a ready instance, waiting in line (until `deadline`) while all are taken.
   * `requestId` is kept on the instance while the lease lasts, for the crash log; with
   * `conversation` (affinity on) the request goes where its conversation is cached.
   */
  async lease(
    signal: AbortSignal,
    deadline: number,
    requestId?: string,
    conversation?: Conversation | null,
    avoid: string | null = null,
  ): Promise<Lease> {
    const starting = this.#pool.startMissing(signal);
    if (starting !== null) await starting;
    const home = this.#homeOf(conversation, avoid);
    const now = this.#leaseNow(home, requestId, conversation, avoid);
    if (now !== null) return now;
    return this.#leaseWaiting(home, signal, deadline, requestId, conversation, avoid);
  }

  /**
   * lease() without a promise when it needs no wait (issue 15: the common case of a request):
   * every instance is ready, nobody is in line, a slot is free where the request should go and
   * no saved slot cache is to be restored first. Null when any of that does not hold: then
   * lease() decides, exactly as before.
   */
  tryLease(
    requestId?: string,
    conversation?: Conversation | null,
    avoid: string | null = null,
  ): Lease | null {
    if (!this.#pool.allReady()) return null;
    if (this.#keeper !== null && conversation != null) return null;
    const now = this.#leaseNow(this.#homeOf(conversation, avoid), requestId, conversation, avoid);
    // Without a keeper, #leaseNow never restores: what it returns is a lease, not a promise.
    return now instanceof Promise ? null : now;
  }

  /**
   * The instance (and slot) that served the request's conversation before, if the model routes
   * by conversation and it knows one; never the instance a retry must avoid.
   */
  #homeOf(conversation: Conversation | null | undefined, avoid: string | null): Home {
    const affinity = this.#affinity;
    const known = affinity !== null && conversation != null ? affinity.lookup(conversation) : null;
    const found = known === null ? undefined : this.#instances[known.instance];
    // A retry never goes back to the instance that just failed it, conversation or not.
    return found === undefined || found.supervisor.name === avoid
      ? NO_HOME
      : { instance: found, slot: known?.slot ?? null };
  }

  /** The lease the request gets without waiting, or null when it has to wait in line. */
  #leaseNow(
    { instance: home, slot: homeSlot }: Home,
    requestId: string | undefined,
    conversation: Conversation | null | undefined,
    avoid: string | null,
  ): Lease | Promise<Lease> | null {
    if (this.#pool.line.length === 0) {
      if (home !== undefined && this.#pool.usable(home, performance.now()) && this.#pool.hasRoom(home)) {
        home.active++;
        return leaseOn(this.#site, home, requestId, "affinity", homeSlot, conversation);
      }
      const waitMs = home === undefined ? 0 : this.#affinityWaitMs(conversation);
      if (waitMs === 0) {
        const free = this.#pool.pickFree(avoid);
        if (free !== null) {
          free.active++;
          const lease = leaseOn(
            this.#site,
            free,
            requestId,
            home === undefined ? "least-busy" : "spilled",
            null,
            conversation,
          );
          return home === undefined ? this.#restoreSaved(lease, conversation) : lease;
        }
      }
    }
    return null;
  }

  /** The rest of lease(): in line for an instance, or for its conversation's instance. */
  async #leaseWaiting(
    { instance: home, slot: homeSlot }: Home,
    signal: AbortSignal,
    deadline: number,
    requestId: string | undefined,
    conversation: Conversation | null | undefined,
    avoid: string | null,
  ): Promise<Lease> {
    if (home === undefined) {
      const instance = await this.#pool.join(
        signal,
        deadline,
        avoid === null ? undefined : (candidate) => candidate.supervisor.name !== avoid,
      );
      return this.#restoreSaved(
        leaseOn(this.#site, instance, requestId, "least-busy", null, conversation),
        conversation,
      );
    }
    // Waits for its conversation's instance until recomputing elsewhere would have been done.
    let expired = false;
    const expiry = setTimeout(() => {
      expired = true;
      this.#pool.drain();
    }, this.#affinityWaitMs(conversation));
    expiry.unref();
    try {
      const instance = await this.#pool.join(signal, deadline, (candidate) => candidate === home || expired);
      const reason = instance === home ? "affinity" : "spilled";
      return leaseOn(
        this.#site,
        instance,
        requestId,
        reason,
        instance === home ? homeSlot : null,
        conversation,
      );
    } finally {
      clearTimeout(expiry);
    }
  }

  /** restoreSaved, when the model keeps slot caches and the request has a conversation. */
  #restoreSaved(lease: Lease, conversation: Conversation | null | undefined): Promise<Lease> | Lease {
    if (this.#keeper === null || conversation == null) return lease;
    return restoreSaved(this.#keeper, this.#prefill, lease, conversation);
  }

  /** How long a request may wait for its conversation's busy instance: the recompute it saves. */
  #affinityWaitMs(conversation: Conversation | null | undefined): number {
    const recomputeMs = conversation == null ? null : this.#prefill.msFor(conversation.promptTokens);
    return recomputeMs === null ? 0 : Math.min(MAX_AFFINITY_WAIT_MS, recomputeMs);
  }

  async stop(): Promise<void> {
    this.#resident = false;
    // What the slots hold goes to disk first (bounded by the keeper's own deadline).
    const held = this.#keeper === null ? [] : heldSlots(this.#instances);
    if (held.length > 0) await this.#keeper?.saveAll(held);
    await Promise.all(this.#instances.map((instance) => instance.supervisor.stop()));
  }

  /** Stops every instance at once: requests in flight are cut (their streams end with an error). */
  async kill(): Promise<void> {
    this.#resident = false;
    await Promise.all(this.#instances.map((instance) => instance.supervisor.kill()));
  }
}
