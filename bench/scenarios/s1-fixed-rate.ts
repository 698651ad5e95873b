import { runOpenLoop } from "../load/open-loop.js";
import { chatBody } from "../load/request-shape.js";
import { ForeignLoad } from "../procs/proc-stats.js";
import { Samples, type Summary, summarize } from "../stats/summary.js";
import { interleave, type ScenarioContext } from "./context.js";

export interface S1System {
  readonly latencyUs: Summary;
  readonly scheduledLatencyUs: Summary;
  readonly ok: number;
  readonly errors: number;
  readonly achievedRate: number;
}

export interface S1Result {
  readonly rate: number;
  readonly secondsPerRound: number;
  readonly rounds: number;
  readonly systems: Record<string, S1System>;
  /** Cores used by other processes on the machine while this scenario ran. */
  readonly foreignCores: number;
}

export const S1_RATE = 1000;

/** Scenario 1: non-streaming chat at a fixed 1000 requests/s (open loop): added latency. */
export async function runS1(ctx: ScenarioContext): Promise<S1Result> {
  const seconds = ctx.quick ? 3 : 6;
  const rounds = ctx.quick ? 1 : 3;
  const body = chatBody("fast", false, 16);
  const foreign = new ForeignLoad();
  const runs = await interleave([...ctx.systems, ...ctx.references], rounds, async (system, round) => {
    ctx.log(`s1 round ${round + 1}/${rounds}: ${system.name} at ${S1_RATE} req/s for ${seconds} s`);
    return runOpenLoop({
      target: system.target("fast"),
      path: "/v1/chat/completions",
      body,
      rate: S1_RATE,
      durationMs: seconds * 1000,
      warmupMs: 1000,
      timeoutMs: 15_000,
    });
  });
  const systems: Record<string, S1System> = {};
  for (const [name, list] of runs) {
    const latency = new Samples();
    const scheduled = new Samples();
    for (const run of list) {
      latency.append(run.latencyUs);
      scheduled.append(run.scheduledLatencyUs);
    }
    systems[name] = {
      latencyUs: summarize(latency.values()),
      scheduledLatencyUs: summarize(scheduled.values()),
      ok: list.reduce((n, r) => n + r.ok, 0),
      errors: list.reduce((n, r) => n + r.errors, 0),
      achievedRate: list.reduce((n, r) => n + r.achievedRate, 0) / list.length,
    };
  }
  return { rate: S1_RATE, secondsPerRound: seconds, rounds, systems, foreignCores: foreign.cores() };
}
