import type { Limits } from "./eviction.js";
import type { ModelGroup } from "./model-group.js";

/** Why a model was unloaded: to make room, its ttl, an admin, or a reload removed or replaced it. */
export type UnloadReason = "evicted" | "ttl" | "admin" | "removed" | "replaced";

export interface SchedulerOptions {
  readonly limits: Limits;
  /** A model's memory need for the budget (0 = unknown); called once per model. */
  readonly memoryOf: (group: ModelGroup) => Promise<number>;
  readonly onUnload?: (modelId: string, reason: UnloadReason) => void;
  readonly now?: () => number;
}

export interface UnloadOptions {
  /** Cut requests in flight instead of waiting for them. */
  readonly force: boolean;
  /** How long to wait for in-flight requests before giving up (409 model_busy). */
  readonly drainTimeoutMs: number;
}
