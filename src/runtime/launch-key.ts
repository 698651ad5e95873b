import type { ModelConfig } from "../config/types.js";

/**
 * What decides how a model's children are launched: the binary, the model file or cmd, args,
 * env, the instance count, the start/stop budgets the supervisors were built with, and the
 * remote upstreams. Two
 * configs with the same key can share children; any difference needs new ones (blue/green).
 * Everything else (aliases, queue, ttl, slots, pinned) applies to a running group in place.
 */
export function launchKey(model: ModelConfig, binary: string): string {
  return JSON.stringify([
    model.launch.kind === "model" ? binary : null,
    model.launch,
    Object.entries(model.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    model.instances,
    model.startupTimeoutMs,
    model.stopTimeoutMs,
    // Remote upstreams are instances too (their keys included: a rotated key needs new ones).
    model.upstreams,
  ]);
}
