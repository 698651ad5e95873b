import type { Endpoint } from "./backend.js";

/** What one llama-server slot holds when its model is about to stop. */
export interface SlotContent {
  readonly endpoint: Endpoint;
  readonly slot: number;
  /** The conversation key of the last request placed there (its whole prompt). */
  readonly key: string;
  /** performance.now() of its last use: the most recent are saved first. */
  readonly lastUsedAt: number;
}

/** A slot's KV cache saved on disk, found again by its conversation's key. */
export interface SavedSlot {
  readonly key: string;
  /** Tokens it holds (llama-server's n_saved). */
  readonly tokens: number;
  readonly bytes: number;
}

/**
 * Keeps one model's slot caches across unloads (scheduler/kv/model-kv.ts with llama-server's
 * slot API; a fake in tests). The group decides what to save and when to restore; the keeper
 * does the I/O, bounded by its own deadlines, and never throws.
 */
export interface SlotKeeper {
  /** Saves what the slots hold, most recently used first, until its deadline passes. */
  saveAll(contents: readonly SlotContent[]): Promise<void>;
  /** The saved slot of the longest prefix of `keys` (shortest first), or null. */
  find(keys: readonly string[]): SavedSlot | null;
  /** Predicted ms to read `saved` back into a slot, from the read speed measured so far. */
  restoreMs(saved: SavedSlot): number;
  /** Reads it into `slot`; false (logged) when that failed: the request recomputes its prompt. */
  restore(endpoint: Endpoint, slot: number, saved: SavedSlot): Promise<boolean>;
}
