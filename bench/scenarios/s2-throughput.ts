import { runNodeClosedLoop } from "../load/closed-loop.js";
import { chatBody } from "../load/request-shape.js";
import { type ClosedLoopOptions, type ClosedLoopResult, runWrk } from "../load/wrk.js";
import { ForeignLoad, UsageSampler } from "../procs/proc-stats.js";
import { median } from "../stats/summary.js";
import { interleave, type ScenarioContext } from "./context.js";

export interface S2System {
  readonly requestsPerSecond: number;
  readonly perRound: readonly number[];
  readonly errors: number;
  /** Median over rounds of each percentile, µs. */
  readonly latencyUs: { p50: number; p90: number; p99: number; max: number };
  /** CPU the proxy process(es) spent per request, µs (null for direct). */
  readonly proxyCpuUsPerRequest: number | null;
  /** Cores the proxy used (1.0 = one full core). */
  readonly proxyCores: number | null;
  /** Cores the backend fake used: near 1.0 means the fake, not the proxy, set the ceiling. */
  readonly backendCores: number | null;
}

export interface S2Result {
  readonly tool: string;
  readonly connections: number;
  readonly secondsPerRound: number;
  readonly rounds: number;
  readonly systems: Record<string, S2System>;
  readonly foreignCores: number;
}

export const S2_CONNECTIONS = 32;

/** Scenario 2: the same request, closed loop, as fast as each system answers. */
export async function runS2(ctx: ScenarioContext): Promise<S2Result> {
  const seconds = ctx.quick ? 2 : 5;
  const rounds = ctx.quick ? 1 : 3;
  const body = chatBody("fast", false, 16);
  const load = (options: ClosedLoopOptions): Promise<ClosedLoopResult> =>
    ctx.wrk === null ? runNodeClosedLoop(options) : runWrk(ctx.wrk, ctx.dir, options);
  let tool = "";
  const foreign = new ForeignLoad();
  const runs = await interleave([...ctx.systems, ...ctx.references], rounds, async (system, round) => {
    ctx.log(`s2 round ${round + 1}/${rounds}: ${system.name}, ${S2_CONNECTIONS} connections, ${seconds} s`);
    const options = {
      target: system.target("fast"),
      path: "/v1/chat/completions",
      body,
      connections: S2_CONNECTIONS,
      durationMs: seconds * 1000,
    };
    await load({ ...options, durationMs: 1000 }); // warm-up at full load, not recorded
    const proxy = new UsageSampler(system.proxyPids(), 200);
    const backendPid = system.backendPid("fast");
    const backend = new UsageSampler(backendPid === null ? [] : [backendPid], 200);
    const result = await load(options);
    tool = result.tool;
    return {
      result,
      proxy: proxy.stop(),
      backend: backend.stop(),
      hasProxy: system.proxyPids().length > 0,
      hasBackend: backendPid !== null,
    };
  });
  const systems: Record<string, S2System> = {};
  for (const [name, list] of runs) {
    const pick = (f: (r: ClosedLoopResult) => number) => median(list.map((x) => f(x.result)));
    const first = list[0];
    systems[name] = {
      requestsPerSecond: pick((r) => r.requestsPerSecond),
      perRound: list.map((x) => x.result.requestsPerSecond),
      errors: list.reduce((n, x) => n + x.result.errors, 0),
      latencyUs: {
        p50: pick((r) => r.latencyUs.p50),
        p90: pick((r) => r.latencyUs.p90),
        p99: pick((r) => r.latencyUs.p99),
        max: pick((r) => r.latencyUs.max),
      },
      proxyCpuUsPerRequest: first?.hasProxy
        ? median(list.map((x) => (x.proxy.cpuSeconds * 1e6) / Math.max(1, x.result.requests)))
        : null,
      proxyCores: first?.hasProxy ? median(list.map((x) => x.proxy.cpuCores)) : null,
      backendCores: first?.hasBackend ? median(list.map((x) => x.backend.cpuCores)) : null,
    };
  }
  return {
    tool,
    connections: S2_CONNECTIONS,
    secondsPerRound: seconds,
    rounds,
    systems,
    foreignCores: foreign.cores(),
  };
}
