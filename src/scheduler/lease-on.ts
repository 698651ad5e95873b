import { GatewayError } from "../errors/gateway-error.js";
import type { AffinityTable, Conversation } from "./affinity-table.js";
import type { Instance, InstancePool } from "./instance-pool.js";
import type { Lease, RouteDecision, RouteReason } from "./lease.js";
import type { PrefillSpeed } from "./prefill-speed.js";

/** How long a suspected instance gets no requests unless its supervisor reports it ready. */
const SUSPECT_MS = 5_000;

/** What a lease needs of the model group it is taken from (model-group.ts). */
export interface LeaseSite {
  readonly modelId: string;
  /** Read at each lease: a reconfigure may turn affinity on or off. */
  readonly affinity: AffinityTable | null;
  readonly pool: InstancePool;
  readonly prefill: PrefillSpeed;
  /** A lease was handed out (+1) or released (−1). */
  leased(delta: 1 | -1): void;
}

/**
 * A slot on `instance` as a Lease: the route decision (the pinned slot taken from the instance's
 * table, the conversation remembered), and a release that hands the slot straight to the
 * longest waiter that takes this instance. `instance.active` already counts this request.
 */
export function leaseOn(
  site: LeaseSite,
  instance: Instance,
  requestId: string | undefined,
  reason: RouteReason,
  wantedSlot: number | null,
  conversation: Conversation | null | undefined,
): Lease {
  const endpoint = instance.supervisor.endpoint();
  if (endpoint === null) {
    instance.active--;
    throw new GatewayError(
      "backend_crashed",
      `model ${site.modelId}: its llama-server stopped before the request was sent`,
    );
  }
  site.leased(1);
  const ended = requestId === undefined ? null : instance.requests.begin(requestId);
  const affinity = site.affinity;
  let route: RouteDecision | null = null;
  // The table it was taken from: a reconfigure may have dropped instance.slots meanwhile.
  const table = instance.slots;
  if (affinity !== null) {
    const slot = table?.take(wantedSlot, conversation?.keys.at(-1) ?? null) ?? null;
    route = { instance: instance.index, slot, reason };
    if (conversation != null) affinity.remember(conversation, { instance: instance.index, slot });
  }
  const pool = site.pool;
  let released = false;
  return {
    modelId: site.modelId,
    instance: instance.supervisor.name,
    endpoint,
    route,
    upstreamModel: instance.supervisor.model ?? null,
    remote: instance.supervisor.remote === true,
    observe: (ok) => instance.supervisor.observe?.(ok),
    notePrefill: (tokensPerSecond) => site.prefill.note(tokensPerSecond),
    release: () => {
      if (released) return;
      released = true;
      site.leased(-1);
      const now = performance.now();
      ended?.(now);
      const slot = route?.slot ?? null;
      if (slot !== null) table?.release(slot, now);
      // The slot goes straight to the longest waiter that takes this instance; only with
      // nobody waiting for it is it freed.
      if (pool.usable(instance, now) && pool.line.handOff(instance)) return;
      instance.active--;
      pool.drain();
    },
    suspect: () => {
      instance.suspectUntil = performance.now() + SUSPECT_MS;
    },
  };
}

/** `lease` with a release that also runs `then` (once, however often release is called). */
export function alsoOnRelease(lease: Lease, then: () => void): Lease {
  let released = false;
  return {
    ...lease,
    release: () => {
      if (released) return;
      released = true;
      lease.release();
      then();
    },
  };
}
