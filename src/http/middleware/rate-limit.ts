import type { IncomingMessage, ServerResponse } from "node:http";
import type { RateLimits } from "../../config/security-types.js";
import { GatewayError } from "../../errors/gateway-error.js";
import type { Access } from "../../security/access.js";
import type { LimitDecision, Limiter } from "../../security/limiter.js";
import type { RequestContext, RequestWork } from "../context.js";
import { isAdminPath, isDashboardPath, type Step } from "./step.js";

/**
 * Prompt tokens before the body is read: about 4 bytes of JSON per token for English text
 * (the JSON around the prompt makes it an overestimate). A chunked body, whose size is not
 * known yet, counts 0 here; the route charges the whole work once it has read the body.
 */
export function estimatePromptTokens(req: IncomingMessage): number {
  const length = Number(req.headers["content-length"]);
  return Number.isFinite(length) && length > 0 ? Math.ceil(length / 4) : 0;
}

/**
 * How much more to take once the body's work is known, given what the step already took. A
 * take of more than a bucket holds needs only a full bucket, so the two takes together never
 * need more than one full bucket either, or a large request could never pass.
 */
export function workStillDue(limits: RateLimits, work: RequestWork, taken: number): RequestWork {
  const tpm = limits.tokensPerMinute;
  const rpm = limits.requestsPerMinute;
  const requestCapacity = rpm === null ? 0 : Math.min(limits.burst, rpm);
  return {
    tokens: tpm === null ? 0 : Math.max(0, Math.min(work.tokens, tpm) - Math.min(taken, tpm)),
    requests: rpm === null ? 0 : Math.max(0, Math.min(work.requests, requestCapacity) - 1),
  };
}

/** Real usage minus what was charged; the charge is refunded when no backend answered. */
function correction(ctx: RequestContext, charged: number): number {
  const usage = ctx.facts.usage;
  if (usage !== null) return usage.promptTokens + usage.completionTokens - charged;
  return ctx.res.statusCode >= 400 ? -charged : 0;
}

function refusal(access: Access, decision: LimitDecision): GatewayError {
  return new GatewayError(
    "rate_limited",
    access.keyName === null
      ? "rate limit reached for this client address; retry after the time in Retry-After"
      : "rate limit reached for this API key; retry after the time in Retry-After",
    { retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) },
  );
}

/**
 * Token buckets per key, or per client address without one (after auth, since the key picks
 * the bucket). /health and /admin/* are never limited: operators must not be locked out by
 * the traffic they are trying to fix. Quota headers go on every limited answer, 429s included.
 *
 * The step runs before the body is read: it takes one request and the tokens Content-Length
 * suggests, so an exhausted bucket is refused without reading a byte. The route then charges
 * the rest of the work the body asks for (ctx.chargeWork: every completion of prompts × n, up
 * to max_tokens each; a chunked body's prompt), which can still be a 429.
 */
export function rateLimit(limiter: Limiter): Step {
  return (ctx) => {
    const { access } = ctx;
    const limits = access.limits;
    if (access.kind === "public" || isAdminPath(ctx.path) || isDashboardPath(ctx.path)) return;
    if (limits.requestsPerMinute === null && limits.tokensPerMinute === null) return;
    const bucket = access.keyName === null ? `addr:${ctx.clientAddress}` : `key:${access.keyName}`;
    const estimate = limits.tokensPerMinute === null ? 0 : estimatePromptTokens(ctx.req);
    const decision = limiter.take(bucket, limits, estimate);
    // The in-memory limiter answers at once: no promise, no turn of the loop.
    if (decision instanceof Promise) return decision.then((d) => admit(ctx, limiter, bucket, estimate, d));
    admit(ctx, limiter, bucket, estimate, decision);
  };
}

/** Sends the quota headers, refuses when over, and sets up the rest of the request's charges. */
function admit(
  ctx: RequestContext,
  limiter: Limiter,
  bucket: string,
  estimate: number,
  decision: LimitDecision,
): void {
  const { access, res } = ctx;
  const limits = access.limits;
  setHeaders(res, decision.headers);
  if (!decision.allowed) throw refusal(access, decision);
  // Tokens taken so far, as the bucket counts them (never more than it holds).
  let charged = limits.tokensPerMinute === null ? 0 : Math.min(estimate, limits.tokensPerMinute);
  ctx.chargeWork = async (work) => {
    const due = workStillDue(limits, work, charged);
    if (due.tokens === 0 && due.requests === 0) return;
    const more = await limiter.take(bucket, limits, due.tokens, due.requests);
    setHeaders(res, more.headers);
    if (!more.allowed) throw refusal(access, more);
    charged += due.tokens;
  };
  if (limits.tokensPerMinute !== null) {
    ctx.onDone(() => limiter.settle(bucket, limits, correction(ctx, charged)));
  }
}

function setHeaders(res: ServerResponse, headers: Readonly<Record<string, string>>): void {
  for (const name in headers) res.setHeader(name, headers[name] as string);
}
