/**
 * The restart policy as a pure function of past crashes (systemd's StartLimitBurst and
 * supervisord's back-off; docs/architecture.md): back off 1 s doubling to 60 s; too many crashes in
 * the window parks the child in `failed` until someone resets it.
 */
export interface RestartPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** This many crashes within `windowMs` → failed. */
  readonly maxCrashes: number;
  readonly windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  initialBackoffMs: 1_000,
  maxBackoffMs: 60_000,
  maxCrashes: 5,
  windowMs: 60_000,
};

export type RestartDecision =
  | { readonly kind: "restart"; readonly delayMs: number }
  | { readonly kind: "fail"; readonly crashes: number };

/** Crash times within the window, oldest first, including the newest crash at `now`. */
export function recentCrashes(times: readonly number[], now: number, policy: RestartPolicy): number[] {
  return [...times, now].filter((time) => now - time < policy.windowMs);
}

export function decideRestart(recent: readonly number[], policy: RestartPolicy): RestartDecision {
  const count = recent.length;
  if (count >= policy.maxCrashes) return { kind: "fail", crashes: count };
  const delayMs = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** Math.max(0, count - 1));
  return { kind: "restart", delayMs };
}
