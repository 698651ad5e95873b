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
  /** The newest `capacity` entries; `#start` is the oldest once the ring is full. */
  readonly #ring: FeedEntry[] = [];
  #start = 0;
  readonly #listeners = new Set<Listener>();
  #next = 1;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  publish(record: RequestRecord): void {
    const entry = { seq: this.#next++, record };
    // Overwrites the oldest in place: no array shift (a copy of the whole ring) per request.
    if (this.#ring.length < this.#capacity) this.#ring.push(entry);
    else {
      this.#ring[this.#start] = entry;
      this.#start = (this.#start + 1) % this.#capacity;
    }
    if (this.#listeners.size === 0) return;
    for (const listener of [...this.#listeners]) {
      try {
        listener(entry);
      } catch {
        // A broken viewer must not break the request that finished.
      }
    }
  }

  /** Oldest first. */
  #ordered(): FeedEntry[] {
    return this.#start === 0
      ? this.#ring
      : [...this.#ring.slice(this.#start), ...this.#ring.slice(0, this.#start)];
  }

  /** Entries after `seq` still kept, oldest first. */
  since(seq: number): FeedEntry[] {
    return this.#ordered().filter((entry) => entry.seq > seq);
  }

  /** The newest entries, newest first. */
  latest(count: number): FeedEntry[] {
    return this.#ordered().slice(-count).reverse();
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get listeners(): number {
    return this.#listeners.size;
  }
}
