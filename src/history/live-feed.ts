import type { RequestRecord } from "../http/request-record.js";

/** A finished request with its place in the feed: the SSE event id a client resumes from. */
export interface FeedEntry {
  readonly seq: number;
  readonly record: RequestRecord;
}

type Listener = (entry: FeedEntry) => void;

/**
 * The live stream of finished requests for the dashboard: numbered, with the last `capacity`
 * kept so a client that reconnects (Last-Event-ID) gets what it missed, within that bound.
 * A listener that throws is dropped from nothing and breaks nothing: the error is swallowed.
 */
export class LiveFeed {
  readonly #capacity: number;
  readonly #ring: FeedEntry[] = [];
  readonly #listeners = new Set<Listener>();
  #next = 1;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  publish(record: RequestRecord): void {
    const entry = { seq: this.#next++, record };
    this.#ring.push(entry);
    if (this.#ring.length > this.#capacity) this.#ring.shift();
    for (const listener of [...this.#listeners]) {
      try {
        listener(entry);
      } catch {
        // A broken viewer must not break the request that finished.
      }
    }
  }

  /** Entries after `seq` still kept, oldest first. */
  since(seq: number): FeedEntry[] {
    return this.#ring.filter((entry) => entry.seq > seq);
  }

  /** The newest entries, newest first. */
  latest(count: number): FeedEntry[] {
    return this.#ring.slice(-count).reverse();
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}
