import type { Dispatcher } from "undici";
import type { Catalog } from "../../scheduler/catalog.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { Route } from "../router.js";
import { healthHandler } from "./health.js";
import { type InferenceDeps, inferenceHandler } from "./inference.js";
import { modelsHandler } from "./models.js";

export interface RouteDeps extends InferenceDeps {
  readonly catalog: Catalog;
  readonly scheduler: Scheduler;
  readonly dispatcher: Dispatcher;
  readonly createdAt: number;
  readonly isDraining: () => boolean;
}

/** The gateway's routes; llama-server's own paths are the upstream targets. */
export function routeTable(deps: RouteDeps): Route[] {
  return [
    {
      method: "POST",
      path: "/v1/chat/completions",
      handler: inferenceHandler(deps, "chat", "/v1/chat/completions"),
    },
    {
      method: "POST",
      path: "/v1/completions",
      handler: inferenceHandler(deps, "completion", "/v1/completions"),
    },
    {
      method: "POST",
      path: "/v1/embeddings",
      handler: inferenceHandler(deps, "embedding", "/v1/embeddings"),
    },
    {
      method: "GET",
      path: "/v1/models",
      handler: modelsHandler(deps.catalog, deps.scheduler, deps.createdAt),
    },
    { method: "GET", path: "/health", handler: healthHandler(deps.isDraining) },
  ];
}
