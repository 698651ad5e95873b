import { GatewayError } from "../errors/gateway-error.js";
import type { ModelGroup } from "./model-group.js";
import type { RoomWait } from "./room-line.js";
import type { UnloadOptions } from "./scheduler-options.js";

/** What an admin unload needs of the scheduler. */
export interface AdminUnloadDeps {
  /** Runs `operation` under the room lock (one room decision at a time). */
  withRoomLock<T>(operation: () => Promise<T>): Promise<T>;
  /** A wait that ends when a group becomes idle, or with `timeout` after `ms`. */
  waitForDrain(ms: number, timeout: unknown): RoomWait;
  onUnload(id: string): void;
  readonly now: () => number;
}

/**
 * Unloads a model for the admin API: waits until no request holds it (up to drainTimeoutMs,
 * then 409 model_busy), or with `force` stops it at once and cuts what is in flight.
 */
export async function adminUnload(
  group: ModelGroup,
  options: UnloadOptions,
  deps: AdminUnloadDeps,
): Promise<void> {
  if (options.force) {
    await deps.withRoomLock(async () => {
      deps.onUnload(group.id);
      await group.kill();
    });
    return;
  }
  const deadline = deps.now() + options.drainTimeoutMs;
  for (;;) {
    // The wait is registered under the lock (no idle notice can slip in before it) and
    // awaited outside it, so room decisions go on meanwhile.
    const busy = await deps.withRoomLock(async () => {
      if (group.holds > 0) {
        const timeout = new GatewayError("queue_timeout", `model ${group.id} is still busy`);
        // Awaited once the room lock is released.
        return deps.waitForDrain(deadline - deps.now(), timeout);
      }
      if (group.resident) {
        deps.onUnload(group.id);
        await group.stop();
      }
      return null;
    });
    if (busy === null) return;
    try {
      await busy.done;
    } catch {
      throw new GatewayError(
        "model_busy",
        `model ${group.id} still has ${group.holds} requests after ${options.drainTimeoutMs / 1000}s; unload with ?force=1 to cut them`,
      );
    }
  }
}
