import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, extname, join, relative } from "node:path";
import { promisify } from "node:util";
import type { GatewayCommand } from "../systems/gateway-build.js";
import { ROOT, TSX_LOADER } from "../systems/paths.js";

const run = promisify(execFile);

/** The records timed: a streamed chat with usage, a cache hit, a 404, and the three in rotation. */
export type S8Kind = "stream" | "hit" | "client4xx" | "mixed";
/** GatewayMetrics.request, SlaTracker.record, RequestHistory.add, and Observability.request (all). */
export type S8Measure = "metrics" | "sla" | "history" | "total";

export interface S8Timing {
  /** CPU time (user + system, process.cpuUsage) per call, µs: median of the rounds. */
  readonly cpuUs: number;
  /** Wall time per call, µs: median of the rounds. */
  readonly wallUs: number;
  readonly cpuUsPerRound: readonly number[];
}

/** What the measuring process prints. */
export interface S8Measured {
  readonly node: string;
  readonly historyCapacity: number;
  readonly kinds: Record<S8Kind, Record<S8Measure, S8Timing>>;
  /** A new record object per call (stream kind): the loop without the call, and with it. */
  readonly fresh: { readonly baseline: S8Timing; readonly total: S8Timing };
  readonly render: S8Timing & {
    readonly bytes: number;
    /** Sample lines of the text (not # HELP / # TYPE). */
    readonly samples: number;
    /** Of which the gateway's own llamawrapper_* series (the rest: Node's process metrics). */
    readonly gatewaySamples: number;
  };
}

export interface S8WorkerOptions {
  /** The directory holding config/, runtime/, ... of the build measured. */
  readonly modules: string;
  /** ".js" (a build) or ".ts" (src through tsx). */
  readonly ext: string;
  readonly models: number;
  readonly calls: number;
  readonly warmupCalls: number;
  readonly rounds: number;
  readonly renders: number;
  readonly renderWarmup: number;
}

export interface S8Result extends S8Measured {
  /** The modules measured, relative to the repository root. */
  readonly source: string;
  readonly models: number;
  readonly calls: number;
  readonly warmupCalls: number;
  readonly rounds: number;
  readonly renders: number;
}

export const S8_KIND_LABELS: Record<S8Kind, string> = {
  stream: "streamed chat, reached llama-server (usage, ttft, queue, upstream, speed)",
  hit: "cache hit, JSON (usage, no upstream)",
  client4xx: "404 model_not_found (no model label)",
  mixed: "the three in rotation",
};

/** The gateway's observability budget per request (the issue: "no more than a few µs"). */
export const S8_TARGET_US = 5;

/** The worst record's whole Observability.request, or the fresh-record loop's, whichever is more. */
export function s8PerRequestUs(s: S8Measured): number {
  const worst = Math.max(...(["stream", "hit", "client4xx"] as const).map((k) => s.kinds[k].total.cpuUs));
  return Math.max(worst, s.fresh.total.cpuUs - s.fresh.baseline.cpuUs);
}

/**
 * Scenario 8: what metrics, SLA tracking and the request history cost per request, in
 * process, on the same build the other scenarios run (the gateway has no switch to turn them
 * off, so the cost is measured directly rather than as a difference of two gateways).
 */
export async function runS8(
  command: GatewayCommand,
  quick: boolean,
  log: (line: string) => void,
): Promise<S8Result> {
  // The entry is <modules>/cli/bin.{js,ts}: the modules next to it are the ones the gateway runs.
  const modules = dirname(dirname(command.entry));
  const ext = extname(command.entry);
  if (!existsSync(join(modules, `runtime/observability${ext}`)))
    throw new Error(
      `${relative(ROOT, modules)} has no runtime/observability${ext} (a build without metrics)`,
    );
  const options: S8WorkerOptions = {
    modules,
    ext,
    models: 10,
    calls: quick ? 50_000 : 200_000,
    warmupCalls: quick ? 20_000 : 50_000,
    rounds: quick ? 3 : 5,
    renders: quick ? 50 : 200,
    renderWarmup: 20,
  };
  log(
    `s8: metrics, SLA and history per request in a fresh process (${options.calls} calls × ${options.rounds} rounds per measure, ${relative(ROOT, modules)})`,
  );
  const { stdout } = await run(
    process.execPath,
    ["--import", TSX_LOADER, join(ROOT, "bench/scenarios/s8-metrics-worker.ts"), JSON.stringify(options)],
    { cwd: ROOT, timeout: 300_000, maxBuffer: 16 * 2 ** 20 },
  );
  const measured = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as S8Measured;
  return {
    ...measured,
    source: relative(ROOT, modules) || ".",
    models: options.models,
    calls: options.calls,
    warmupCalls: options.warmupCalls,
    rounds: options.rounds,
    renders: options.renders,
  };
}
