import type { ServerResponse } from "node:http";
import { PaceMeter, type PaceVerdict, type ReaderPace, tickOf } from "./reader-pace.js";

/**
 * Bytes of this connection that the kernel has accepted: everything written to the socket but
 * what still waits in its buffer or in the write in progress (a socket's writableLength counts
 * both). Once the kernel's buffers are full, it grows exactly as fast as the client reads.
 */
function bytesTaken(res: ServerResponse): number | null {
  const socket = res.socket;
  if (socket === null) return null;
  return socket.bytesWritten - socket.writableLength;
}

/** One response being watched; `meter` is made at its first look (a short answer never gets one). */
interface Watched<T> {
  readonly res: ServerResponse;
  readonly owner: T;
  meter: PaceMeter | null;
  taken: number;
}

/**
 * A client that stops reading its answer, or reads it at a trickle, must not hold its backend
 * slot for ever. The proxy already stops reading upstream while the client's socket is full (so
 * memory stays bounded by the socket buffers), but then it waits for 'drain' for as long as the
 * client lets it. This watchdog samples every open response each tick: while the gateway holds
 * bytes the client has not taken (`writableNeedDrain`), a client that takes nothing for
 * `idleMs`, or less than `minBytesPerSecond` over `windowMs`, is dropped (reader-pace.ts
 * decides which). Destroying the response ends the request as one whose client left
 * (request-state.ts): the upstream request is cancelled and the slot freed.
 *
 * One timer for all responses, running only while there is one to watch: a request pays a Set
 * entry, not a timer of its own (the request path's cost, issue 15), and an idle gateway wakes
 * for nothing.
 */
export class SlowReaderWatch<T> {
  readonly #pace: ReaderPace;
  readonly #tickMs: number;
  readonly #onDrop: (owner: T, verdict: Exclude<PaceVerdict, "ok">) => void;
  readonly #watched = new Set<Watched<T>>();
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;

  constructor(
    pace: ReaderPace,
    onDrop: (owner: T, verdict: Exclude<PaceVerdict, "ok">) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#pace = pace;
    this.#tickMs = tickOf(pace);
    this.#onDrop = onDrop;
    this.#now = now;
  }

  /** Watches `res` until `forget` (call it when the response closes). */
  watch(res: ServerResponse, owner: T): Watched<T> {
    const watched: Watched<T> = { res, owner, meter: null, taken: 0 };
    this.#watched.add(watched);
    if (this.#timer === null) {
      this.#timer = setInterval(() => this.#tick(), this.#tickMs);
      this.#timer.unref();
    }
    return watched;
  }

  forget(watched: Watched<T>): void {
    this.#watched.delete(watched);
    if (this.#watched.size === 0 && this.#timer !== null) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  /** Responses being watched now. */
  get size(): number {
    return this.#watched.size;
  }

  /** Whether its timer runs: only while it watches a response. */
  get ticking(): boolean {
    return this.#timer !== null;
  }

  #tick(): void {
    const now = this.#now();
    for (const watched of this.#watched) {
      const { res } = watched;
      watched.taken = bytesTaken(res) ?? watched.taken;
      watched.meter ??= new PaceMeter(this.#pace);
      const verdict = watched.meter.sample(now, watched.taken, res.writableNeedDrain);
      if (verdict === "ok") continue;
      this.forget(watched);
      this.#onDrop(watched.owner, verdict);
      res.destroy(
        new Error(
          verdict === "idle"
            ? "the client stopped reading its response"
            : "the client read its response too slowly",
        ),
      );
    }
  }
}
