import type { LoadedModel } from "./eviction.js";
import type { ModelGroup } from "./model-group.js";

/**
 * The loaded models as chooseVictims sees them: the current generation's resident groups, and
 * the retiring ones, which still hold their memory but are never chosen (pinned: they stop by
 * themselves once idle). `bytesOf` is the memory need (0 without a budget). Synchronous on
 * purpose: the picture and the decision made from it must not straddle a turn of the event loop
 * in which a group retires or stops.
 */
export function loadedPicture(
  current: readonly ModelGroup[],
  retiring: Iterable<ModelGroup>,
  bytesOf: (group: ModelGroup) => number,
): LoadedModel[] {
  const loaded: LoadedModel[] = [];
  const add = (group: ModelGroup, id: string, lastUsedAt: number, pinned: boolean) =>
    loaded.push({
      id,
      inFlight: group.holds,
      lastUsedAt,
      pinned,
      bytes: bytesOf(group),
      loadMs: group.lastLoadMs ?? 0,
    });
  for (const group of current) {
    if (!group.resident) continue;
    // A parked model holds no memory worth keeping: it makes room first.
    add(
      group,
      group.id,
      group.failure() === null ? group.lastUsedAt : Number.NEGATIVE_INFINITY,
      group.model.pinned,
    );
  }
  let index = 0;
  for (const group of retiring) {
    if (group.resident) add(group, `${group.id} (retiring ${index++})`, group.lastUsedAt, true);
  }
  return loaded;
}
