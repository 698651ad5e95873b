import { GatewayError } from "../errors/gateway-error.js";
import type { Conversation } from "./affinity-table.js";
import { chooseVictims, type Limits, type LoadedModel } from "./eviction.js";
import type { Lease } from "./lease.js";
import type { ModelGroup } from "./model-group.js";

/** A wait for room that has started (see #roomWait). */
interface RoomWait {
  readonly done: Promise<void>;
}

/** Something waiting for the scheduler's picture to change; `wake` is set while it waits. */
interface Waker {
  wake: (() => void) | null;
}

/** A request (or a load) waiting for room, or held back by the starvation bound (see Scheduler). */
interface Ticket extends Waker {
  readonly group: ModelGroup;
  /** When it started waiting: its wait counts from here across every re-decision. */
  readonly since: number;
  /** Held back before holding its (resident) model, so that model can become idle. */
  frozen: boolean;
  /** Its last decision waited for busy models to become idle (not for retiring pinned ones). */
  needsEviction: boolean;
}

export type UnloadReason = "evicted" | "ttl" | "admin" | "removed" | "replaced";

export interface SchedulerOptions {
  readonly limits: Limits;
  /** A model's memory need for the budget (0 = unknown); called once per model. */
  readonly memoryOf: (group: ModelGroup) => Promise<number>;
  readonly onUnload?: (modelId: string, reason: UnloadReason) => void;
  readonly now?: () => number;
}

export interface UnloadOptions {
  /** Cut requests in flight instead of waiting for them. */
  readonly force: boolean;
  /** How long to wait for in-flight requests before giving up (409 model_busy). */
  readonly drainTimeoutMs: number;
}

/**
 * Decides which model instance serves a request: lazy loads, evicts an idle model when at
 * capacity (chooseVictims), queues requests (bounded, FIFO, with a deadline) while every
 * loaded model is busy or every slot is taken, and unloads idle models after their ttl.
 * Room decisions run one at a time, so two cold models never both think they fit.
 *
 * Swap order (docs/routing.md): a request for a model that is not loaded waits for room
 * while the loaded models are busy, and those keep taking new requests, so one swap serves a
 * batch. A room waiter is *starved* once it has waited `limits.swapDelayMs`. While an older
 * room waiter is starved, a new request for a resident, non-pinned model of the current set
 * (any of them may be the one evicted for it) does not go to that model's slots: it waits,
 * without holding the model, in the same line (`frozen`), so the model drains, becomes idle and
 * is evicted. Requests that already hold a model (running, in its slot line, or waiting for
 * its load) are never held back. So a request waits at most swapDelayMs (from its arrival),
 * plus the drain of what held the model it replaces at the bound, plus its own swap;
 * swapDelayMs 0 is first come, first served across models. Starvation needs no timer of its own: it only matters when a request
 * arrives or a waiter wakes, and it is read from the clock then; every wait keeps its queue
 * deadline. Waiters wake oldest first (the tickets' order), so room goes to the oldest.
 *
 * It lives as long as the gateway; a config reload hands it the next set of groups (adopt).
 * Groups that left the set are "retiring": they finish the requests they have, still count
 * against the limits while they run, are never chosen to make room, and stop once idle.
 */
export class Scheduler {
  /** The current generation's groups by id. */
  #groups: ReadonlyMap<string, ModelGroup> = new Map();
  readonly #retiring = new Set<ModelGroup>();
  #limits: Limits;
  readonly #options: SchedulerOptions;
  readonly #now: () => number;
  /** Requests waiting for room or held back, oldest first (insertion order). */
  readonly #tickets = new Set<Ticket>();
  /** Admin unloads waiting for a model's requests to end. */
  readonly #drainWaiters = new Set<Waker>();
  readonly #ttlTimers = new Map<ModelGroup, NodeJS.Timeout>();
  readonly #memory = new Map<ModelGroup, Promise<number>>();
  #roomLock: Promise<unknown> = Promise.resolve();
  #closed = false;
  /** Set by cancelWaiting: every request still waiting for room gets it. */
  #cancelled: unknown = null;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#limits = options.limits;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Makes `groups` the current set (a config reload); groups of the old set that are not in it
   * retire. New limits apply to the next room decision.
   */
  adopt(groups: readonly ModelGroup[], limits: Limits): void {
    const next = new Map(groups.map((group) => [group.id, group]));
    const kept = new Set(groups);
    for (const old of this.#groups.values()) {
      if (kept.has(old)) continue;
      this.#cancelTtl(old);
      this.#retiring.add(old);
      this.#retireIfIdle(old);
    }
    this.#groups = next;
    this.#limits = limits;
    for (const group of groups) this.#scheduleTtl(group);
    this.#wakeAll();
  }

  /** Called by a group when its last hold ends: someone waiting for room may now fit. */
  notifyIdle(group: ModelGroup): void {
    if (this.#retiring.has(group)) this.#retireIfIdle(group);
    this.#wakeAll();
    this.#scheduleTtl(group);
  }

  /** A failed instance's cool-down ended: try again if the model still holds its place. */
  notifyCooledDown(group: ModelGroup): void {
    if (this.#closed || !group.resident || this.#retiring.has(group)) return;
    group.start().catch(() => {});
  }

  /** The current generation's groups. */
  groups(): ModelGroup[] {
    return [...this.#groups.values()];
  }

  /** Groups a reload replaced or removed that still finish their requests. */
  retiring(): ModelGroup[] {
    return [...this.#retiring];
  }

  /** The current group of `id`, if the config has one. */
  group(id: string): ModelGroup | undefined {
    return this.#groups.get(id);
  }

  #retireIfIdle(group: ModelGroup): void {
    if (group.holds > 0) return;
    this.#retiring.delete(group);
    if (!group.resident) return;
    // Under the room lock: its memory counts until it has really stopped.
    void this.#withRoomLock(async () => {
      this.#options.onUnload?.(group.id, this.#groups.has(group.id) ? "replaced" : "removed");
      await group.stop();
    }).finally(() => this.#wakeAll());
  }

  /**
   * The group a request should use: `group` itself, or when a reload retired it after the
   * request looked it up, the current group of the same id.
   */
  #current(group: ModelGroup): ModelGroup {
    if (this.#groups.get(group.id) === group) return group;
    if (this.#retiring.has(group) && group.resident) return group;
    const current = this.#groups.get(group.id);
    if (current === undefined)
      throw new GatewayError("model_not_found", `The model '${group.id}' was removed by a config reload`, {
        param: "model",
      });
    return current;
  }

  /**
   * A lease on a ready instance slot of the group; release it when the response has ended.
   * `requestId` names the request in the instance's crash log line; `conversation` routes it to
   * where its conversation is cached (affinity); `avoid` names an instance a retry must not use.
   */
  async acquire(
    asked: ModelGroup,
    signal: AbortSignal,
    requestId?: string,
    conversation?: Conversation | null,
    avoid: string | null = null,
  ): Promise<Lease> {
    if (this.#closed)
      throw new GatewayError("shutting_down", "the gateway is shutting down", { retryAfterSeconds: 5 });
    const group = this.#current(asked);
    // A parked model fails fast, and never makes room (evicting a healthy model) first.
    const failure = group.failure();
    if (failure !== null) throw failure;
    const modelId = group.id;
    // maxQueue bounds the requests that wait beyond the model's slots: the ones waiting for a
    // load that will give each of them a slot are not "queued" (with maxQueue 0 the model
    // could otherwise never load).
    const waiting = group.waiting + this.#frozenFor(group);
    if (waiting >= group.model.maxQueue + group.unleasedSlots()) {
      throw new GatewayError("queue_full", `${waiting} requests are already waiting for model ${modelId}`, {
        retryAfterSeconds: 1,
      });
    }
    this.#cancelTtl(group);
    const deadline = this.#now() + group.model.queueTimeoutMs;
    let held = false;
    const hold = () => {
      group.hold(this.#now());
      held = true;
    };
    try {
      // A model served only by remote upstreams needs no room: nothing of it is loaded here.
      if (!group.needsRoom || (group.resident && !this.#frozen(group, null))) hold();
      else await this.#admit(group, signal, deadline, hold);
      const lease = await group.lease(signal, deadline, requestId, conversation, avoid);
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
      if (held) group.unhold(this.#now());
      throw error;
    }
  }

  /** Loads a model without a request (preload, admin load): makes room, then starts it. */
  async load(asked: ModelGroup, signal: AbortSignal = new AbortController().signal): Promise<void> {
    if (this.#closed)
      throw new GatewayError("shutting_down", "the gateway is shutting down", { retryAfterSeconds: 5 });
    const group = this.#current(asked);
    const failure = group.failure();
    if (failure !== null) throw failure;
    group.hold(this.#now());
    try {
      if (!group.resident && group.needsRoom)
        await this.#admit(group, signal, Number.POSITIVE_INFINITY, null);
      await group.start(signal);
    } finally {
      group.unhold(this.#now());
    }
  }

  /**
   * Unloads a model (admin): waits until no request holds it (up to drainTimeoutMs, then 409
   * model_busy), or with `force` stops it at once and cuts what is in flight.
   */
  async unload(group: ModelGroup, options: UnloadOptions): Promise<void> {
    this.#cancelTtl(group);
    if (options.force) {
      await this.#withRoomLock(async () => {
        this.#options.onUnload?.(group.id, "admin");
        await group.kill();
      });
      return;
    }
    const deadline = this.#now() + options.drainTimeoutMs;
    for (;;) {
      // The wait is registered under the lock (no idle notice can slip in before it) and
      // awaited outside it, so room decisions go on meanwhile.
      const busy = await this.#withRoomLock(async () => {
        if (group.holds > 0) {
          const waker: Waker = { wake: null };
          this.#drainWaiters.add(waker);
          const timeout = new GatewayError("queue_timeout", `model ${group.id} is still busy`);
          const done = this.#waitForRoom(deadline, new AbortController().signal, timeout, waker);
          const drained = done.finally(() => this.#drainWaiters.delete(waker));
          // Awaited once the room lock is released.
          drained.catch(() => {});
          return { done: drained };
        }
        if (group.resident) {
          this.#options.onUnload?.(group.id, "admin");
          await group.stop();
        }
        return null;
      });
      if (busy === null) return;
      try {
        await busy.done;
      } catch {
        throw new GatewayError(
          "model_busy",
          `model ${group.id} still has ${group.holds} requests after ${options.drainTimeoutMs / 1000}s; unload with ?force=1 to cut them`,
        );
      }
    }
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

  /**
   * Waits until `group` is resident and this request may go to its slots: first, while the
   * starvation bound holds it back, without holding the model (so it can become idle); then,
   * holding it (`hold`, or null when the caller already holds it), until there is room to load
   * it. Each decision (and the evictions it needs) runs under the room lock; waiting for room
   * does not hold it, so an admin unload, a ttl unload or a retiring group's stop never queue
   * behind a request that waits for room (which would also start a model before the one it
   * replaces has stopped).
   */
  async #admit(
    group: ModelGroup,
    signal: AbortSignal,
    deadline: number,
    hold: (() => void) | null,
  ): Promise<void> {
    const ticket: Ticket = { group, since: this.#now(), frozen: false, needsEviction: true, wake: null };
    this.#tickets.add(ticket);
    let holding = hold === null;
    try {
      for (;;) {
        let wait: RoomWait | null;
        ticket.frozen = !holding && this.#frozen(group, ticket);
        if (ticket.frozen) {
          const timeout = new GatewayError(
            "queue_timeout",
            `waited too long for model ${group.id} while another model waited to load`,
            { retryAfterSeconds: 5 },
          );
          wait = { done: this.#waitForRoom(deadline, signal, timeout, ticket) };
        } else {
          if (!holding) {
            hold?.();
            holding = true;
          }
          if (group.resident) return;
          wait = await this.#withRoomLock(() => this.#decideRoom(group, signal, deadline, ticket));
          if (wait === null) return;
        }
        await wait.done;
        if (this.#cancelled !== null) throw this.#cancelled;
      }
    } finally {
      this.#tickets.delete(ticket);
      // Whoever it held back may go now (it loaded, or gave up).
      if ([...this.#tickets].some((other) => other.frozen)) this.#wakeAll();
    }
  }

  /**
   * Whether a request for `group` that does not hold it yet is held back: an older ticket that
   * waits for room for another model (and for busy models to become idle) has waited
   * swapDelayMs or more. Pinned and retiring models are never evicted, so never held back.
   */
  #frozen(group: ModelGroup, own: Ticket | null): boolean {
    if (!group.resident || group.model.pinned || this.#groups.get(group.id) !== group) return false;
    const now = this.#now();
    for (const ticket of this.#tickets) {
      if (ticket === own) return false;
      if (ticket.group === group || ticket.group.resident || !ticket.needsEviction) continue;
      if (now - ticket.since >= this.#limits.swapDelayMs) return true;
    }
    return false;
  }

  /** Requests for `group` held back by the starvation bound (they count against maxQueue). */
  #frozenFor(group: ModelGroup): number {
    let count = 0;
    for (const ticket of this.#tickets) if (ticket.frozen && ticket.group === group) count++;
    return count;
  }

  /** Wakes every waiter, oldest ticket first, so the room lock serves them in arrival order. */
  #wakeAll(): void {
    for (const ticket of [...this.#tickets]) ticket.wake?.();
    for (const waker of [...this.#drainWaiters]) waker.wake?.();
  }

  /** Makes `group` resident (evicting what the policy says) and answers null, or answers the wait. */
  async #decideRoom(
    group: ModelGroup,
    signal: AbortSignal,
    deadline: number,
    ticket: Ticket,
  ): Promise<RoomWait | null> {
    const budgeted = this.#limits.memoryBudgetBytes !== null;
    if (group.resident) return null;
    // A reload retired it while this request waited for room: never start an obsolete group.
    if (this.#groups.get(group.id) !== group)
      throw new GatewayError(
        "backend_unavailable",
        `model ${group.id} was reconfigured while this request waited; retry`,
        {
          retryAfterSeconds: 1,
        },
      );
    const loaded: LoadedModel[] = [];
    for (const other of this.groups()) {
      if (!other.resident) continue;
      loaded.push({
        id: other.id,
        inFlight: other.holds,
        // A parked model holds no memory worth keeping: it makes room first.
        lastUsedAt: other.failure() === null ? other.lastUsedAt : Number.NEGATIVE_INFINITY,
        pinned: other.model.pinned,
        bytes: budgeted ? await this.#memoryOf(other) : 0,
        loadMs: other.lastLoadMs ?? 0,
      });
    }
    // Retiring groups still hold their memory, and are never chosen: they stop once idle.
    let index = 0;
    for (const other of this.#retiring) {
      if (!other.resident) continue;
      loaded.push({
        id: `${other.id} (retiring ${index++})`,
        inFlight: other.holds,
        lastUsedAt: other.lastUsedAt,
        pinned: true,
        bytes: budgeted ? await this.#memoryOf(other) : 0,
        loadMs: other.lastLoadMs ?? 0,
      });
    }
    const wanted = { id: group.id, bytes: budgeted ? await this.#memoryOf(group) : 0 };
    const decision = chooseVictims(wanted, loaded, this.#limits);
    ticket.needsEviction = decision.kind === "wait";
    if (decision.kind === "impossible") {
      // Pinned retiring groups may be what fills the limits: they go away, so wait for them.
      if (this.#retiring.size === 0) throw new GatewayError("model_load_failed", decision.reason);
      return this.#roomWait(deadline, signal, group.id, ticket);
    }
    if (decision.kind === "load") {
      await Promise.all(decision.victims.map((id) => this.#unload(id, "evicted")));
      group.markResident();
      return null;
    }
    return this.#roomWait(deadline, signal, group.id, ticket);
  }

  /** Starts waiting for room now; wrapped, since an async function would flatten the promise. */
  #roomWait(deadline: number, signal: AbortSignal, modelId: string, ticket: Ticket): RoomWait {
    const timeout = new GatewayError("queue_timeout", `waited too long for room to load model ${modelId}`, {
      retryAfterSeconds: 5,
    });
    const done = this.#waitForRoom(deadline, signal, timeout, ticket);
    // Awaited by the caller once the room lock is released.
    done.catch(() => {});
    return { done };
  }

  async #unload(id: string, reason: UnloadReason): Promise<void> {
    const group = this.#groups.get(id);
    if (group === undefined) return;
    this.#cancelTtl(group);
    this.#options.onUnload?.(id, reason);
    await group.stop();
  }

  /** Resolves when `waker` is woken; rejects with `timeout` at the deadline, or when `signal` aborts. */
  #waitForRoom(deadline: number, signal: AbortSignal, timeout: GatewayError, waker: Waker): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (error?: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        if (waker.wake === wake) waker.wake = null;
        if (error === undefined) resolve();
        else reject(error);
      };
      const wake = () => finish();
      const onAbort = () => finish(signal.reason);
      const left = deadline - this.#now();
      // setTimeout's longest delay: a longer (or infinite) one would fire after 1 ms instead.
      const timer = setTimeout(() => finish(timeout), Math.min(Math.max(0, left), 2 ** 31 - 1));
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      waker.wake = wake;
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

  /** Every request waiting for a slot or for room gets `reason` now (the shutdown drain ran out). */
  cancelWaiting(reason: unknown): void {
    this.#cancelled = reason;
    for (const group of [...this.groups(), ...this.#retiring]) group.cancelWaiting(reason);
    this.#wakeAll();
  }

  /** Stops every model's children (graceful: SIGTERM, grace, SIGKILL). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.groups(), ...this.#retiring].map((group) => group.stop()));
  }
}
