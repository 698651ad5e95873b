import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { toGatewayError } from "../errors/gateway-error.js";
import type { RequestContext } from "./context.js";
import { requestIdFrom } from "./request-id.js";
import type { Router } from "./router.js";
import { sendError } from "./send.js";

export interface RequestHandlerDeps {
  readonly router: Router;
  readonly log: Logger;
}

function pathOf(url: string | undefined): string {
  const raw = url ?? "/";
  const query = raw.indexOf("?");
  return query === -1 ? raw : raw.slice(0, query);
}

/**
 * The entry of every request: gives it an id, ties an AbortSignal to the client's connection
 * (so a client that leaves cancels its queued, loading or streaming work), routes it, renders
 * any error in OpenAI's shape, and writes one access-log line when it ends.
 */
export function createRequestHandler(
  deps: RequestHandlerDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const abort = new AbortController();
    const ctx: RequestContext = {
      req,
      res,
      requestId: requestIdFrom(req.headers["x-request-id"]),
      startedAt: performance.now(),
      signal: abort.signal,
      facts: { modelAsked: null, modelServed: null, instance: null, ttfbMs: null, errorCode: null },
    };
    res.setHeader("x-request-id", ctx.requestId);
    res.once("close", () => {
      if (!res.writableFinished) abort.abort(new Error("client closed the connection"));
      logRequest(deps.log, ctx);
    });
    const path = pathOf(req.url);
    let handling: Promise<void>;
    try {
      handling = deps.router.match(req.method ?? "GET", path)(ctx);
    } catch (error) {
      handling = Promise.reject(error);
    }
    handling.catch((error: unknown) => {
      const failure = toGatewayError(error);
      ctx.facts.errorCode = failure.code;
      if (failure.code === "internal_error")
        deps.log.error({ err: error, requestId: ctx.requestId }, "request failed");
      if (!res.destroyed) sendError(res, failure);
    });
  };
}

function logRequest(log: Logger, ctx: RequestContext): void {
  const { req, res, facts } = ctx;
  log.info(
    {
      requestId: ctx.requestId,
      method: req.method,
      path: pathOf(req.url),
      status: res.writableFinished ? res.statusCode : 499,
      durationMs: Math.round((performance.now() - ctx.startedAt) * 100) / 100,
      ttfbMs: facts.ttfbMs === null ? null : Math.round(facts.ttfbMs * 100) / 100,
      model: facts.modelAsked,
      servedBy: facts.instance,
      error: facts.errorCode,
      client: req.socket.remoteAddress,
    },
    "request",
  );
}
