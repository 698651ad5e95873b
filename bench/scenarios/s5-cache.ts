import { randomBytes } from "node:crypto";
import { contentOf } from "../../test/fixtures/fake/bodies.js";
import { type CheckedLoadResult, type Exchange, exchange, runCheckedLoad } from "../load/checked-client.js";
import { cacheHeaders, keepAliveAgent, type Target } from "../load/request-shape.js";
import { ForeignLoad, UsageSampler } from "../procs/proc-stats.js";
import { median, Samples, type Summary, summarize } from "../stats/summary.js";
import type { System } from "../systems/harness.js";
import { interleave, type ScenarioContext } from "./context.js";

/** Where an answer came from: the fake itself, the gateway going to it, the gateway's cache. */
export type S5Load = "direct" | "miss" | "hit";
export const S5_LOADS: readonly S5Load[] = ["direct", "miss", "hit"];

export interface S5Series {
  /** µs from writing the request to the last byte of the answer (a stream: its `[DONE]`). */
  readonly latencyUs: Summary;
  readonly sent: number;
  /** Measured answers with status 200, the expected content and the expected X-Cache. */
  readonly ok: number;
  readonly errors: number;
  /** What was wrong, per kind ("X-Cache: MISS", "content"), warm-up requests included. */
  readonly problems: Record<string, number>;
  /** The X-Cache every answer had to carry; null for direct (the fake sends none). */
  readonly expectedCache: "HIT" | "MISS" | null;
  readonly achievedRate: number;
  /** The gateway process's CPU per request (median of the rounds; 10 ms tick resolution). */
  readonly gatewayCpuUsPerRequest: number | null;
}

export interface S5Result {
  readonly rate: number;
  readonly secondsPerRound: number;
  /** Sent before each load's measured part, checked but not timed. */
  readonly warmupMs: number;
  readonly rounds: number;
  readonly tokens: number;
  /** Non-streamed answers. */
  readonly json: Record<S5Load, S5Series>;
  /** `"stream": true`: the time is to the whole answer; a hit is replayed as SSE. */
  readonly stream: Record<S5Load, S5Series>;
  /** The JSON request again, each sent when the previous answer is complete (one connection). */
  readonly backToBack: {
    readonly secondsPerRound: number;
    readonly warmupMs: number;
    readonly direct: S5Series;
    readonly hit: S5Series;
  };
  readonly foreignCores: number;
}

export const S5_RATE = 500;
export const S5_TOKENS = 16;

interface Load {
  readonly name: string;
  readonly stream: boolean;
  readonly kind: S5Load;
}

/** A chat request like chatBody's, with a prompt of our own: the hit entries are this run's. */
function body(stream: boolean, prompt: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      model: "fast",
      messages: [
        { role: "system", content: "You are a helpful assistant." },
        { role: "user", content: prompt },
      ],
      max_tokens: S5_TOKENS,
      temperature: 0,
      stream,
    }),
  );
}

/** The content of an answer, JSON or SSE; null when it is not a complete one. */
function contentIn(answer: Exchange, stream: boolean): string | null {
  try {
    if (!stream) {
      const parsed = JSON.parse(answer.body) as {
        choices?: Array<{ message?: { content?: unknown }; finish_reason?: unknown }>;
      };
      const choice = parsed.choices?.[0];
      if (typeof choice?.finish_reason !== "string") return null;
      return typeof choice.message?.content === "string" ? choice.message.content : null;
    }
    let content = "";
    let done = false;
    let finished = false;
    for (const block of answer.body.split("\n\n")) {
      for (const line of block.split("\n")) {
        if (!line.startsWith("data: ")) continue;
        const data = line.slice(6);
        if (data === "[DONE]") {
          done = true;
          continue;
        }
        const event = JSON.parse(data) as {
          choices?: Array<{ delta?: { content?: unknown }; finish_reason?: unknown }>;
        };
        const choice = event.choices?.[0];
        if (typeof choice?.delta?.content === "string") content += choice.delta.content;
        if (typeof choice?.finish_reason === "string") finished = true;
      }
    }
    return done && finished ? content : null;
  } catch {
    return null;
  }
}

/** What is wrong with an answer: not the expected content, or not the expected X-Cache. */
function checker(stream: boolean, expectedCache: string | null): (answer: Exchange) => string | null {
  const expected = contentOf(S5_TOKENS);
  return (answer) => {
    if (expectedCache !== null && answer.xCache !== expectedCache)
      return `X-Cache: ${answer.xCache ?? "none"}`;
    return contentIn(answer, stream) === expected ? null : "wrong or incomplete content";
  };
}

function headers(target: Target, payload: Buffer, stream: boolean) {
  const base = cacheHeaders(target, payload);
  return stream ? { ...base, accept: "text/event-stream" } : base;
}

/**
 * Scenario 5: the gateway answering from its response cache. The same `temperature: 0` chat
 * request, after one MISS that stores it, is answered by the gateway without the backend: its
 * latency (JSON, and the SSE replay of a `"stream": true` request to its `[DONE]`) against
 * the same request sent to the fake directly and a MISS through the gateway (every request a
 * new prompt), at a fixed low rate like scenario 1's, in interleaved rounds. Every answer is
 * read and checked: a "hit" that was not `X-Cache: HIT` (or a "miss" that was not a MISS)
 * fails the scenario, with the counts.
 */
export async function runS5(ctx: ScenarioContext): Promise<S5Result> {
  const seconds = ctx.quick ? 1 : 2;
  const rounds = ctx.quick ? 1 : 2;
  const warmupMs = 250;
  const backToBackMs = 500;
  const backToBackWarmupMs = 100;
  const direct = ctx.systems.find((s) => s.name === "direct");
  const gateway = ctx.systems.find((s) => s.name === "gateway");
  if (direct === undefined || gateway === undefined)
    throw new Error("scenario 5 needs direct and the gateway");
  // This run's own prompts: entries left by earlier scenarios (they send no-cache, which
  // still stores) or by an earlier run against the same gateway cannot answer these.
  const nonce = randomBytes(6).toString("hex");
  const hitBody = {
    json: body(false, `Why are foxes red? (${nonce} json)`),
    stream: body(true, `Why are foxes red? (${nonce} sse)`),
  };

  await firstMissThenHit(gateway.target("fast"), hitBody.json, false);
  await firstMissThenHit(gateway.target("fast"), hitBody.stream, true);

  const loads: Load[] = [];
  for (const stream of [false, true])
    for (const kind of S5_LOADS) loads.push({ name: `${kind} ${stream ? "stream" : "json"}`, stream, kind });

  const foreign = new ForeignLoad();
  const runs = await interleave(loads, rounds, async (load, round) => {
    ctx.log(`s5 round ${round + 1}/${rounds}: ${load.name} at ${S5_RATE} req/s for ${seconds} s`);
    return measure(load.kind === "direct" ? direct : gateway, load, {
      rate: S5_RATE,
      durationMs: seconds * 1000,
      warmupMs,
      payload: load.stream ? hitBody.stream : hitBody.json,
      missPrompt: (i) => `Why are foxes red? (${nonce} miss ${load.name} ${round}.${i})`,
    });
  });
  const b2bLoads: Load[] = [
    { name: "direct back to back", stream: false, kind: "direct" },
    { name: "hit back to back", stream: false, kind: "hit" },
  ];
  const b2b = await interleave(b2bLoads, rounds, async (load, round) => {
    ctx.log(`s5 round ${round + 1}/${rounds}: ${load.name} for ${backToBackMs} ms`);
    return measure(load.kind === "direct" ? direct : gateway, load, {
      rate: 0,
      durationMs: backToBackMs,
      warmupMs: backToBackWarmupMs,
      payload: hitBody.json,
      missPrompt: () => "",
    });
  });

  const series = (name: string, list: Map<string, Measured[]>, load: Load): S5Series =>
    combine(list.get(name) ?? [], load);
  const byKind = (stream: boolean) =>
    Object.fromEntries(
      loads.filter((l) => l.stream === stream).map((l) => [l.kind, series(l.name, runs, l)]),
    ) as Record<S5Load, S5Series>;
  const result: S5Result = {
    rate: S5_RATE,
    secondsPerRound: seconds,
    warmupMs,
    rounds,
    tokens: S5_TOKENS,
    json: byKind(false),
    stream: byKind(true),
    backToBack: {
      secondsPerRound: backToBackMs / 1000,
      warmupMs: backToBackWarmupMs,
      direct: series("direct back to back", b2b, b2bLoads[0] as Load),
      hit: series("hit back to back", b2b, b2bLoads[1] as Load),
    },
    foreignCores: foreign.cores(),
  };
  verify(ctx, result);
  return result;
}

interface Measured {
  readonly run: CheckedLoadResult;
  readonly cpuUsPerRequest: number | null;
}

async function measure(
  system: System,
  load: Load,
  options: {
    rate: number;
    durationMs: number;
    warmupMs: number;
    payload: Buffer;
    missPrompt: (index: number) => string;
  },
): Promise<Measured> {
  const target = system.target("fast");
  const fixed = { body: options.payload, headers: headers(target, options.payload, load.stream) };
  const request =
    load.kind === "miss"
      ? (index: number) => {
          const payload = body(load.stream, options.missPrompt(index));
          return { body: payload, headers: headers(target, payload, load.stream) };
        }
      : () => fixed;
  const expectedCache = load.kind === "hit" ? "HIT" : load.kind === "miss" ? "MISS" : null;
  const pids = system.proxyPids();
  const cpu = pids.length > 0 ? new UsageSampler(pids, 200) : null;
  const run = await runCheckedLoad({
    target,
    path: "/v1/chat/completions",
    request,
    check: checker(load.stream, expectedCache),
    rate: options.rate,
    durationMs: options.durationMs,
    warmupMs: options.warmupMs,
    timeoutMs: 15_000,
  });
  const usage = cpu?.stop() ?? null;
  return {
    run,
    cpuUsPerRequest: usage === null ? null : (usage.cpuSeconds * 1e6) / Math.max(1, run.sent),
  };
}

function combine(list: readonly Measured[], load: Load): S5Series {
  const latency = new Samples();
  const problems: Record<string, number> = {};
  for (const { run } of list) {
    latency.append(run.latencyUs);
    for (const [label, n] of Object.entries(run.problems)) problems[label] = (problems[label] ?? 0) + n;
  }
  const cpu = list.flatMap((m) => (m.cpuUsPerRequest === null ? [] : [m.cpuUsPerRequest]));
  return {
    latencyUs: summarize(latency.values()),
    sent: list.reduce((n, m) => n + m.run.sent, 0),
    ok: list.reduce((n, m) => n + m.run.ok, 0),
    errors: list.reduce((n, m) => n + m.run.errors, 0),
    problems,
    expectedCache: load.kind === "hit" ? "HIT" : load.kind === "miss" ? "MISS" : null,
    achievedRate: list.reduce((n, m) => n + m.run.achievedRate, 0) / Math.max(1, list.length),
    gatewayCpuUsPerRequest: cpu.length > 0 ? median(cpu) : null,
  };
}

/** The first request of an entry must be a MISS and the second a HIT, or nothing is measured. */
async function firstMissThenHit(target: Target, payload: Buffer, stream: boolean): Promise<void> {
  const kind = stream ? "streamed" : "JSON";
  const agent = keepAliveAgent(1);
  const seen: Array<string | null> = [];
  try {
    for (let i = 0; i < 2; i++) {
      const result = await exchange(
        target,
        "/v1/chat/completions",
        { body: payload, headers: headers(target, payload, stream) },
        agent,
      );
      if ("error" in result) throw new Error(`the first ${kind} requests failed: ${result.error}`);
      const { answer } = result;
      if (answer.status !== 200)
        throw new Error(
          `the first ${kind} requests failed: HTTP ${answer.status} ${answer.body.slice(0, 200)}`,
        );
      const wrong = checker(stream, null)(answer);
      if (wrong !== null) throw new Error(`the first ${kind} requests failed: ${wrong}`);
      seen.push(answer.xCache);
    }
  } finally {
    agent.destroy();
  }
  if (seen[0] === null)
    throw new Error(
      `the gateway sent no X-Cache header on a cacheable ${kind} request: is the response cache built in and on (cache.enabled)?`,
    );
  if (seen[0] !== "MISS" || seen[1] !== "HIT")
    throw new Error(
      `a new ${kind} request and then the same again got X-Cache ${seen.join(", ")} instead of MISS, HIT: the answer was not stored`,
    );
}

/** Fails the scenario, loudly, when any measured answer was not what its series claims. */
function verify(ctx: ScenarioContext, r: S5Result): void {
  const all: Array<[string, S5Series]> = [
    ...S5_LOADS.map((k): [string, S5Series] => [`${k} json`, r.json[k]]),
    ...S5_LOADS.map((k): [string, S5Series] => [`${k} stream`, r.stream[k]]),
    ["direct back to back", r.backToBack.direct],
    ["hit back to back", r.backToBack.hit],
  ];
  const bad: string[] = [];
  for (const [name, s] of all) {
    const problems = Object.entries(s.problems).map(([label, n]) => `${n}× ${label}`);
    if (s.errors > 0) problems.push(`${s.errors} error(s)`);
    if (problems.length > 0) bad.push(`${name}: ${problems.join(", ")} (of ${s.sent} sent)`);
  }
  if (bad.length === 0) return;
  for (const line of bad) ctx.log(`s5 check failed: ${line}`);
  throw new Error(`scenario 5: answers were not what was measured: ${bad.join("; ")}`);
}
