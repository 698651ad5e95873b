/**
 * How long after it ended a request still counts as a suspect when its instance crashes: the
 * proxy may see the backend's connection drop (and release the request) before the supervisor
 * sees the process exit and reports the crash. Both orders happen with a mid-stream crash.
 */
export const ENDED_WINDOW_MS = 1_000;
/** The last few ended requests are kept per instance; a crash names at most this many of them. */
const ENDED_KEPT = 16;

interface Entry {
  readonly id: string;
}

/**
 * The request ids one instance is serving, and the last few it finished: who was there when
 * it crashed, so an operator can find the client that crashed it. Ids may repeat (a client can
 * send its own x-request-id), so each request is its own entry.
 */
export class InstanceRequests {
  readonly #active = new Set<Entry>();
  readonly #ended: { readonly id: string; readonly at: number }[] = [];

  /** A request was dispatched here; call the returned function when it ends (again: no-op). */
  begin(id: string): (now: number) => void {
    const entry = { id };
    this.#active.add(entry);
    return (now) => {
      if (!this.#active.delete(entry)) return;
      this.#ended.push({ id, at: now });
      if (this.#ended.length > ENDED_KEPT) this.#ended.shift();
    };
  }

  /** The ids in flight, then those that ended within ENDED_WINDOW_MS before `now` (latest last). */
  suspects(now: number): string[] {
    const ended = this.#ended.filter((e) => now - e.at <= ENDED_WINDOW_MS).map((e) => e.id);
    return [...[...this.#active].map((entry) => entry.id), ...ended];
  }
}
