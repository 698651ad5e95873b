import { type ChildAddress, probeHealth } from "./health-probe.js";

export interface LivenessOptions {
  readonly address: ChildAddress;
  readonly apiKey: string;
  /** Every this often once ready (default 10 s: k8s and HAProxy practice). */
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Consecutive failed probes before the child is declared dead. */
  readonly failures: number;
  readonly onDead: (reason: string) => void;
}

/**
 * Probes a ready child's /health periodically; after `failures` misses in a row it calls
 * onDead once (the supervisor then kills and restarts the child). Returns a stop function.
 * A process exit is detected at once by the supervisor; this catches a hung or wedged one.
 */
export function watchLiveness(options: LivenessOptions): () => void {
  let misses = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const result = await probeHealth(options.address, options.apiKey, options.timeoutMs);
    if (stopped) return;
    misses = result === "ok" ? 0 : misses + 1;
    if (misses >= options.failures) {
      stopped = true;
      options.onDead(`/health failed ${misses} times in a row (last: ${result})`);
      return;
    }
    schedule();
  };
  const schedule = () => {
    timer = setTimeout(() => void tick(), options.intervalMs);
    timer.unref();
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
