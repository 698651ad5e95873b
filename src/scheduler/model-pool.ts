import type { Conversation } from "./affinity-table.js";
import type { Lease } from "./lease.js";
import type { ModelGroup } from "./model-group.js";
import type { Scheduler } from "./scheduler.js";

/**
 * The models of one runtime generation as the routes see them: a request resolves its model in
 * the generation it started with and acquires through it, even if a reload happens meanwhile.
 */
export interface ModelPool {
  /**
   * `requestId` names the request in the crash log of the instance it lands on; `conversation`
   * (affinity) sends it where its conversation is cached.
   */
  acquire(
    modelId: string,
    signal: AbortSignal,
    requestId?: string,
    conversation?: Conversation | null,
    /** An instance a retry must not go back to (it just failed the request). */
    avoid?: string | null,
  ): Promise<Lease>;
  /** acquire() without a promise when nothing has to wait; null when acquire() must decide. */
  tryAcquire(
    modelId: string,
    requestId?: string,
    conversation?: Conversation | null,
    avoid?: string | null,
  ): Lease | null;
  group(modelId: string): ModelGroup | undefined;
  groups(): ModelGroup[];
}

export function modelPool(scheduler: Scheduler, groups: ReadonlyMap<string, ModelGroup>): ModelPool {
  return {
    acquire: (modelId, signal, requestId, conversation, avoid) => {
      const group = groups.get(modelId);
      if (group === undefined) return Promise.reject(new Error(`no group for model ${modelId}`));
      return scheduler.acquire(group, signal, requestId, conversation, avoid ?? null);
    },
    tryAcquire: (modelId, requestId, conversation, avoid) => {
      const group = groups.get(modelId);
      return group === undefined ? null : scheduler.tryAcquire(group, requestId, conversation, avoid ?? null);
    },
    group: (modelId) => groups.get(modelId),
    groups: () => [...groups.values()],
  };
}
