import type { IncomingMessage } from "node:http";
import { GatewayError } from "../../errors/gateway-error.js";
import type { Limiter } from "../../security/limiter.js";
import type { RequestContext } from "../context.js";
import { isAdminPath, type Step } from "./step.js";

/**
 * Prompt tokens before the body is read: about 4 bytes of JSON per token for English text
 * (the JSON around the prompt makes it an overestimate). The answer's usage corrects it; a
 * chunked body, whose size is not known yet, is counted only then.
 */
export function estimatePromptTokens(req: IncomingMessage): number {
  const length = Number(req.headers["content-length"]);
  return Number.isFinite(length) && length > 0 ? Math.ceil(length / 4) : 0;
}

/** Real usage minus the estimate; the estimate is refunded when no backend answered. */
function correction(ctx: RequestContext, estimate: number): number {
  const usage = ctx.facts.usage;
  if (usage !== null) return usage.promptTokens + usage.completionTokens - estimate;
  return ctx.res.statusCode >= 400 ? -estimate : 0;
}

/**
 * Token buckets per key, or per client address without one (after auth, since the key picks
 * the bucket). /health and /admin/* are never limited: operators must not be locked out by
 * the traffic they are trying to fix. Quota headers go on every limited answer, 429s included.
 */
export function rateLimit(limiter: Limiter): Step {
  return async (ctx) => {
    const { access, res } = ctx;
    const limits = access.limits;
    if (access.kind === "public" || isAdminPath(ctx.path)) return;
    if (limits.requestsPerMinute === null && limits.tokensPerMinute === null) return;
    const bucket = access.keyName === null ? `addr:${ctx.clientAddress}` : `key:${access.keyName}`;
    const estimate = limits.tokensPerMinute === null ? 0 : estimatePromptTokens(ctx.req);
    const decision = await limiter.take(bucket, limits, estimate);
    for (const [name, value] of Object.entries(decision.headers)) res.setHeader(name, value);
    if (!decision.allowed) {
      throw new GatewayError(
        "rate_limited",
        access.keyName === null
          ? "rate limit reached for this client address; retry after the time in Retry-After"
          : "rate limit reached for this API key; retry after the time in Retry-After",
        { retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)) },
      );
    }
    if (limits.tokensPerMinute !== null) {
      res.once("close", () => limiter.settle(bucket, limits, correction(ctx, estimate)));
    }
  };
}
