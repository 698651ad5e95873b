import type { CachedAnswer } from "../../cache/answer.js";
import type { Recorder } from "../../cache/recorder.js";
import { newAnswerId, replayJson, replayStream } from "../../cache/replay.js";
import type { CachePlan, ResponseCache } from "../../cache/response-cache.js";
import { toGatewayError } from "../../errors/gateway-error.js";
import type { ForwardOutcome } from "../../proxy/forward.js";
import { type Usage, UsageTally } from "../../proxy/usage.js";
import type { RequestContext } from "../context.js";
import { openEventStream } from "../send.js";

/** How the client asked for its answer. */
export interface ReplyShape {
  readonly stream: boolean;
  /** stream_options.include_usage: a chat stream ends with a usage chunk. */
  readonly includeUsage: boolean;
  /** The name the client asked for, shown as `model`. */
  readonly modelName: string;
}

type CacheUse = Extract<CachePlan, { kind: "cache" }>;

/** Rounds of waiting for an identical request in flight before going to llama-server alone. */
const JOIN_ROUNDS = 2;

/**
 * Answers one cacheable request: from the cache (X-Cache: HIT), from an identical request in
 * flight (HIT, counted as coalesced), or by `fetch` going to llama-server (MISS; BYPASS with
 * Cache-Control: no-cache) while the answer is recorded for the next ones. When the request it
 * waited for failed, a waiter gets the same error; when that one ended without an answer to
 * share (its client left), the waiter tries once more, and then goes to llama-server itself.
 */
export async function answerThroughCache(
  ctx: RequestContext,
  cache: ResponseCache,
  plan: CacheUse,
  reply: ReplyShape,
  fetch: (tap: Recorder["tap"]) => Promise<ForwardOutcome>,
): Promise<void> {
  if (plan.lookup) {
    const found = await cache.lookup(plan.key);
    if (found !== null) return replay(ctx, found, reply);
    for (let round = 0; round < JOIN_ROUNDS; round++) {
      const joined = cache.flights.join(plan.key, ctx.signal);
      if (joined === null) break;
      const result = await joined;
      if (result.kind === "answer") {
        cache.coalesced();
        return replay(ctx, result.answer, reply);
      }
      if (result.kind === "error") {
        ctx.facts.cache = "miss";
        setCacheHeader(ctx, "MISS");
        throw result.error;
      }
    }
    cache.missed();
  }
  ctx.facts.cache = plan.lookup ? "miss" : "bypass";
  setCacheHeader(ctx, plan.lookup ? "MISS" : "BYPASS");
  // A request that will not be stored does not lead: the others would wait for nothing kept.
  const flight = plan.store ? cache.flights.lead(plan.key) : null;
  try {
    const recording = cache.recorder(plan.answer, reply.stream);
    const outcome = await fetch(recording.tap);
    const answer = outcome.kind === "completed" ? recording.finish() : null;
    if (answer !== null) {
      if (plan.store) cache.keep(plan.key, answer);
      flight?.land({ kind: "answer", answer });
    } else if (outcome.kind === "broken") {
      flight?.land({ kind: "error", error: outcome.error });
    }
  } catch (error) {
    // A client that left is this request's own end, not an answer for the others.
    if (!(ctx.signal.aborted && error === ctx.signal.reason))
      flight?.land({ kind: "error", error: toGatewayError(error) });
    throw error;
  } finally {
    flight?.land({ kind: "retry" });
  }
}

function setCacheHeader(ctx: RequestContext, value: "HIT" | "MISS" | "BYPASS"): void {
  // A stream opened while waiting (wait notices) has sent its headers already.
  if (!ctx.res.headersSent) ctx.res.setHeader("x-cache", value);
}

/** Writes a cached answer in the shape the client asked for, with a fresh id and `created`. */
function replay(ctx: RequestContext, answer: CachedAnswer, reply: ReplyShape): void {
  const { res } = ctx;
  ctx.facts.cache = "hit";
  setCacheHeader(ctx, "HIT");
  const shape = { modelName: reply.modelName, created: Math.floor(Date.now() / 1000), id: newAnswerId() };
  if (reply.stream && answer.kind !== "embedding") {
    // The replayed stream carries usage only when the client asked: count it from the answer.
    ctx.facts.usage = usageOf(Buffer.from(answer.json));
    const body = replayStream(answer, shape, reply.includeUsage);
    if (!res.headersSent) openEventStream(res);
    res.end(body);
    return;
  }
  const body = replayJson(answer, shape);
  ctx.facts.usage = usageOf(body);
  res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": body.length });
  res.end(body);
}

function usageOf(answer: Buffer): Usage | null {
  const tally = new UsageTally("openai");
  tally.scan(answer);
  return tally.result();
}
