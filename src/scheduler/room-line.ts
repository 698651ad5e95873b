import type { ModelGroup } from "./model-group.js";

/** Something waiting for the scheduler's picture to change; `wake` is set while it waits. */
export interface Waker {
  wake: (() => void) | null;
}

/** A request (or a load) waiting for room, or held back by the starvation bound (see Scheduler). */
export interface Ticket extends Waker {
  readonly group: ModelGroup;
  /** When it started waiting: its wait counts from here across every re-decision. */
  readonly since: number;
  /** Held back before holding its (resident) model, so that model can become idle. */
  frozen: boolean;
  /** Its last decision waited for busy models to become idle (not for retiring pinned ones). */
  needsEviction: boolean;
}

/**
 * Everyone waiting on the scheduler: requests waiting for room to load their model (or held
 * back by the starvation bound), oldest first, and admin unloads waiting for a model's requests
 * to end. Woken together whenever the picture changes; each re-decides under the room lock.
 */
export class RoomLine {
  /** Oldest first (a Set keeps insertion order). */
  readonly #tickets = new Set<Ticket>();
  readonly #drainWaiters = new Set<Waker>();

  enter(group: ModelGroup, since: number): Ticket {
    const ticket: Ticket = { group, since, frozen: false, needsEviction: true, wake: null };
    this.#tickets.add(ticket);
    return ticket;
  }

  leave(ticket: Ticket): void {
    this.#tickets.delete(ticket);
    // Whoever it held back may go now (it loaded, or gave up).
    if ([...this.#tickets].some((other) => other.frozen)) this.wakeAll();
  }

  /** An admin unload waits for a model's requests to end (woken like the rest), for `leftMs`. */
  waitForDrain(leftMs: number, timeout: unknown): RoomWait {
    const waker: Waker = { wake: null };
    this.#drainWaiters.add(waker);
    const done = waitForWake(waker, leftMs, new AbortController().signal, timeout).finally(() =>
      this.#drainWaiters.delete(waker),
    );
    done.catch(() => {});
    return { done };
  }

  /**
   * Whether a ticket older than `own`, waiting for room for a model other than `group` that is
   * not loaded (and for busy models to become idle), has waited `swapDelayMs` or more.
   */
  starvedAhead(group: ModelGroup, own: Ticket | null, now: number, swapDelayMs: number): boolean {
    for (const ticket of this.#tickets) {
      if (ticket === own) return false;
      if (ticket.group === group || ticket.group.resident || !ticket.needsEviction) continue;
      if (now - ticket.since >= swapDelayMs) return true;
    }
    return false;
  }

  /** Requests for `group` held back by the starvation bound (they count against maxQueue). */
  frozenFor(group: ModelGroup): number {
    let count = 0;
    for (const ticket of this.#tickets) if (ticket.frozen && ticket.group === group) count++;
    return count;
  }

  /** Wakes every waiter, oldest ticket first, so the room lock serves them in arrival order. */
  wakeAll(): void {
    for (const ticket of [...this.#tickets]) ticket.wake?.();
    for (const waker of [...this.#drainWaiters]) waker.wake?.();
  }
}

/** A wait that has started, awaited later (an async function would flatten the promise). */
export interface RoomWait {
  readonly done: Promise<void>;
}

/** Starts waitForWake now; its rejection counts as handled until the caller awaits `done`. */
export function startWait(waker: Waker, leftMs: number, signal: AbortSignal, timeout: unknown): RoomWait {
  const done = waitForWake(waker, leftMs, signal, timeout);
  done.catch(() => {});
  return { done };
}

/**
 * Resolves when `waker` is woken; rejects with `timeout` after `leftMs`, or with the signal's
 * reason when it aborts.
 */
export function waitForWake(
  waker: Waker,
  leftMs: number,
  signal: AbortSignal,
  timeout: unknown,
): Promise<void> {
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
    // setTimeout's longest delay: a longer (or infinite) one would fire after 1 ms instead.
    const timer = setTimeout(() => finish(timeout), Math.min(Math.max(0, leftMs), 2 ** 31 - 1));
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    waker.wake = wake;
  });
}
