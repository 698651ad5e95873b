import { GatewayError } from "../errors/gateway-error.js";

interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  /** Whether it takes this value now; absent: any. */
  readonly accepts: ((value: T) => boolean) | undefined;
}

/**
 * A first-in-first-out line of requests waiting for something (a free slot, room to load).
 * A waiter leaves the line when it is handed a value, when its deadline passes (503
 * queue_timeout with Retry-After) or when its client goes away (its signal aborts): a
 * request whose client left is never dispatched.
 */
export class FifoWaiters<T> {
  readonly #line: Waiter<T>[] = [];
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  get length(): number {
    return this.#line.length;
  }

  /**
   * Waits for a value; `accepts` (if given) lets the waiter pass on values it does not want
   * yet (a request waiting for the instance that has its conversation cached): handOff then
   * gives the value to the next waiter in line that takes it.
   */
  wait(signal: AbortSignal, deadline: number, accepts?: (value: T) => boolean): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const leave = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
        const at = this.#line.indexOf(waiter);
        if (at !== -1) this.#line.splice(at, 1);
      };
      const waiter: Waiter<T> = {
        resolve: (value) => {
          leave();
          resolve(value);
        },
        reject: (error) => {
          leave();
          reject(error);
        },
        accepts,
      };
      const onAbort = () => waiter.reject(signal.reason);
      const timer = setTimeout(
        () =>
          waiter.reject(
            new GatewayError("queue_timeout", `waited longer than the queue allows for ${this.#what}`, {
              retryAfterSeconds: 5,
            }),
          ),
        timerDelay(deadline - Date.now()),
      );
      signal.addEventListener("abort", onAbort, { once: true });
      this.#line.push(waiter);
    });
  }

  /** Hands `value` to the longest-waiting request that takes it; false when none does. */
  handOff(value: T): boolean {
    for (const waiter of this.#line) {
      if (waiter.accepts !== undefined && !waiter.accepts(value)) continue;
      waiter.resolve(value);
      return true;
    }
    return false;
  }

  /** Wakes every waiter (they re-check their condition and may wait again). */
  wakeAll(value: T): void {
    for (const waiter of [...this.#line]) waiter.resolve(value);
  }

  rejectAll(error: unknown): void {
    for (const waiter of [...this.#line]) waiter.reject(error);
  }
}

/** setTimeout's longest delay; a longer (or infinite) one would fire after 1 ms instead. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function timerDelay(ms: number): number {
  return Number.isNaN(ms) ? 0 : Math.min(Math.max(0, ms), MAX_TIMER_MS);
}
