/**
 * How fast a client must take its answer while the gateway waits on it (server.streamIdleTimeout,
 * server.minStreamRate over server.streamRateWindow). Only time in which the client is the
 * bottleneck counts: a slow llama-server never makes its reader look slow.
 */
export interface ReaderPace {
  /** No byte taken for this long while the gateway holds bytes for the client: dropped. */
  readonly idleMs: number;
  /** Bytes per second the client must take, averaged over windowMs, while waited on; 0 = off. */
  readonly minBytesPerSecond: number;
  readonly windowMs: number;
}

export type PaceVerdict = "ok" | "idle" | "slow";

/** One look at the response: when, how many bytes the client has taken so far, whether it is waited on. */
interface Sample {
  readonly at: number;
  readonly taken: number;
  readonly waiting: boolean;
}

/**
 * A window counts against the client when the gateway was waiting on it at this share of the
 * samples at least. Not all: right after the client takes a buffer's worth, the gateway is briefly
 * not waiting until llama-server's next bytes arrive, and a sample may land in that gap.
 */
const WAITING_SHARE = 0.8;

/**
 * The decision of the slow-reader watchdog, fed one sample per tick, with no timers of its own
 * (tested with plain numbers). `idle`: the gateway has waited on the client for idleMs and it took
 * not one byte. `slow`: over the last full windowMs the gateway mostly waited on the client and it
 * took fewer than minBytesPerSecond on average: a reader that drains a trickle (200 bytes/s) to
 * keep a backend slot for ever. Memory: one sample per tick within the window.
 */
export class PaceMeter {
  private readonly pace: ReaderPace;
  private readonly samples: Sample[] = [];
  private stalledSince: number | null = null;

  constructor(pace: ReaderPace) {
    this.pace = pace;
  }

  sample(at: number, taken: number, waiting: boolean): PaceVerdict {
    const last = this.samples.at(-1);
    if (waiting && last !== undefined && taken === last.taken) {
      // Stalled since the last look if it was waited on then too, else since now.
      this.stalledSince ??= last.waiting ? last.at : at;
      if (at - this.stalledSince >= this.pace.idleMs) return "idle";
    } else {
      this.stalledSince = null;
    }
    if (this.pace.minBytesPerSecond === 0) {
      this.samples.splice(0, this.samples.length, { at, taken, waiting });
      return "ok";
    }
    this.samples.push({ at, taken, waiting });
    // Keep the newest sample at or before the window's start: it is the window's base.
    while ((this.samples[1]?.at ?? Number.POSITIVE_INFINITY) <= at - this.pace.windowMs) this.samples.shift();
    const base = this.samples[0];
    if (base === undefined || at - base.at < this.pace.windowMs) return "ok";
    let waited = 0;
    for (let i = 1; i < this.samples.length; i++) if (this.samples[i]?.waiting === true) waited++;
    if (waited < WAITING_SHARE * (this.samples.length - 1)) return "ok";
    const seconds = (at - base.at) / 1000;
    return taken - base.taken < this.pace.minBytesPerSecond * seconds ? "slow" : "ok";
  }
}

/** How often the watchdog samples: often enough for both deadlines, never more than every 10 ms. */
export function tickOf(pace: ReaderPace): number {
  const finest =
    pace.minBytesPerSecond === 0 ? pace.idleMs / 4 : Math.min(pace.idleMs / 4, pace.windowMs / 10);
  return Math.max(10, Math.min(1_000, Math.floor(finest)));
}
