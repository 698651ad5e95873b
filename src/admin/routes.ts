import type { ResponseCache } from "../cache/response-cache.js";
import { GatewayError } from "../errors/gateway-error.js";
import { errorBody } from "../errors/render.js";
import type { RequestHistory } from "../history/request-history.js";
import type { Handler, RequestContext } from "../http/context.js";
import { parseJsonObject, readBody } from "../http/read-body.js";
import type { Route } from "../http/router.js";
import { knownModel, modelNameFromPath } from "../http/routes/model-lookup.js";
import { sendJson } from "../http/send.js";
import type { SlaReport } from "../metrics/sla.js";
import type { Catalog } from "../scheduler/catalog.js";
import type { ModelPool } from "../scheduler/model-pool.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { followLogs } from "./follow-logs.js";
import type { ReloadOutcome } from "./reload-outcome.js";
import { requestsHandler } from "./requests.js";

export interface AdminDeps {
  readonly catalog: Catalog;
  readonly pool: ModelPool;
  readonly scheduler: Scheduler;
  /** The running generation's response cache: its numbers join the status; clear empties it. */
  readonly cache: ResponseCache;
  /** Recent requests (GET /admin/requests); null when history.size is 0. */
  readonly history: RequestHistory | null;
  /** SLA numbers per model, for the status. */
  readonly sla: () => SlaReport[];
  readonly status: () => Record<string, unknown>;
  readonly reload: () => Promise<ReloadOutcome>;
  readonly gpu: () => Promise<unknown>;
  /** The shutdown drain started: following log streams end. */
  readonly isDraining?: () => boolean;
  /** How long an unload without force waits for the model's requests. */
  readonly drainTimeoutMs: number;
  readonly bodyLimitBytes: number;
}

type Action = "load" | "unload" | "reset" | "logs";
const ACTIONS: ReadonlySet<string> = new Set<Action>(["load", "unload", "reset", "logs"]);
const LOG_LINES = 200;

/**
 * The admin API (docs/admin.md). The auth step lets only admin keys reach /admin/*. Only
 * models named in the config can be loaded: no call takes a command, path, args or env.
 */
export function adminRoutes(deps: AdminDeps): Route[] {
  const status: Handler = async (ctx) => sendJson(ctx.res, 200, statusBody(deps));
  const clearCache: Handler = async (ctx) => {
    const cleared = await deps.cache.clear();
    sendJson(ctx.res, 200, { cleared, store: deps.cache.stats().store });
  };
  const gpu: Handler = async (ctx) => sendJson(ctx.res, 200, await deps.gpu());
  const reload: Handler = async (ctx) => {
    const outcome = await deps.reload();
    if (outcome.ok) return sendJson(ctx.res, 200, outcome);
    const error = new GatewayError(
      "config_invalid",
      `the config file has ${outcome.problems.length} problem(s); the running config is kept`,
    );
    // The one error renderer's body, with the problems beside it.
    sendJson(ctx.res, 400, { error: { ...errorBody(error).error, problems: outcome.problems } });
  };
  const byBody =
    (action: Action): Handler =>
    async (ctx) => {
      const body = parseJsonObject(await readBody(ctx.req, deps.bodyLimitBytes));
      if (typeof body.model !== "string")
        throw new GatewayError("invalid_request", 'the body needs a model: {"model": "id"}', {
          param: "model",
        });
      await act(deps, ctx, action, body.model, body.force === true);
    };
  return [
    { method: "GET", path: "/admin/status", handler: status },
    { method: "POST", path: "/admin/status", handler: status },
    { method: "GET", path: "/admin/gpu", handler: gpu },
    { method: "POST", path: "/admin/gpu", handler: gpu },
    { method: "POST", path: "/admin/reload", handler: reload },
    { method: "POST", path: "/admin/cache/clear", handler: clearCache },
    { method: "GET", path: "/admin/requests", handler: requestsHandler(deps.history) },
    // The seed's forms: POST /admin/load {"model": ...}.
    { method: "POST", path: "/admin/load", handler: byBody("load") },
    { method: "POST", path: "/admin/unload", handler: byBody("unload") },
    { method: "POST", path: "/admin/reset", handler: byBody("reset") },
    {
      method: "POST",
      prefix: "/admin/models/",
      pattern: "/admin/models/{id}/{action}",
      handler: (ctx, rest) => byPath(deps, ctx, rest, "POST"),
    },
    {
      method: "GET",
      prefix: "/admin/models/",
      pattern: "/admin/models/{id}/logs",
      handler: (ctx, rest) => byPath(deps, ctx, rest, "GET"),
    },
  ];
}

/** GET /admin/status's body: the models and generation, the cache's numbers, the SLA per model. */
export function statusBody(deps: Pick<AdminDeps, "status" | "cache" | "sla">): Record<string, unknown> {
  return { ...deps.status(), cache: deps.cache.stats(), sla: deps.sla() };
}

/** `/admin/models/{id}/{action}`: the id may hold slashes (percent-encoded or raw). */
async function byPath(deps: AdminDeps, ctx: RequestContext, rest: string, method: string): Promise<void> {
  const slash = rest.lastIndexOf("/");
  const action = rest.slice(slash + 1);
  if (slash <= 0 || !ACTIONS.has(action))
    throw new GatewayError("not_found", `no route for ${method} ${ctx.path}`);
  const wanted = action === "logs" ? "GET" : "POST";
  if (method !== wanted)
    throw new GatewayError("method_not_allowed", `${ctx.path} accepts ${wanted}, not ${method}`);
  const query = new URLSearchParams(ctx.req.url?.split("?")[1] ?? "");
  const force = query.get("force") === "1" || query.get("force") === "true";
  await act(deps, ctx, action as Action, modelNameFromPath(rest.slice(0, slash)), force, query);
}

async function act(
  deps: AdminDeps,
  ctx: RequestContext,
  action: Action,
  name: string,
  force: boolean,
  query: URLSearchParams = new URLSearchParams(),
): Promise<void> {
  const model = knownModel(deps.catalog, name);
  ctx.facts.modelAsked = name;
  ctx.facts.modelServed = model.id;
  const group = deps.pool.group(model.id);
  if (group === undefined) throw new GatewayError("model_not_found", `The model '${name}' does not exist`);
  const started = performance.now();
  switch (action) {
    case "load":
      await deps.scheduler.load(group, ctx.signal);
      return sendJson(ctx.res, 200, {
        model: model.id,
        state: "loaded",
        ms: Math.round(performance.now() - started),
      });
    case "unload":
      await deps.scheduler.unload(group, { force, drainTimeoutMs: deps.drainTimeoutMs });
      return sendJson(ctx.res, 200, { model: model.id, state: "unloaded", forced: force });
    case "reset":
      group.reset();
      return sendJson(ctx.res, 200, { model: model.id, reset: true });
    case "logs": {
      const lines = Number(query.get("lines") ?? LOG_LINES);
      const count = Number.isInteger(lines) && lines > 0 ? Math.min(lines, 10_000) : LOG_LINES;
      if (query.get("follow") === "1" || query.get("follow") === "true")
        return followLogs(ctx, group, count, deps.isDraining);
      const instances = group
        .backends()
        .map((backend) => ({ name: backend.name, lines: backend.logs(count) }));
      return sendJson(ctx.res, 200, { model: model.id, instances });
    }
  }
}
