import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export type Collection = "minor" | "major";

export interface IdleReclaimDeps {
  /** Requests in flight now, and how many have started since the process began. */
  readonly activity: () => { readonly inFlight: number; readonly started: number };
  /** The process's resident memory now (bytes). */
  readonly rss: () => number;
  /** One collection of that kind, on this thread, now. */
  readonly collect: (kind: Collection) => void;
  /** No request started and none in flight this long: the gateway is idle. */
  readonly quietMs?: number;
  /** From the minor collection to the major one. */
  readonly windowMs?: number;
  /** How much the resident memory must have grown since the last reclaim to make one worth it. */
  readonly minGrowthBytes?: number;
  readonly setTimer?: (run: () => void, ms: number) => { unref(): unknown };
  readonly clearTimer?: (timer: { unref(): unknown }) => void;
}

export const QUIET_MS = 2_000;
/**
 * V8 shrinks the young generation in a full collection only when it measured a low allocation
 * rate over its last 5 s (its allocation-throughput window, fed at each collection): a minor
 * collection when the gateway goes quiet starts that window, the major one comes after it.
 */
export const WINDOW_MS = 5_500;
/** Less growth than this is not a burst's leftovers (a health probe now and then). */
export const MIN_GROWTH_BYTES = 16 * 2 ** 20;

/**
 * Gives memory back once the gateway goes idle after a burst. Under load V8 grows the young
 * generation to its maximum (two 16 MB semi-spaces) and keeps it: about 40 MB of the idle
 * gateway's resident memory, which V8's own memory reducer gives back much later or not at all
 * (bench/report/notes.md, "Memory"). About 8 s after the last request: a minor collection, then
 * 5.5 s later a full one, which shrinks the young generation to 1 MB; it grows back within the
 * next burst's first few hundred requests.
 *
 * Never while a request is in flight (a request between the two steps starts over), at most one
 * reclaim per idle period (the next needs a request first), none when the memory has not grown
 * by MIN_GROWTH_BYTES since the last: a health probe every few seconds costs nothing. A reclaim
 * costs a few milliseconds of the main thread (a full collection of a small heap), when nothing waits.
 */
export class IdleReclaim {
  readonly #deps: IdleReclaimDeps;
  readonly #quietMs: number;
  readonly #windowMs: number;
  readonly #minGrowth: number;
  #timer: { unref(): unknown } | null = null;
  /** The request count when the timer was armed: any change means not idle (any more). */
  #startedAtArm = 0;
  /** The request count at the last reclaim: no request since means the same idle period. */
  #startedAtReclaim = -1;
  /** Between the minor collection and the major one. */
  #settling = false;
  #baseline: number;
  #closed = false;

  constructor(deps: IdleReclaimDeps) {
    this.#deps = deps;
    this.#quietMs = deps.quietMs ?? QUIET_MS;
    this.#windowMs = deps.windowMs ?? WINDOW_MS;
    this.#minGrowth = deps.minGrowthBytes ?? MIN_GROWTH_BYTES;
    this.#baseline = deps.rss();
  }

  /** The last request in flight finished: the gateway may be going idle (one timer at most). */
  notifyEmpty(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#arm(this.#quietMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) (this.#deps.clearTimer ?? clearTimeout)(this.#timer as NodeJS.Timeout);
    this.#timer = null;
  }

  #arm(ms: number): void {
    this.#startedAtArm = this.#deps.activity().started;
    const timer = (this.#deps.setTimer ?? setTimeout)(() => this.#check(), ms);
    timer.unref();
    this.#timer = timer;
  }

  #check(): void {
    this.#timer = null;
    if (this.#closed) return;
    const { inFlight, started } = this.#deps.activity();
    if (inFlight > 0 || started !== this.#startedAtArm) {
      // Not idle: start over. With requests in flight the last one's end arms the timer again.
      this.#settling = false;
      if (inFlight === 0) this.#arm(this.#quietMs);
      return;
    }
    if (this.#settling) {
      this.#settling = false;
      this.#startedAtReclaim = started;
      this.#deps.collect("major");
      this.#baseline = this.#deps.rss();
      return;
    }
    if (started === this.#startedAtReclaim) return;
    if (this.#deps.rss() - this.#baseline < this.#minGrowth) return;
    this.#deps.collect("minor");
    this.#settling = true;
    this.#arm(this.#windowMs);
  }
}

/**
 * V8's collections, as `node --expose-gc` gives them (`gc({type})`), obtained without that flag:
 * the flag set now exposes `gc` in contexts created after it, so one small context is made for it.
 * Called at the first reclaim, not at start.
 */
export function v8Collection(): (kind: Collection) => void {
  let gc = (globalThis as { gc?: (options?: object) => void }).gc;
  if (typeof gc !== "function") {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as (options?: object) => void;
  }
  const collect = gc;
  return (kind) => collect({ type: kind });
}
