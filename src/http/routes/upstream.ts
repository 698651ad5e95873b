import type { Dispatcher } from "undici";
import { passthrough } from "../../proxy/passthrough.js";
import type { Catalog } from "../../scheduler/catalog.js";
import type { ModelPool } from "../../scheduler/model-pool.js";
import type { PrefixHandler } from "../router.js";
import { knownModel, modelNameFromPath } from "./model-lookup.js";

export interface UpstreamDeps {
  readonly catalog: Catalog;
  readonly scheduler: ModelPool;
  readonly dispatcher: Dispatcher;
  readonly idleTimeoutMs: number;
}

/**
 * /upstream/{model}/{path...}: `rest` is `{model}/{path}`; the model is an id or alias,
 * percent-encoded when it holds a slash (`org%2Fmodel`). The query string goes along.
 */
export function upstreamHandler(deps: UpstreamDeps): PrefixHandler {
  return async (ctx, rest) => {
    const slash = rest.indexOf("/");
    const encoded = slash === -1 ? rest : rest.slice(0, slash);
    const name = modelNameFromPath(encoded);
    const model = knownModel(deps.catalog, name, ctx.access.mayUse);
    ctx.facts.modelAsked = name;
    ctx.facts.modelServed = model.id;
    const url = ctx.req.url ?? "/";
    const query = url.indexOf("?");
    const path = (slash === -1 ? "/" : rest.slice(slash)) + (query === -1 ? "" : url.slice(query));
    const lease = await deps.scheduler.acquire(model.id, ctx.signal, ctx.requestId);
    ctx.facts.instance = lease.instance;
    try {
      await passthrough(
        deps.dispatcher,
        {
          endpoint: lease.endpoint,
          modelId: model.id,
          path,
          requestId: ctx.requestId,
          headersTimeoutMs: model.firstByteTimeoutMs,
          idleTimeoutMs: deps.idleTimeoutMs,
          signal: ctx.signal,
        },
        ctx.req,
        ctx.res,
      );
    } finally {
      lease.release();
    }
  };
}
