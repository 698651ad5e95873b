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
  /** Estimated memory it holds (0 when unknown). */
  readonly bytes: number;
}

export interface Limits {
  readonly maxLoadedModels: number;
  /** null: no memory budget, only the model count limits. */
  readonly memoryBudgetBytes: number | null;
}

export interface Wanted {
  readonly id: string;
  readonly bytes: number;
}

export type EvictionDecision =
  /** Load now, after stopping these (least recently used first). */
  | { readonly kind: "load"; readonly victims: readonly string[] }
  /** Candidates are busy: wait for one to become idle. */
  | { readonly kind: "wait" }
  /** Even with every evictable model gone it would not fit: waiting cannot help. */
  | { readonly kind: "impossible"; readonly reason: string };

function fits(count: number, bytes: number, wanted: Wanted, limits: Limits): boolean {
  if (count + 1 > limits.maxLoadedModels) return false;
  return limits.memoryBudgetBytes === null || bytes + wanted.bytes <= limits.memoryBudgetBytes;
}

export function chooseVictims(
  wanted: Wanted,
  loaded: readonly LoadedModel[],
  limits: Limits,
): EvictionDecision {
  if (loaded.some((model) => model.id === wanted.id)) return { kind: "load", victims: [] };
  let count = loaded.length;
  let bytes = loaded.reduce((sum, model) => sum + model.bytes, 0);
  if (fits(count, bytes, wanted, limits)) return { kind: "load", victims: [] };

  const pinned = loaded.filter((model) => model.pinned);
  const pinnedBytes = pinned.reduce((sum, model) => sum + model.bytes, 0);
  if (!fits(pinned.length, pinnedBytes, wanted, limits)) {
    const budget = limits.memoryBudgetBytes;
    const reason =
      pinned.length + 1 > limits.maxLoadedModels
        ? `${pinned.length} pinned models fill maxLoadedModels ${limits.maxLoadedModels}`
        : `model ${wanted.id} needs ${gib(wanted.bytes)} but pinned models leave ${gib((budget ?? 0) - pinnedBytes)} of the ${gib(budget ?? 0)} memory budget`;
    return { kind: "impossible", reason };
  }

  const idle = loaded
    .filter((model) => !model.pinned && model.inFlight === 0)
    .sort((a, b) => a.lastUsedAt - b.lastUsedAt || (a.id < b.id ? -1 : 1));
  const victims: string[] = [];
  for (const model of idle) {
    victims.push(model.id);
    count--;
    bytes -= model.bytes;
    if (fits(count, bytes, wanted, limits)) return { kind: "load", victims };
  }
  return { kind: "wait" };
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
