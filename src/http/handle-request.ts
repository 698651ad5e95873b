import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { StreamRate } from "../config/security-types.js";
import { toGatewayError } from "../errors/gateway-error.js";
import type { Access } from "../security/access.js";
import type { RequestContext } from "./context.js";
import { errorDialectOf } from "./error-dialect.js";
import { writeAccessLog } from "./middleware/access-log.js";
import { clientAddressOf } from "./middleware/client-address.js";
import { SlowReaderWatch } from "./middleware/slow-reader.js";
import { pathOf, type Step } from "./middleware/step.js";
import { requestIdFrom } from "./request-id.js";
import type { RequestRecord } from "./request-record.js";
import { RequestState } from "./request-state.js";
import type { Router } from "./router.js";
import { sendError } from "./send.js";
import { traceparentFrom } from "./traceparent.js";

const NEVER = new AbortController().signal;

export interface RequestHandlerDeps {
  readonly router: Router;
  readonly log: Logger;
  /** The security and traffic steps, in order (middleware/pipeline.ts). */
  readonly steps: readonly Step[];
  /** What a request may do before the auth step decided: nothing. */
  readonly initialAccess: Access;
  /** server.trustProxy: hops of X-Forwarded-For to believe. */
  readonly trustProxy: number;
  /** A response the client takes no byte of for this long is dropped. */
  readonly streamIdleTimeoutMs: number;
  /**
   * server.minStreamRate: a response the client takes more slowly than this while the gateway
   * waits on it is dropped. Without it, the schema's default (DEFAULT_STREAM_RATE).
   */
  readonly minStreamRate?: StreamRate;
  /** Told of every finished request (metrics, SLA, history), just after its access-log line. */
  readonly onRecord?: (record: RequestRecord) => void;
}

/** The schema's defaults of server.minStreamRate and server.streamRateWindow (a test keeps them equal). */
export const DEFAULT_STREAM_RATE: StreamRate = { bytesPerSecond: 1024, windowMs: 30_000 };

/**
 * The entry of every request: gives it an id (first, so every log line has it), watches the
 * client's connection (a client that leaves cancels its queued, loading or streaming work:
 * request-state.ts), runs the pipeline's steps, routes it, renders any error in the route's
 * dialect (OpenAI's shape, Anthropic's on /v1/messages…: error-dialect.ts), and writes one
 * access-log line when it ends.
 */
export function createRequestHandler(
  deps: RequestHandlerDeps,
): (req: IncomingMessage, res: ServerResponse, cut?: AbortSignal) => void {
  const rate = deps.minStreamRate ?? DEFAULT_STREAM_RATE;
  const pace = {
    idleMs: deps.streamIdleTimeoutMs,
    minBytesPerSecond: rate.bytesPerSecond,
    windowMs: rate.windowMs,
  };
  const readers = new SlowReaderWatch<RequestContext>(pace, (ctx, verdict) => {
    deps.log.warn(
      { requestId: ctx.requestId, client: ctx.clientAddress },
      verdict === "idle"
        ? "the client stopped reading its response: dropped"
        : "the client read its response too slowly: dropped",
    );
  });
  return (req, res, cut = NEVER) => {
    const arrivedAt = Date.now();
    const ctx = new RequestState(req, res, cut, {
      requestId: requestIdFrom(req.headers["x-request-id"]),
      traceparent: traceparentFrom(req.headers.traceparent),
      path: pathOf(req.url),
      clientAddress: clientAddressOf(req, deps.trustProxy),
      access: deps.initialAccess,
    });
    res.setHeader("x-request-id", ctx.requestId);
    // Decided once from the path, so every error of the request (a step's refusal included) and
    // every answer speaks the route's dialect; Anthropic's SDKs read the id from `request-id`.
    const dialect = errorDialectOf(ctx.path);
    if (dialect === "anthropic") res.setHeader("request-id", ctx.requestId);
    // Known before the steps run, so a refused request (401, 429) is counted under its route.
    let route: string | null = deps.router.patternOf(ctx.path);
    // The line is written once the response closed and the route's work settled, whichever
    // comes last: what a route learns from its last await (usage, outcome) is in it.
    let pending = 2;
    const done = () => {
      if (--pending !== 0) return;
      ctx.runDoneListeners();
      writeAccessLog(deps.log, ctx, route);
      deps.onRecord?.(recordOf(ctx, route, arrivedAt));
    };
    const watched = readers.watch(res, ctx);
    res.once("close", () => {
      readers.forget(watched);
      if (!res.writableFinished) ctx.clientLeft();
      done();
    });

    const run = async (): Promise<void> => {
      for (const step of deps.steps) {
        const outcome = step(ctx);
        if ((outcome instanceof Promise ? await outcome : outcome) === "answered") return;
      }
      const matched = deps.router.match(req.method ?? "GET", ctx.path);
      route = matched.pattern;
      // `Expect: 100-continue` (the shell routes such requests here through checkContinue):
      // the client sends its body only now that host, CORS, key, rate limit, body limit and
      // route all accepted it, so a wrong key or an oversize body costs it no upload.
      if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
      await matched.handler(ctx);
    };
    run()
      .catch((error: unknown) => {
        // A client that left (while queued, loading or mid-answer) is no error of the gateway's.
        if (ctx.leftWith !== null && error === ctx.leftWith) {
          ctx.facts.errorCode = "client_closed";
          deps.log.debug({ requestId: ctx.requestId }, "the client went away before its answer");
          return;
        }
        const failure = toGatewayError(error);
        ctx.facts.errorCode = failure.code;
        if (failure.code === "internal_error")
          deps.log.error({ err: error, requestId: ctx.requestId }, "request failed");
        if (res.destroyed) return;
        // An unread body would otherwise be read to its end to find the next request on the connection.
        sendError(res, failure, {
          dialect,
          requestId: ctx.requestId,
          headers: req.complete ? {} : { connection: "close" },
        });
      })
      .finally(done);
  };
}

function recordOf(ctx: RequestContext, route: string | null, at: number): RequestRecord {
  const { facts, res } = ctx;
  return {
    requestId: ctx.requestId,
    at,
    method: ctx.req.method ?? "GET",
    route,
    status: res.writableFinished ? res.statusCode : 499,
    durationMs: performance.now() - ctx.startedAt,
    ttfbMs: facts.ttfbMs,
    queueMs: facts.queueMs,
    upstreamMs: facts.upstreamMs,
    model: facts.modelServed,
    instance: facts.instance,
    keyName: ctx.access.keyName,
    usage: facts.usage,
    tokensPerSecond: facts.tokensPerSecond,
    cache: facts.cache,
    routing: facts.routing,
    errorCode: facts.errorCode,
    stream: facts.stream,
    modelAsked: clip(facts.modelAsked),
    userAgent: clip(ctx.req.headers["user-agent"]),
  };
}

/** Client text kept in the history: bounded, so a huge header cannot grow the ring. */
function clip(text: string | null | undefined): string | null {
  if (text === null || text === undefined) return null;
  return text.length > CLIENT_TEXT_LIMIT ? text.slice(0, CLIENT_TEXT_LIMIT) : text;
}

const CLIENT_TEXT_LIMIT = 200;
