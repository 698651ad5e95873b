import type { Dispatcher } from "undici";
import { GatewayError } from "../../errors/gateway-error.js";
import { forward } from "../../proxy/forward.js";
import type { Catalog } from "../../scheduler/catalog.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { Handler } from "../context.js";
import { parseJsonObject, readBody } from "../read-body.js";
import { type InferenceKind, validateInference } from "./validate-inference.js";

export interface InferenceDeps {
  readonly catalog: Catalog;
  readonly scheduler: Scheduler;
  readonly dispatcher: Dispatcher;
  readonly bodyLimitBytes: number;
  readonly headersTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

/**
 * POST /v1/chat/completions, /v1/completions, /v1/embeddings: read and check the body, resolve
 * the model (id or alias), get an instance from the scheduler (which may load or evict), and
 * stream llama-server's answer back. The body is forwarded as received, byte for byte.
 */
export function inferenceHandler(deps: InferenceDeps, kind: InferenceKind, upstreamPath: string): Handler {
  return async (ctx) => {
    const raw = await readBody(ctx.req, deps.bodyLimitBytes);
    const body = parseJsonObject(raw);
    validateInference(kind, body);
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
    ctx.facts.modelAsked = asked;
    const model = deps.catalog.resolve(asked);
    if (model === undefined) {
      throw new GatewayError("model_not_found", `The model '${asked}' does not exist`, { param: "model" });
    }
    ctx.facts.modelServed = model.id;
    const lease = await deps.scheduler.acquire(model.id, ctx.signal);
    ctx.facts.instance = lease.instance;
    try {
      const outcome = await forward(
        deps.dispatcher,
        {
          modelId: model.id,
          endpoint: lease.endpoint,
          method: "POST",
          path: upstreamPath,
          body: raw,
          requestId: ctx.requestId,
          headersTimeoutMs: deps.headersTimeoutMs,
          idleTimeoutMs: deps.idleTimeoutMs,
          signal: ctx.signal,
        },
        ctx.res,
      );
      if (outcome.firstByteAt !== null) ctx.facts.ttfbMs = outcome.firstByteAt - ctx.startedAt;
      if (outcome.kind === "broken") ctx.facts.errorCode = outcome.error.code;
    } finally {
      lease.release();
    }
  };
}
