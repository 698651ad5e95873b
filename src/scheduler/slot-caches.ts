import type { Conversation } from "./affinity-table.js";
import type { Instance } from "./instance-pool.js";
import type { Lease } from "./lease.js";
import type { PrefillSpeed } from "./prefill-speed.js";
import type { SlotContent, SlotKeeper } from "./slot-keeper.js";

/**
 * A model's slot caches across unloads, as its group uses a SlotKeeper: what to save before its
 * children stop, and whether to read a returning conversation back before sending it.
 */

/** What the ready local instances' slots hold, for saving before they stop. */
export function heldSlots(instances: readonly Instance[]): SlotContent[] {
  const contents: SlotContent[] = [];
  for (const instance of instances) {
    const endpoint = instance.supervisor.endpoint();
    if (endpoint === null || instance.slots === null) continue;
    for (const held of instance.slots.held()) contents.push({ endpoint, ...held });
  }
  return contents;
}

/**
 * A conversation no running instance holds may have been saved when the model was unloaded:
 * read it into the slot the lease got when that is predicted to beat recomputing its prompt
 * (`restored`), else send it as it is (`recomputed`). The lease is released if the read throws.
 */
export async function restoreSaved(
  keeper: SlotKeeper,
  prefill: PrefillSpeed,
  lease: Lease,
  conversation: Conversation,
): Promise<Lease> {
  const route = lease.route;
  if (route === null || route.slot === null) return lease;
  const saved = keeper.find(conversation.keys);
  if (saved === null) return lease;
  const recomputeMs = prefill.msFor(saved.tokens) ?? Number.POSITIVE_INFINITY;
  let restored = false;
  if (keeper.restoreMs(saved) < recomputeMs) {
    try {
      restored = await keeper.restore(lease.endpoint, route.slot, saved);
    } catch (error) {
      lease.release();
      throw error;
    }
  }
  return { ...lease, route: { ...route, reason: restored ? "restored" : "recomputed" } };
}
