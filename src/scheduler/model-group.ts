import type { ModelConfig } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import { AffinityTable, type Conversation } from "./affinity-table.js";
import type { Backend, BackendSnapshot, Endpoint } from "./backend.js";
import { FifoWaiters } from "./fifo-waiters.js";
import { InstanceRequests } from "./instance-requests.js";
import type { SlotContent, SlotKeeper } from "./slot-keeper.js";

/**
 * Why a request went where it went (X-Gateway-Route): `affinity` — the instance (and slot) that
 * served its conversation before; `least-busy` — no earlier turn known; `spilled` — its
 * conversation's instance stayed busy longer than recomputing the prompt elsewhere would take;
 * `restored` — its conversation's KV cache, saved when the model was unloaded, was read back
 * into the slot first; `recomputed` — one was saved, but reading it was predicted to be slower
 * than recomputing the prompt (or failed).
 */
export type RouteReason = "affinity" | "least-busy" | "spilled" | "restored" | "recomputed";

/** The decision behind a lease, when the model routes by conversation (affinity on). */
export interface RouteDecision {
  /** The instance's position in the model's instances (0-based, as in /admin/status). */
  readonly instance: number;
  /** The llama-server slot the request is pinned to (`id_slot`); null when not pinned. */
  readonly slot: number | null;
  readonly reason: RouteReason;
}

/** Whether a model routes by conversation: affinity on, and more than one instance or slot. */
export function routesByConversation(model: ModelConfig): boolean {
  return model.affinity && (model.instances + model.upstreams.length > 1 || model.maxConcurrent > 1);
}

/**
 * Whether its requests are pinned to llama-server slots (id_slot): only where the gateway knows
 * the slot count, since id_slot wraps around modulo the real count, so with more requests than
 * slots two would share one and wait inside llama-server.
 */
export function pinsSlots(model: ModelConfig): boolean {
  return routesByConversation(model) && model.llamaSlots === model.maxConcurrent;
}

/** One dispatched request's hold on an instance slot; release exactly once when the response ends. */
export interface Lease {
  readonly modelId: string;
  readonly instance: string;
  readonly endpoint: Endpoint;
  /** Where and why, when the model routes by conversation; null otherwise (affinity off). */
  readonly route: RouteDecision | null;
  /** llama-server reported its prompt speed (timings.prompt_per_second, tokens/s) for this request. */
  notePrefill(tokensPerSecond: number): void;
  /** A remote upstream's model name to ask for (the body's `model` is rewritten); null for local children. */
  readonly upstreamModel: string | null;
  /** Whether it is a remote upstream (a 5xx before any byte may move the request to another instance). */
  readonly remote: boolean;
  /** How the request ended on it: false on a connection failure or a 5xx (passive health check). */
  observe(ok: boolean): void;
  release(): void;
  /**
   * The connection to this instance failed before any answer (refused, reset): keep requests
   * away from it until it is ready again (its supervisor restarts it) or SUSPECT_MS passed.
   */
  suspect(): void;
}

/** How long a suspected instance gets no requests unless its supervisor reports it ready. */
const SUSPECT_MS = 5_000;
/** The longest a request waits for its conversation's instance beyond the usual queueing. */
export const MAX_AFFINITY_WAIT_MS = 10_000;
/** Weight of the newest prompt-speed sample in the model's running estimate. */
const PREFILL_EWMA = 0.3;

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

interface Slot {
  busy: boolean;
  /** The conversation key of the last request placed on it: what it holds (for saving). */
  key: string | null;
  /** performance.now() of its last release: the least recently used free slot is taken first. */
  lastUsedAt: number;
}

interface Instance {
  readonly index: number;
  readonly supervisor: Backend;
  /** llama-server's slots, when requests are pinned to them (see #pinsSlots); else null. */
  slots: Slot[] | null;
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
 *
 * With `affinity` on (and more than one instance or slot), a request carrying a Conversation
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
  readonly #instances: Instance[];
  readonly #hooks: GroupHooks;
  readonly #line: FifoWaiters<Instance>;
  #holds = 0;
  #leased = 0;
  #next = 0;
  #lastUsedAt = 0;
  /** Counted against the scheduler's limits from the moment a load is decided until it is stopped. */
  #resident = false;
  /** How long its last load took (an instance's starting → ready), ms; null before one finished. */
  #lastLoadMs: number | null = null;
  /** Where recent conversations were served; null when the model does not route by conversation. */
  #affinity: AffinityTable | null = null;
  /** The model's prompt speed, tokens per ms (running estimate); null before any was reported. */
  #prefillPerMs: number | null = null;
  /** Saves its slots' KV caches at unload and restores them; null when not kept. */
  readonly #keeper: SlotKeeper | null;

  constructor(
    model: ModelConfig,
    backends: readonly Backend[],
    hooks: GroupHooks,
    keeper: SlotKeeper | null = null,
  ) {
    this.#model = model;
    this.#keeper = keeper;
    this.#instances = backends.map((supervisor, index) => ({
      index,
      supervisor,
      slots: null,
      active: 0,
      suspectUntil: 0,
      requests: new InstanceRequests(),
    }));
    this.#hooks = hooks;
    this.#line = new FifoWaiters(`a free slot of model ${model.id}`);
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
          for (const slot of instance.slots ?? []) {
            slot.key = null;
            slot.lastUsedAt = 0;
          }
        }
        if (event.to === "ready" && event.from === "starting")
          this.#lastLoadMs = performance.now() - startingAt;
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
    this.#applyRouting();
    this.#drain();
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
    const pins = pinsSlots(model);
    for (const instance of this.#instances) {
      // A remote upstream's slots are its own business.
      if (!pins || instance.supervisor.remote === true) {
        instance.slots = null;
        continue;
      }
      const slots = instance.slots ?? [];
      while (slots.length < model.maxConcurrent) slots.push({ busy: false, key: null, lastUsedAt: 0 });
      slots.length = model.maxConcurrent;
      instance.slots = slots;
    }
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
    let slots = 0;
    for (const instance of this.#instances) slots += this.#capacity(instance);
    return Math.max(0, slots - this.#leased);
  }

  /** Whether it has local instances: only those need room and count as a loaded model. */
  get needsRoom(): boolean {
    return this.#instances.some((instance) => instance.supervisor.remote !== true);
  }

  #capacity(instance: Instance): number {
    return instance.supervisor.capacity ?? this.#model.maxConcurrent;
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
    await this.start(signal);
    const affinity = this.#affinity;
    const known = affinity !== null && conversation != null ? affinity.lookup(conversation) : null;
    const found = known === null ? undefined : this.#instances[known.instance];
    // A retry never goes back to the instance that just failed it, conversation or not.
    const home = found?.supervisor.name === avoid ? undefined : found;
    const homeSlot = known?.slot ?? null;
    if (this.#line.length === 0) {
      if (home !== undefined && this.#usable(home, performance.now()) && this.#hasRoom(home)) {
        home.active++;
        return this.#leaseOn(home, requestId, "affinity", homeSlot, conversation);
      }
      const waitMs = home === undefined ? 0 : this.#affinityWaitMs(conversation);
      if (waitMs === 0) {
        const free = this.#pickFree(avoid);
        if (free !== null) {
          free.active++;
          const lease = this.#leaseOn(
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
    if (home === undefined) {
      const instance = await this.#joinLine(
        signal,
        deadline,
        avoid === null ? undefined : (candidate) => candidate.supervisor.name !== avoid,
      );
      return this.#restoreSaved(
        this.#leaseOn(instance, requestId, "least-busy", null, conversation),
        conversation,
      );
    }
    // Waits for its conversation's instance until recomputing elsewhere would have been done.
    let expired = false;
    const expiry = setTimeout(() => {
      expired = true;
      this.#drain();
    }, this.#affinityWaitMs(conversation));
    expiry.unref();
    try {
      const instance = await this.#joinLine(signal, deadline, (candidate) => candidate === home || expired);
      const reason = instance === home ? "affinity" : "spilled";
      return this.#leaseOn(instance, requestId, reason, instance === home ? homeSlot : null, conversation);
    } finally {
      clearTimeout(expiry);
    }
  }

  /**
   * Waits in line. Those ahead may be holding out for their conversation's instance while
   * another has a free slot: that slot goes to the first waiter that takes it, maybe this one.
   */
  #joinLine(
    signal: AbortSignal,
    deadline: number,
    accepts?: (instance: Instance) => boolean,
  ): Promise<Instance> {
    const waiting = this.#line.wait(signal, deadline, accepts);
    this.#drain();
    return waiting;
  }

  /**
   * A conversation no running instance holds may have been saved when the model was unloaded:
   * read it into the slot the lease got when that is predicted to beat recomputing its prompt.
   */
  async #restoreSaved(lease: Lease, conversation: Conversation | null | undefined): Promise<Lease> {
    const keeper = this.#keeper;
    const route = lease.route;
    if (keeper === null || conversation == null || route === null || route.slot === null) return lease;
    const saved = keeper.find(conversation.keys);
    if (saved === null) return lease;
    const recomputeMs =
      this.#prefillPerMs === null ? Number.POSITIVE_INFINITY : saved.tokens / this.#prefillPerMs;
    let restored = false;
    if (keeper.restoreMs(saved) < recomputeMs) {
      try {
        restored = await keeper.restore(lease.endpoint, route.slot, saved);
      } catch (error) {
        lease.release();
        throw error;
      }
    }
    return { ...lease, route: { ...route, reason: restored ? "restored" : "recomputed" } };
  }

  /** How long a request may wait for its conversation's busy instance: the recompute it saves. */
  #affinityWaitMs(conversation: Conversation | null | undefined): number {
    if (conversation == null || this.#prefillPerMs === null) return 0;
    return Math.min(MAX_AFFINITY_WAIT_MS, conversation.promptTokens / this.#prefillPerMs);
  }

  #usable(instance: Instance, now: number): boolean {
    return instance.supervisor.endpoint() !== null && instance.suspectUntil <= now;
  }

  #hasRoom(instance: Instance): boolean {
    return instance.active < this.#capacity(instance);
  }

  /** The least busy ready instance with a free slot, round-robin among equals. */
  #pickFree(avoid: string | null = null): Instance | null {
    let best: Instance | null = null;
    const count = this.#instances.length;
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      const candidate = this.#instances[(this.#next + i) % count];
      if (candidate === undefined || !this.#hasRoom(candidate) || !this.#usable(candidate, now)) continue;
      if (candidate.supervisor.name === avoid) continue;
      if (best === null || candidate.active < best.active) best = candidate;
    }
    if (best !== null) this.#next = (this.#instances.indexOf(best) + 1) % count;
    return best;
  }

  /** The free slot to pin a request to: `wanted` if free, else the least recently used one. */
  #takeSlot(instance: Instance, wanted: number | null): number | null {
    const slots = instance.slots;
    if (slots === null) return null;
    let chosen = wanted !== null && slots[wanted]?.busy === false ? wanted : -1;
    if (chosen === -1) {
      for (let i = 0; i < slots.length; i++) {
        const slot = slots[i] as Slot;
        if (!slot.busy && (chosen === -1 || slot.lastUsedAt < (slots[chosen] as Slot).lastUsedAt)) chosen = i;
      }
    }
    // No free slot can only follow a reconfigure that shrank maxConcurrent: not pinned then.
    if (chosen === -1) return null;
    (slots[chosen] as Slot).busy = true;
    return chosen;
  }

  /** `instance.active` already counts this request. */
  #leaseOn(
    instance: Instance,
    requestId: string | undefined,
    reason: RouteReason,
    wantedSlot: number | null,
    conversation: Conversation | null | undefined,
  ): Lease {
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
    const affinity = this.#affinity;
    let route: RouteDecision | null = null;
    let slots: Slot[] | null = null;
    if (affinity !== null) {
      slots = instance.slots;
      const slot = this.#takeSlot(instance, wantedSlot);
      route = { instance: instance.index, slot, reason };
      if (slot !== null && slots !== null) (slots[slot] as Slot).key = conversation?.keys.at(-1) ?? null;
      if (conversation != null) affinity.remember(conversation, { instance: instance.index, slot });
    }
    let released = false;
    return {
      modelId: this.#model.id,
      instance: instance.supervisor.name,
      endpoint,
      route,
      upstreamModel: instance.supervisor.model ?? null,
      remote: instance.supervisor.remote === true,
      observe: (ok) => instance.supervisor.observe?.(ok),
      notePrefill: (tokensPerSecond) => {
        if (!(tokensPerSecond > 0)) return;
        const perMs = tokensPerSecond / 1000;
        const previous = this.#prefillPerMs;
        this.#prefillPerMs = previous === null ? perMs : previous + PREFILL_EWMA * (perMs - previous);
      },
      release: () => {
        if (released) return;
        released = true;
        this.#leased--;
        const now = performance.now();
        ended?.(now);
        const slot = route?.slot ?? null;
        // The slot array it was taken from: a reconfigure may have replaced instance.slots.
        if (slot !== null && slots !== null && slots[slot] !== undefined) {
          (slots[slot] as Slot).busy = false;
          (slots[slot] as Slot).lastUsedAt = now;
        }
        // The slot goes straight to the longest waiter that takes this instance; only with
        // nobody waiting for it is it freed.
        if (this.#usable(instance, now) && this.#line.handOff(instance)) return;
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
    while (this.#line.length > 0 && this.#handOne()) {}
  }

  /**
   * One free slot to the first waiter that takes it: the least busy instance's first (as
   * without affinity), then any other free instance's, for waiters that hold out for their
   * conversation's instance. False when no free slot found a taker.
   */
  #handOne(): boolean {
    const first = this.#pickFree();
    if (first === null) return false;
    const now = performance.now();
    for (const candidate of [first, ...this.#instances]) {
      if (candidate !== first && (!this.#hasRoom(candidate) || !this.#usable(candidate, now))) continue;
      candidate.active++;
      if (this.#line.handOff(candidate)) return true;
      candidate.active--;
    }
    return false;
  }

  async stop(): Promise<void> {
    this.#resident = false;
    await this.#saveSlots();
    await Promise.all(this.#instances.map((instance) => instance.supervisor.stop()));
  }

  /** Before its children stop: what their slots hold goes to disk (bounded by the keeper's deadline). */
  async #saveSlots(): Promise<void> {
    const keeper = this.#keeper;
    if (keeper === null) return;
    const contents: SlotContent[] = [];
    for (const instance of this.#instances) {
      const endpoint = instance.supervisor.endpoint();
      if (endpoint === null || instance.slots === null) continue;
      instance.slots.forEach((slot, index) => {
        if (slot.key !== null)
          contents.push({ endpoint, slot: index, key: slot.key, lastUsedAt: slot.lastUsedAt });
      });
    }
    if (contents.length > 0) await keeper.saveAll(contents);
  }

  /** Stops every instance at once: requests in flight are cut (their streams end with an error). */
  async kill(): Promise<void> {
    this.#resident = false;
    await Promise.all(this.#instances.map((instance) => instance.supervisor.kill()));
  }
}
