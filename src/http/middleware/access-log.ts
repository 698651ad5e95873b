import type { Logger } from "pino";
import { escapeForLog } from "../../logging/escape.js";
import type { RequestContext } from "../context.js";

function rounded(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 100) / 100;
}

function escaped(text: string | null | undefined): string | null {
  return text === null || text === undefined ? null : escapeForLog(text);
}

/**
 * The one line per request. The key appears only by name; client-supplied text (path, model
 * name, user agent) has its control characters escaped. `route` is the matched route, null
 * when none matched. Status 499 (nginx's) means the client left before the answer was complete.
 */
export function writeAccessLog(log: Logger, ctx: RequestContext, route: string | null): void {
  // Below info (logging.level warn, error or silent) the line is not even put together.
  if (!log.isLevelEnabled("info")) return;
  const { req, res, facts } = ctx;
  const usage = facts.usage;
  log.info(
    {
      requestId: ctx.requestId,
      method: escaped(req.method),
      route: escaped(route),
      path: route === null ? escaped(ctx.path) : undefined,
      status: res.writableFinished ? res.statusCode : 499,
      durationMs: rounded(performance.now() - ctx.startedAt),
      ttfbMs: rounded(facts.ttfbMs),
      queueMs: rounded(facts.queueMs),
      modelAsked: escaped(facts.modelAsked),
      modelServed: facts.modelServed,
      instance: facts.instance,
      routing: facts.routing ?? undefined,
      tokensIn: usage?.promptTokens ?? null,
      tokensOut: usage?.completionTokens ?? null,
      tokensCached: usage?.cachedTokens ?? null,
      cacheHit: facts.cache === "hit" ? true : facts.cache === "miss" ? false : null,
      key: ctx.access.keyName,
      client: ctx.clientAddress,
      userAgent: escaped(req.headers["user-agent"]),
      error: facts.errorCode,
      traceparent: ctx.traceparent ?? undefined,
    },
    "request",
  );
}
