import { S10_SWAP_RATIO_TARGET, type S10Run } from "../scenarios/s10-swaps.js";
import { num, table } from "./format.js";
import type { BenchResults } from "./results.js";

/** Scenario 10: swap order, FIFO against the starvation bound (docs/routing.md). */
export function s10Section(r: BenchResults): string {
  const s = r.s10 ?? null;
  if (s === null) return "_Not run in this run._";
  if ("skipped" in s) return `_Skipped: ${s.skipped}._`;
  const row = (label: string, x: S10Run) => [
    label,
    String(x.requests),
    String(x.failed),
    String(x.swaps),
    num(x.swapsPerMinute, 1),
    num(x.waitMs.p50, 0),
    num(x.waitMs.p99, 0),
    num(x.waitMs.max, 0),
    num(x.latencyMs.p50, 0),
    num(x.loadMs.p50, 0),
  ];
  return [
    `Two models on the fake llama-server (\`--fake-load-ms ${s.loadDelayMs}\`, answers take ${s.answerMs} ms), \`maxLoadedModels: 1\`, ` +
      `each model's own client sending a request every ${s.intervalMs[0]}–${s.intervalMs[1]} ms (open loop, the same seeded schedule in both runs) for ${num(s.durationMs / 1000, 0)} s. ` +
      "A swap costs the fake's start: a node process with tsx plus its load delay (`load` below). A request's wait is the gateway's `queueMs` from its access log (waiting for room, the load, a slot). " +
      "Swaps are the scheduler's evictions (`unloading model`, reason `evicted`).",
    table(
      [
        "scheduler.swapDelay",
        "requests",
        "failed",
        "swaps",
        "swaps/min",
        "wait p50 ms",
        "wait p99 ms",
        "worst wait ms",
        "latency p50 ms",
        "load p50 ms",
      ],
      [
        row("0 (first come, first served)", s.fifo),
        row(`${num(s.delayed.swapDelayMs / 1000, 0)} s`, s.delayed),
      ],
    ),
    `Swaps per minute with the bound: ${s.swapRatio === null ? "–" : `${s.swapRatio.toFixed(2)}×`} FIFO's (target ≤ ${S10_SWAP_RATIO_TARGET}×). ` +
      `The bound a request's wait is held to: swapDelay (counted from its arrival, through the other model's load) + the drain of what held the loaded model at the bound (one answer, worst ${num(s.delayed.serviceMs.max, 0)} ms) + one swap (worst stop ${num(s.delayed.stopMs.max, 0)} ms + worst load ${num(s.delayed.loadMs.max, 0)} ms) = ${num(s.boundMs, 0)} ms; ` +
      `${s.pastBound} request${s.pastBound === 1 ? "" : "s"} of the delayed run waited longer.`,
  ].join("\n\n");
}
