import { setMaxListeners } from "node:events";
import type { ServerResponse } from "node:http";
import type { GatewayError } from "../errors/gateway-error.js";

/**
 * The responses still open, for graceful shutdown: wait until they have all finished (or the
 * drain time is up, or a second signal says stop now), then cut what is left so that a
 * stream ends with an in-band error event and [DONE] rather than a dropped connection.
 */
export class InFlight {
  readonly #open = new Set<ServerResponse>();
  /**
   * One signal for every request: the shutdown cuts them all at once, and a controller per
   * request cost an allocation (and its signal's setup) on the hot path.
   */
  readonly #cut = new AbortController();
  #wake: (() => void) | null = null;
  #hurried = false;
  #started = 0;
  readonly #onEmpty: (() => void) | null;

  /** `onEmpty` runs each time the last open response closes (runtime/idle-reclaim.ts). */
  constructor(onEmpty: (() => void) | null = null) {
    this.#onEmpty = onEmpty;
    // Every forwarded request listens on the shared signal while it runs: no leak, just many.
    setMaxListeners(0, this.#cut.signal);
  }

  get size(): number {
    return this.#open.size;
  }

  /** Responses tracked since the start. */
  get started(): number {
    return this.#started;
  }

  /** Tracks a response until it closes; the signal aborts when the gateway cuts it. */
  track(res: ServerResponse): AbortSignal {
    this.#open.add(res);
    this.#started++;
    res.once("close", () => {
      this.#open.delete(res);
      if (this.#open.size === 0) {
        this.#wake?.();
        this.#onEmpty?.();
      }
    });
    return this.#cut.signal;
  }

  /** Resolves when every response has finished, after `ms`, or at once after hurry(). */
  drain(ms: number): Promise<void> {
    if (this.#open.size === 0 || this.#hurried) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = () => {
        this.#wake = null;
        done();
      };
    });
  }

  hurry(): void {
    this.#hurried = true;
    this.#wake?.();
  }

  /** Cuts every open response with `reason` (a stream ends with it in-band). */
  cutAll(reason: GatewayError): void {
    this.#cut.abort(reason);
  }
}
