import { contentOf } from "../../test/fixtures/fake/bodies.js";
import { chatBody, keepAliveAgent } from "../load/request-shape.js";
import { runStreams, type StreamResult } from "../load/sse-client.js";
import { ForeignLoad } from "../procs/proc-stats.js";
import { Samples, type Summary, summarize } from "../stats/summary.js";
import { interleave, type ScenarioContext } from "./context.js";

export interface S3System {
  readonly streams: number;
  readonly correct: number;
  readonly errors: readonly string[];
  readonly ttfbMs: Summary;
  readonly ttftMs: Summary;
  readonly gapMs: Summary;
}

export interface S3Result {
  readonly tokens: number;
  readonly tokenDelayMs: number;
  readonly concurrency: number;
  readonly systems: Record<string, S3System>;
  readonly foreignCores: number;
}

export const S3_TOKENS = 256;

/**
 * Scenario 3: 256-token streams paced at 4 ms a token. Any buffering in the proxy shows as a
 * later first token or as gaps that differ from direct's (bunched chunks: many 0 gaps and
 * a few long ones).
 */
export async function runS3(ctx: ScenarioContext): Promise<S3Result> {
  const rounds = ctx.quick ? 1 : 3;
  const perRound = ctx.quick ? 4 : 8;
  const concurrency = ctx.quick ? 2 : 4;
  const body = chatBody("paced", true, S3_TOKENS);
  const expectedContent = contentOf(S3_TOKENS);
  const foreign = new ForeignLoad();
  const runs = await interleave(ctx.systems, rounds, async (system, round) => {
    ctx.log(`s3 round ${round + 1}/${rounds}: ${system.name}, ${perRound} streams of ${S3_TOKENS} tokens`);
    const agent = keepAliveAgent(concurrency);
    const gaps = new Samples();
    const options = {
      target: system.target("paced"),
      path: "/v1/chat/completions",
      body,
      agent,
      expectedContent,
      timeoutMs: 30_000,
    };
    await runStreams(options, concurrency, concurrency, new Samples()); // warm-up, not recorded
    const results = await runStreams(options, perRound, concurrency, gaps);
    agent.destroy();
    return { results, gaps };
  });
  const systems: Record<string, S3System> = {};
  for (const [name, list] of runs) {
    const all: StreamResult[] = list.flatMap((x) => x.results);
    const gaps = new Samples();
    for (const x of list) gaps.append(x.gaps);
    systems[name] = {
      streams: all.length,
      correct: all.filter((r) => r.correct).length,
      errors: all.flatMap((r) => (r.error === null ? [] : [r.error])).slice(0, 5),
      ttfbMs: summarize(all.flatMap((r) => (r.ttfbMs === null ? [] : [r.ttfbMs]))),
      ttftMs: summarize(all.flatMap((r) => (r.ttftMs === null ? [] : [r.ttftMs]))),
      gapMs: summarize(gaps.values()),
    };
  }
  return { tokens: S3_TOKENS, tokenDelayMs: 4, concurrency, systems, foreignCores: foreign.cores() };
}
