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
  /** How long its last load took, ms (0 when unknown): what evicting it costs if it is wanted again. */
  readonly loadMs: number;
}

export interface Limits {
  readonly maxLoadedModels: number;
  /** null: no memory budget, only the model count limits. */
  readonly memoryBudgetBytes: number | null;
  /**
   * The longest a request for a model that is not loaded is held back while the loaded models it
   * would replace keep serving requests (the scheduler's starvation bound; not used here).
   */
  readonly swapDelayMs: number;
}

export interface Wanted {
  readonly id: string;
  readonly bytes: number;
}

export type EvictionDecision =
  /** Load now, after stopping these (cheapest to lose first: see evictionKey). */
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

  const key = (model: LoadedModel) => evictionKey(model, limits);
  const idle = loaded
    .filter((model) => !model.pinned && model.inFlight === 0)
    .sort((a, b) => key(a) - key(b) || (a.id < b.id ? -1 : 1));
  const victims: string[] = [];
  for (const model of idle) {
    victims.push(model.id);
    count--;
    bytes -= model.bytes;
    if (fits(count, bytes, wanted, limits)) return { kind: "load", victims };
  }
  return { kind: "wait" };
}

/**
 * The lower, the sooner a model is evicted. Without a memory budget: least recently used first.
 * With one (the setups where models differ in size and load time): a model counts as used
 * `loadMs` later than it was, so one that takes 20 s to load again is kept over an equally
 * idle one that loads in 1 s, and is evicted only once it has been idle 19 s longer.
 */
function evictionKey(model: LoadedModel, limits: Limits): number {
  return limits.memoryBudgetBytes === null ? model.lastUsedAt : model.lastUsedAt + model.loadMs;
}

function gib(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
