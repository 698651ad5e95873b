import { GatewayError } from "../errors/gateway-error.js";
import { adminUnload } from "./admin-unload.js";
import type { Conversation } from "./affinity-table.js";
import { chooseVictims, type Limits } from "./eviction.js";
import type { Lease } from "./lease.js";
import { alsoOnRelease } from "./lease-on.js";
import { loadedPicture } from "./loaded-picture.js";
import type { ModelGroup } from "./model-group.js";
import { RoomLine, type RoomWait, startWait, type Ticket } from "./room-line.js";
import type { SchedulerOptions, UnloadOptions, UnloadReason } from "./scheduler-options.js";
import { TtlTimers } from "./ttl-timers.js";

export type { SchedulerOptions, UnloadOptions, UnloadReason } from "./scheduler-options.js";

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
  /** Requests waiting for room or held back, oldest first, and admin unloads waiting for a drain. */
  readonly #waiting = new RoomLine();
  /** An idle resident model with a ttl is unloaded when the ttl passes without a request. */
  readonly #ttl = new TtlTimers((group) => {
    void this.#withRoomLock(async () => {
      if (group.holds === 0 && group.resident) await this.#unload(group.id, "ttl");
    });
  });
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
      this.#ttl.cancel(old);
      this.#retiring.add(old);
      this.#retireIfIdle(old);
    }
    this.#groups = next;
    this.#limits = limits;
    for (const group of groups) this.#scheduleTtl(group);
    this.#waiting.wakeAll();
  }

  /** Called by a group when its last hold ends: someone waiting for room may now fit. */
  notifyIdle(group: ModelGroup): void {
    if (this.#retiring.has(group)) this.#retireIfIdle(group);
    this.#waiting.wakeAll();
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
    }).finally(() => this.#waiting.wakeAll());
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
    const group = this.#usable(asked);
    const modelId = group.id;
    // maxQueue bounds the requests that wait beyond the model's slots: the ones waiting for a
    // load that will give each of them a slot are not "queued" (with maxQueue 0 the model
    // could otherwise never load).
    const waiting = group.waiting + this.#waiting.frozenFor(group);
    if (waiting >= group.model.maxQueue + group.unleasedSlots()) {
      throw new GatewayError("queue_full", `${waiting} requests are already waiting for model ${modelId}`, {
        retryAfterSeconds: 1,
      });
    }
    this.#ttl.cancel(group);
    const deadline = this.#now() + group.model.queueTimeoutMs;
    let held = false;
    const hold = () => {
      group.hold(this.#now());
      held = true;
    };
    try {
      if (this.#servesNow(group)) hold();
      else await this.#admit(group, signal, deadline, hold);
      const lease = await group.lease(signal, deadline, requestId, conversation, avoid);
      return alsoOnRelease(lease, () => group.unhold(this.#now()));
    } catch (error) {
      if (held) group.unhold(this.#now());
      throw error;
    }
  }

  /**
   * acquire() without a promise, when nothing has to wait (issue 15: the request path's common
   * case): the gateway is open, the model is loaded, not parked and not held back by the swap
   * order, and a slot is free where the request should go (ModelGroup.tryLease). Null otherwise:
   * then acquire() decides, exactly as before (its queue limit, room, load and line).
   */
  tryAcquire(
    asked: ModelGroup,
    requestId?: string,
    conversation?: Conversation | null,
    avoid: string | null = null,
  ): Lease | null {
    if (this.#closed || this.#groups.get(asked.id) !== asked) return null;
    const group = asked;
    if (group.failure() !== null || !this.#servesNow(group)) return null;
    // Holding first, as acquire() does: the group is in use from here on.
    group.hold(this.#now());
    const lease = group.tryLease(requestId, conversation, avoid);
    if (lease === null) {
      group.unhold(this.#now());
      return null;
    }
    this.#ttl.cancel(group);
    return alsoOnRelease(lease, () => group.unhold(this.#now()));
  }

  /**
   * The current group for a request or a load: refused at once while the gateway shuts down,
   * and a parked model fails fast, never making room (evicting a healthy model) first.
   */
  #usable(asked: ModelGroup): ModelGroup {
    if (this.#closed)
      throw new GatewayError("shutting_down", "the gateway is shutting down", { retryAfterSeconds: 5 });
    const group = this.#current(asked);
    const failure = group.failure();
    if (failure !== null) throw failure;
    return group;
  }

  /**
   * Whether a request may go to the group's slots without waiting for room: it is loaded and
   * not held back by the swap order, or it is served only by remote upstreams (nothing of it is
   * loaded here, so it needs no room).
   */
  #servesNow(group: ModelGroup): boolean {
    return !group.needsRoom || (group.resident && !this.#frozen(group, null));
  }

  /** Loads a model without a request (preload, admin load): makes room, then starts it. */
  async load(asked: ModelGroup, signal: AbortSignal = new AbortController().signal): Promise<void> {
    const group = this.#usable(asked);
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
   * model_busy), or with `force` stops it at once and cuts what is in flight (admin-unload.ts).
   */
  async unload(group: ModelGroup, options: UnloadOptions): Promise<void> {
    this.#ttl.cancel(group);
    await adminUnload(group, options, {
      withRoomLock: (operation) => this.#withRoomLock(operation),
      waitForDrain: (ms, timeout) => this.#waiting.waitForDrain(ms, timeout),
      onUnload: (id) => this.#options.onUnload?.(id, "admin"),
      now: this.#now,
    });
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
    const ticket = this.#waiting.enter(group, this.#now());
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
          wait = startWait(ticket, deadline - this.#now(), signal, timeout);
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
      this.#waiting.leave(ticket);
    }
  }

  /**
   * Whether a request for `group` that does not hold it yet is held back: an older ticket that
   * waits for room for another model (and for busy models to become idle) has waited
   * swapDelayMs or more. Pinned and retiring models are never evicted, so never held back.
   */
  #frozen(group: ModelGroup, own: Ticket | null): boolean {
    if (!group.resident || group.model.pinned || this.#groups.get(group.id) !== group) return false;
    return this.#waiting.starvedAhead(group, own, this.#now(), this.#limits.swapDelayMs);
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
    if (this.#groups.get(group.id) !== group) {
      const message = `model ${group.id} was reconfigured while this request waited; retry`;
      throw new GatewayError("backend_unavailable", message, { retryAfterSeconds: 1 });
    }
    // With a budget, every memory need is known before the picture is taken (see loadedPicture).
    const bytes = new Map<ModelGroup, number>();
    if (budgeted)
      for (const other of [group, ...this.groups(), ...this.#retiring])
        if (other === group || other.resident) bytes.set(other, await this.#memoryOf(other));
    const loaded = loadedPicture(this.groups(), this.#retiring, (other) => bytes.get(other) ?? 0);
    const wanted = { id: group.id, bytes: bytes.get(group) ?? 0 };
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

  /** Starts waiting for room now (see RoomWait). */
  #roomWait(deadline: number, signal: AbortSignal, modelId: string, ticket: Ticket): RoomWait {
    const timeout = new GatewayError("queue_timeout", `waited too long for room to load model ${modelId}`, {
      retryAfterSeconds: 5,
    });
    // Awaited by the caller once the room lock is released.
    return startWait(ticket, deadline - this.#now(), signal, timeout);
  }

  async #unload(id: string, reason: UnloadReason): Promise<void> {
    const group = this.#groups.get(id);
    if (group === undefined) return;
    this.#ttl.cancel(group);
    this.#options.onUnload?.(id, reason);
    await group.stop();
  }

  #scheduleTtl(group: ModelGroup): void {
    if (!this.#closed) this.#ttl.schedule(group);
  }

  /** Refuse new work from now on (graceful shutdown). */
  close(): void {
    this.#closed = true;
    for (const group of this.#groups.values()) this.#ttl.cancel(group);
  }

  /** Every request waiting for a slot or for room gets `reason` now (the shutdown drain ran out). */
  cancelWaiting(reason: unknown): void {
    this.#cancelled = reason;
    for (const group of [...this.groups(), ...this.#retiring]) group.cancelWaiting(reason);
    this.#waiting.wakeAll();
  }

  /** Stops every model's children (graceful: SIGTERM, grace, SIGKILL). */
  async stopAll(): Promise<void> {
    await Promise.all([...this.groups(), ...this.#retiring].map((group) => group.stop()));
  }
}
