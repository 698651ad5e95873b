import type { Dispatcher } from "undici";
import type { Catalog } from "../../scheduler/catalog.js";
import type { ModelPool } from "../../scheduler/model-pool.js";
import type { Route } from "../router.js";
import { apiSpecs } from "./api-specs.js";
import { healthHandler } from "./health.js";
import { type InferenceDeps, inferenceHandler } from "./inference.js";
import { modelHandler, modelsHandler } from "./models.js";
import { upstreamHandler } from "./upstream.js";

export interface RouteDeps extends InferenceDeps {
  readonly catalog: Catalog;
  readonly scheduler: ModelPool;
  readonly dispatcher: Dispatcher;
  readonly createdAt: number;
  readonly isDraining: () => boolean;
  /** server.upstreamPassthrough: whether /upstream/{model}/... exists. */
  readonly upstreamPassthrough: boolean;
}

/** The gateway's routes; each POST route forwards to llama-server's route of the same meaning. */
export function routeTable(deps: RouteDeps): Route[] {
  const upstream = upstreamHandler(deps);
  const passthrough: Route[] = deps.upstreamPassthrough
    ? [
        { method: "GET", prefix: "/upstream/", pattern: "/upstream/{model}/{path}", handler: upstream },
        { method: "POST", prefix: "/upstream/", pattern: "/upstream/{model}/{path}", handler: upstream },
      ]
    : [];
  return [
    ...apiSpecs().map(
      (spec): Route => ({ method: "POST", path: spec.path, handler: inferenceHandler(deps, spec) }),
    ),
    {
      method: "GET",
      path: "/v1/models",
      handler: modelsHandler(deps.catalog, deps.scheduler, deps.createdAt),
    },
    {
      method: "GET",
      prefix: "/v1/models/",
      pattern: "/v1/models/{id}",
      handler: modelHandler(deps.catalog, deps.scheduler, deps.createdAt),
    },
    { method: "GET", path: "/health", handler: healthHandler(deps.isDraining) },
    ...passthrough,
  ];
}
