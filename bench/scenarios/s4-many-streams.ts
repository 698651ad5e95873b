import { Agent } from "node:http";
import { contentOf } from "../../test/fixtures/fake/bodies.js";
import { chatBody } from "../load/request-shape.js";
import { readStream } from "../load/sse-client.js";
import { ForeignLoad, rssBytes, UsageSampler } from "../procs/proc-stats.js";
import { Samples, type Summary, summarize } from "../stats/summary.js";
import { interleave, type ScenarioContext } from "./context.js";

export interface S4System {
  readonly streams: number;
  readonly completed: number;
  readonly correct: number;
  readonly errors: readonly string[];
  readonly ttftMs: Summary;
  readonly gapMs: Summary;
  /** From the first request to the last [DONE]. */
  readonly wallMs: number;
  readonly proxyPeakRssBytes: number | null;
  readonly proxyRssAfterBytes: number | null;
  readonly proxyCpuSeconds: number | null;
  readonly proxyCores: number | null;
  readonly backendCores: number | null;
}

export interface S4Result {
  readonly streams: number;
  readonly tokens: number;
  readonly tokenDelayMs: number;
  readonly systems: Record<string, S4System>;
  readonly foreignCores: number;
}

export const S4_STREAMS = 1000;

/**
 * Scenario 4: 1000 streams opened at once, each on its own connection (1000 clients), 64
 * tokens at 20 tokens/s. Every stream must complete with exactly the expected content. The
 * proxy's peak RSS and CPU are sampled while they run (scenario 7 reads them too).
 */
export async function runS4(ctx: ScenarioContext): Promise<S4Result> {
  const tokens = ctx.quick ? 16 : 64;
  const body = chatBody("crowd", true, tokens);
  const expectedContent = contentOf(tokens);
  const foreign = new ForeignLoad();
  const runs = await interleave(ctx.systems, 1, async (system) => {
    ctx.log(`s4: ${system.name}, ${S4_STREAMS} concurrent streams of ${tokens} tokens`);
    const agent = new Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
    const gaps = new Samples();
    const pids = system.proxyPids();
    const backendPid = system.backendPid("crowd");
    const proxy = new UsageSampler(pids);
    const backend = new UsageSampler(backendPid === null ? [] : [backendPid], 200);
    const started = performance.now();
    const options = {
      target: system.target("crowd"),
      path: "/v1/chat/completions",
      body,
      agent,
      expectedContent,
      timeoutMs: 60_000,
    };
    const results = await Promise.all(Array.from({ length: S4_STREAMS }, () => readStream(options, gaps)));
    const wallMs = performance.now() - started;
    const usage = proxy.stop();
    const backendUsage = backend.stop();
    agent.destroy();
    return { results, gaps, wallMs, usage, backendUsage, pids, hasBackend: backendPid !== null };
  });
  const systems: Record<string, S4System> = {};
  for (const [name, [run]] of runs) {
    if (run === undefined) continue;
    const { results } = run;
    const hasProxy = run.pids.length > 0;
    systems[name] = {
      streams: results.length,
      completed: results.filter((r) => r.ok).length,
      correct: results.filter((r) => r.correct).length,
      errors: [...new Set(results.flatMap((r) => (r.error === null ? [] : [r.error])))].slice(0, 5),
      ttftMs: summarize(results.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs]))),
      gapMs: summarize(run.gaps.values()),
      wallMs: run.wallMs,
      proxyPeakRssBytes: hasProxy ? run.usage.peakRssBytes : null,
      proxyRssAfterBytes: hasProxy ? rssBytes(run.pids) : null,
      proxyCpuSeconds: hasProxy ? run.usage.cpuSeconds : null,
      proxyCores: hasProxy ? run.usage.cpuCores : null,
      backendCores: run.hasBackend ? run.backendUsage.cpuCores : null,
    };
  }
  return { streams: S4_STREAMS, tokens, tokenDelayMs: 50, systems, foreignCores: foreign.cores() };
}
