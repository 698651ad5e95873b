import type { Dispatcher } from "undici";
import type { ResponseCache } from "../../cache/response-cache.js";
import type { RequestLimits } from "../../config/security-types.js";
import { GatewayError, toGatewayError } from "../../errors/gateway-error.js";
import { type ForwardOutcome, forward } from "../../proxy/forward.js";
import { streamFailure } from "../../proxy/stream-error.js";
import type { Catalog } from "../../scheduler/catalog.js";
import type { Lease, RouteDecision } from "../../scheduler/lease.js";
import type { ModelPool } from "../../scheduler/model-pool.js";
import type { Handler } from "../context.js";
import { parseJsonObject, readBody } from "../read-body.js";
import type { ApiSpec } from "./api-specs.js";
import { answerThroughCache } from "./cached-answer.js";
import { conversationOf } from "./conversation-keys.js";
import { knownModel } from "./model-lookup.js";
import { DEFAULT_REQUEST_LIMITS } from "./request-shape.js";
import { estimateWork } from "./request-work.js";
import { clientAsksUsage, remoteBody, upstreamBody } from "./upstream-body.js";
import { validateRequest } from "./validate-request.js";
import { waitNotices } from "./wait-notices.js";

export interface InferenceDeps {
  readonly catalog: Catalog;
  readonly scheduler: ModelPool;
  readonly dispatcher: Dispatcher;
  readonly bodyLimitBytes: number;
  readonly idleTimeoutMs: number;
  /** server.requestLimits and server.maxResponseBuffer; their defaults when not given. */
  readonly requestLimits?: RequestLimits;
  readonly maxResponseBufferBytes?: number;
  /** The response cache; null when there is none (tests of other parts). */
  readonly cache?: ResponseCache | null;
  /** The llama-server binary `model:` entries run: part of the cache key. */
  readonly binary?: string;
}

/**
 * One POST route of the API: read and check the body (bad input never reaches llama-server),
 * resolve the model (id or alias; defaultModel when none is named), get an instance from the
 * scheduler (which may queue, load or evict), and relay llama-server's answer with `model`
 * showing the name the client asked for. Usage lands in ctx.facts for the access log.
 */
export function inferenceHandler(deps: InferenceDeps, spec: ApiSpec): Handler {
  return async (ctx) => {
    const raw = await readBody(ctx.req, deps.bodyLimitBytes);
    const limits = deps.requestLimits ?? DEFAULT_REQUEST_LIMITS;
    const body = parseJsonObject(raw, limits.maxJsonDepth);
    validateRequest(spec, body, limits);
    await ctx.chargeWork?.(estimateWork(spec, body, raw.length));
    const asked = typeof body.model === "string" ? body.model : deps.catalog.defaultModel;
    if (asked === null) {
      throw new GatewayError(
        "model_required",
        "the request names no model and no defaultModel is configured",
        {
          param: "model",
        },
      );
    }
    const modelName: string = asked;
    ctx.facts.modelAsked = asked;
    // Out of the key's scope answers exactly like an unknown name: 404, never a 403 naming it.
    const model = knownModel(deps.catalog, asked, ctx.access.mayUse);
    ctx.facts.modelServed = model.id;
    const upstream = upstreamBody(spec, raw, body);
    const cache = deps.cache ?? null;
    const planned =
      cache === null
        ? null
        : cache.plan({
            route: spec.path,
            model,
            binary: deps.binary ?? "",
            body,
            cacheControl: ctx.req.headers["cache-control"],
          });
    // Only a model's first cacheable request waits (for its launch fingerprint, the key's part).
    const plan = planned instanceof Promise ? await planned : planned;
    if (plan?.kind === "bypass") {
      ctx.facts.cache = "bypass";
      ctx.res.setHeader("x-cache", "BYPASS");
    }
    // Only a model that routes by conversation pays for hashing the prompt.
    const conversation =
      spec.generates && deps.scheduler.group(model.id)?.routesByConversation === true
        ? conversationOf(body)
        : null;
    const streamed = body.stream === true && spec.generates;
    ctx.facts.stream = streamed;
    const notices = streamed ? waitNotices(ctx.res, waitingFor(deps, model.id)) : null;
    try {
      if (cache !== null && plan?.kind === "cache") {
        const reply = { stream: streamed, includeUsage: clientAsksUsage(body), modelName };
        await answerThroughCache(ctx, cache, plan, reply, serve);
      } else {
        await serve(undefined);
      }
    } catch (error) {
      // Once the stream was opened for wait notices, its status is sent: the error goes in-band.
      if (notices === null || !notices.started || ctx.res.writableEnded || ctx.res.destroyed) throw error;
      const failure = toGatewayError(error);
      ctx.facts.errorCode = failure.code;
      ctx.res.end(streamFailure(failure, spec.dialect));
    } finally {
      notices?.stop();
    }

    async function serve(tap: ((chunk: Buffer) => void) | undefined): Promise<ForwardOutcome> {
      let answered = false;
      // A connection refused or reset before any answer means that instance just died: with
      // another instance to go to, the request goes there instead of failing.
      let failedOn: string | null = null;
      for (let attempt = 1; ; attempt++) {
        const asked = performance.now();
        // A free slot is taken without a turn of the loop; otherwise the scheduler decides.
        const lease: Lease =
          deps.scheduler.tryAcquire(model.id, ctx.requestId, conversation, failedOn) ??
          (await deps.scheduler.acquire(model.id, ctx.signal, ctx.requestId, conversation, failedOn));
        const sent = performance.now();
        ctx.facts.queueMs = (ctx.facts.queueMs ?? 0) + (sent - asked);
        ctx.facts.instance = lease.instance;
        const route = lease.route;
        if (route !== null) {
          const routing = describeRoute(route);
          ctx.facts.routing = routing;
          // A stream opened early for wait notices has sent its headers: the access log still says it.
          if (!ctx.res.headersSent) ctx.res.setHeader("x-gateway-route", routing);
        }
        try {
          const outcome = await forward(
            deps.dispatcher,
            {
              endpoint: lease.endpoint,
              method: "POST",
              path: spec.upstreamPath,
              body:
                lease.upstreamModel !== null
                  ? remoteBody(upstream, body, lease.upstreamModel)
                  : route?.slot == null
                    ? upstream.body
                    : pinnedToSlot(upstream.body, route.slot),
              requestId: ctx.requestId,
              traceparent: ctx.traceparent,
              headersTimeoutMs: model.firstByteTimeoutMs,
              idleTimeoutMs: deps.idleTimeoutMs,
              client: ctx,
              cut: ctx.cut,
              onStart: () => {
                answered = true;
                notices?.stop();
              },
              maxBufferBytes: deps.maxResponseBufferBytes,
              shaping: {
                modelId: model.id,
                modelName,
                dialect: spec.dialect,
                stripUsageChunk: upstream.stripUsageChunk,
                request: body,
              },
              tap,
            },
            ctx.res,
          );
          if (outcome.firstByteAt !== null) ctx.facts.ttfbMs = outcome.firstByteAt - ctx.startedAt;
          ctx.facts.upstreamMs = performance.now() - sent;
          ctx.facts.usage = outcome.usage;
          ctx.facts.tokensPerSecond = outcome.tokensPerSecond ?? null;
          if (outcome.prefillPerSecond != null) lease.notePrefill(outcome.prefillPerSecond);
          if (outcome.kind === "broken") ctx.facts.errorCode = outcome.error.code;
          lease.observe(outcome.kind !== "broken" || outcome.error.status < 500);
          return outcome;
        } catch (error) {
          const failure = error instanceof GatewayError ? error : null;
          // A connection failure or a 5xx counts against the instance (passive health check).
          if (failure !== null && failure.status >= 500) lease.observe(false);
          const unreachable = failure?.code === "backend_crashed" && !answered;
          // A remote upstream's 5xx before any byte reached the client moves the request once.
          const remoteFailure =
            lease.remote && failure !== null && failure.status >= 500 && !ctx.res.headersSent;
          if (!unreachable && !remoteFailure) throw error;
          // A dead instance is kept away from every request for a while; one that answered 5xx
          // only from this request's retry (passive health checks decide about the others).
          if (unreachable) lease.suspect();
          failedOn = lease.instance;
          // An unreachable instance: each other one may be tried (as before remote upstreams);
          // a remote upstream that answered 5xx: one other try.
          const tries = unreachable ? model.instances + model.upstreams.length : REMOTE_TRIES;
          if (attempt >= tries) throw error;
        } finally {
          lease.release();
        }
      }
    }
  };
}

/** X-Gateway-Route's value: `instance=1 slot=0 reason=affinity` (no slot when not pinned). */
function describeRoute(route: RouteDecision): string {
  const slot = route.slot === null ? "" : ` slot=${route.slot}`;
  return `instance=${route.instance}${slot} reason=${route.reason}`;
}

const OPEN_BRACE = 0x7b;

/** A request a remote upstream answered with a 5xx (before any byte reached the client) is tried this many times in all. */
const REMOTE_TRIES = 2;

/**
 * The body with llama-server's `id_slot` set to the slot the scheduler chose: a byte insertion
 * after the opening brace (clients cannot send id_slot themselves: the request policy refuses it).
 */
function pinnedToSlot(body: Buffer, slot: number): Buffer {
  const at = body.indexOf(OPEN_BRACE) + 1;
  return Buffer.concat([body.subarray(0, at), Buffer.from(`"id_slot":${slot},`), body.subarray(at)]);
}

/** What a waiting streaming request is told in its SSE comment lines. */
function waitingFor(deps: InferenceDeps, modelId: string): (seconds: number) => string {
  return (seconds) => {
    const group = deps.scheduler.group(modelId);
    if (group === undefined) return `waiting for model ${modelId} (${seconds} s)`;
    const ready = group.instances().some((instance) => instance.state === "ready");
    if (!ready) return `loading model ${modelId} (${seconds} s)`;
    const waiting = group.waiting;
    return waiting > 0
      ? `queued for model ${modelId}, ${waiting} waiting (${seconds} s)`
      : `waiting for the first token of model ${modelId} (${seconds} s)`;
  };
}
