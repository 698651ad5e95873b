/**
 * Which loaded models to stop so `wanted` can load: a pure function of the current picture
 * (after llama-swap's Swapper.EvictionFor), tested with tables, no timers, no processes.
 */
export interface LoadedModel {
  readonly id: string;
  /** Requests running or waiting on this model right now; a busy model is never evicted. */
  readonly inFlight: number;
  /** Last time a request was dispatched to or finished on it (ms since epoch). */
  readonly lastUsedAt: number;
  readonly pinned: boolean;
}

export interface Limits {
  readonly maxLoadedModels: number;
}

export type EvictionDecision =
  /** Load now, after stopping these (least recently used first). */
  | { readonly kind: "load"; readonly victims: readonly string[] }
  /** Every candidate is busy or pinned: wait for one to become idle. */
  | { readonly kind: "wait" }
  /** Even evicting everything evictable would not make room: the limit cannot be met. */
  | { readonly kind: "impossible"; readonly reason: string };

export function chooseVictims(
  wanted: string,
  loaded: readonly LoadedModel[],
  limits: Limits,
): EvictionDecision {
  const others = loaded.filter((model) => model.id !== wanted);
  if (others.length < loaded.length) return { kind: "load", victims: [] };
  const excess = others.length + 1 - limits.maxLoadedModels;
  if (excess <= 0) return { kind: "load", victims: [] };
  const pinned = others.filter((model) => model.pinned).length;
  if (pinned + 1 > limits.maxLoadedModels) {
    return {
      kind: "impossible",
      reason: `${pinned} pinned models fill maxLoadedModels ${limits.maxLoadedModels}`,
    };
  }
  const idle = others
    .filter((model) => !model.pinned && model.inFlight === 0)
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.id < b.id ? -1 : 1));
  if (idle.length < excess) return { kind: "wait" };
  return { kind: "load", victims: idle.slice(0, excess).map((model) => model.id) };
}
