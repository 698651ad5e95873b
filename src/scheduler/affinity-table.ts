/**
 * A request's conversation as the scheduler sees it: opaque prefix keys (hashes of its leading
 * messages or prompt blocks, shortest prefix first, the whole request last) and a size from
 * which the cost of recomputing its prompt is predicted. Computed by the HTTP layer
 * (http/routes/conversation-keys.ts); the scheduler never reads request bodies.
 */
export interface Conversation {
  readonly keys: readonly string[];
  /** About how many prompt tokens the request carries (bytes / 4). */
  readonly promptTokens: number;
}

/** Where a conversation was last served: an instance of the group and a slot on it. */
export interface Placement {
  readonly instance: number;
  /** The llama-server slot; null when requests are not pinned to slots. */
  readonly slot: number | null;
}

/** Conversations remembered per model; the oldest are forgotten first. */
export const AFFINITY_ENTRIES = 4096;

/**
 * Which instance and slot served each recent conversation, by the key of its whole request: a
 * later request whose leading messages are that whole request (the next turn) finds it. Bounded
 * LRU on a Map's insertion order. A key only ever points at the latest placement.
 */
export class AffinityTable {
  readonly #entries = new Map<string, Placement>();
  readonly #capacity: number;

  constructor(capacity = AFFINITY_ENTRIES) {
    this.#capacity = capacity;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The placement of the longest prefix of `conversation` served before; null when none. */
  lookup(conversation: Conversation): Placement | null {
    const keys = conversation.keys;
    for (let i = keys.length - 1; i >= 0; i--) {
      const placement = this.#entries.get(keys[i] as string);
      if (placement !== undefined) return placement;
    }
    return null;
  }

  /** `conversation` is now served at `placement`: its next turn should come back there. */
  remember(conversation: Conversation, placement: Placement): void {
    const key = conversation.keys.at(-1);
    if (key === undefined) return;
    this.#entries.delete(key);
    this.#entries.set(key, placement);
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  /** Instance `index` restarted or stopped: what its slots held is gone. */
  forgetInstance(index: number): void {
    for (const [key, placement] of this.#entries) if (placement.instance === index) this.#entries.delete(key);
  }
}
