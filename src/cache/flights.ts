import type { GatewayError } from "../errors/gateway-error.js";
import type { CachedAnswer } from "./answer.js";

/**
 * How the request that reached llama-server for a key (the leader) ended, for the identical
 * requests that waited for it: its answer; its error, which they get too (they asked the very
 * same thing); or `retry` when the leader ended without an answer to share (its client left,
 * the answer could not be recorded), so a waiter goes on by itself.
 */
export type FlightResult =
  | { readonly kind: "answer"; readonly answer: CachedAnswer }
  | { readonly kind: "error"; readonly error: GatewayError }
  | { readonly kind: "retry" };

/** The leader's handle on its flight: it must land it exactly once (later calls do nothing). */
export interface Flight {
  land(result: FlightResult): void;
}

interface Entry {
  readonly done: Promise<FlightResult>;
  waiters: number;
}

/**
 * Identical cacheable requests in flight at once: the first leads (goes to llama-server), the
 * others join and wait for its result instead of each using a backend slot. A waiter whose
 * client leaves stops waiting alone; the leader and the other waiters go on.
 */
export class Flights {
  readonly #entries = new Map<string, Entry>();

  /** Starts the flight for `key`; null when one is already in the air (join it instead). */
  lead(key: string): Flight | null {
    if (this.#entries.has(key)) return null;
    let resolve!: (result: FlightResult) => void;
    const entry: Entry = { done: new Promise<FlightResult>((r) => (resolve = r)), waiters: 0 };
    this.#entries.set(key, entry);
    let landed = false;
    return {
      land: (result) => {
        if (landed) return;
        landed = true;
        if (this.#entries.get(key) === entry) this.#entries.delete(key);
        resolve(result);
      },
    };
  }

  /**
   * Waits for the flight of `key`, or null when there is none. Rejects with the signal's
   * reason when the waiter's client leaves. Bounded by the leader's own deadlines (queue
   * timeout, first-byte and idle timeouts, the shutdown cut): every flight lands.
   */
  join(key: string, signal: AbortSignal): Promise<FlightResult> | null {
    const entry = this.#entries.get(key);
    if (entry === undefined) return null;
    entry.waiters++;
    return new Promise<FlightResult>((resolve, reject) => {
      const leave = () => {
        entry.waiters--;
        reject(signal.reason);
      };
      if (signal.aborted) return leave();
      signal.addEventListener("abort", leave, { once: true });
      void entry.done.then((result) => {
        signal.removeEventListener("abort", leave);
        if (signal.aborted) return;
        entry.waiters--;
        resolve(result);
      });
    });
  }

  /** Flights in the air and the requests waiting on them. */
  counts(): { flights: number; waiters: number } {
    let waiters = 0;
    for (const entry of this.#entries.values()) waiters += entry.waiters;
    return { flights: this.#entries.size, waiters };
  }
}
