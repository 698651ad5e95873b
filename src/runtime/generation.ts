import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import { type AdminDeps, adminRoutes, statusBody } from "../admin/routes.js";
import type { ResponseCache } from "../cache/response-cache.js";
import type { GatewayConfig } from "../config/types.js";
import type { MachineReader } from "../dashboard/machine.js";
import { dashboardRoutes } from "../dashboard/routes.js";
import { createRequestHandler } from "../http/handle-request.js";
import { requestPipeline } from "../http/middleware/pipeline.js";
import { Router } from "../http/router.js";
import { routeTable } from "../http/routes/table.js";
import { metricsHandler } from "../metrics/metrics-route.js";
import { Catalog } from "../scheduler/catalog.js";
import type { Limits } from "../scheduler/eviction.js";
import type { ModelGroup } from "../scheduler/model-group.js";
import { modelPool } from "../scheduler/model-pool.js";
import type { Scheduler } from "../scheduler/scheduler.js";
import { noAccess } from "../security/access.js";
import { KeyTable } from "../security/key-table.js";
import type { Limiter } from "../security/limiter.js";
import { Observability } from "./observability.js";

/**
 * Everything the config decides, built at start and again by each reload: the catalog, the
 * model groups, keys, limits, CORS, the routes and the request pipeline. A request runs
 * entirely in the generation it arrived in, so a reload never changes a request mid-way.
 */
export interface Generation {
  readonly number: number;
  readonly config: GatewayConfig;
  /** The llama-server binary its `model:` entries run. */
  readonly binary: string;
  /** SHA-256 of the config file as loaded; null when the config was built in code. */
  readonly configHash: string | null;
  /** ms since epoch. */
  readonly loadedAt: number;
  readonly groups: ReadonlyMap<string, ModelGroup>;
  readonly limiter: Limiter;
  /** The response cache; kept by a reload that leaves the cache settings as they were. */
  readonly cache: ResponseCache;
  /** The scheduler's limits as resolved (memoryBudget: auto → bytes from the GPUs). */
  readonly limits: Limits;
  /** `cut` aborts when the gateway cuts the request (the shutdown drain ran out). */
  readonly handle: (req: IncomingMessage, res: ServerResponse, cut: AbortSignal) => void;
}

/** What every generation is wired to: the long-lived parts (the shell's). */
export interface GenerationShell {
  readonly log: Logger;
  readonly scheduler: Scheduler;
  readonly dispatcher: Dispatcher;
  readonly createdAt: number;
  readonly isDraining: () => boolean;
  readonly admin: Pick<AdminDeps, "status" | "reload" | "gpu">;
  readonly observability: Observability;
  readonly machine: MachineReader;
}

export interface GenerationParts {
  readonly number: number;
  readonly config: GatewayConfig;
  readonly binary: string;
  readonly configHash: string | null;
  readonly groups: ReadonlyMap<string, ModelGroup>;
  readonly limiter: Limiter;
  readonly cache: ResponseCache;
  readonly limits: Limits;
}

/** How long a /metrics scrape waits for the children's own metrics. */
const LLAMA_SCRAPE_TIMEOUT_MS = 1_000;

/** Wires one generation's request handler; key files are read here (config/load checked them). */
export function buildGeneration(shell: GenerationShell, parts: GenerationParts): Generation {
  const { config } = parts;
  const catalog = new Catalog(config);
  const pool = modelPool(shell.scheduler, parts.groups);
  const keys = KeyTable.fromConfig(config.auth, config.rateLimit);
  const status = () =>
    statusBody({
      status: shell.admin.status,
      cache: parts.cache,
      sla: () => shell.observability.sla.report(),
    });
  const router = new Router([
    ...routeTable({
      catalog,
      scheduler: pool,
      dispatcher: shell.dispatcher,
      bodyLimitBytes: config.server.bodyLimitBytes,
      idleTimeoutMs: config.server.streamIdleTimeoutMs,
      createdAt: shell.createdAt,
      isDraining: shell.isDraining,
      upstreamPassthrough: config.server.upstreamPassthrough,
      requestLimits: config.server.requestLimits,
      maxResponseBufferBytes: config.server.maxResponseBufferBytes,
      cache: parts.cache,
      binary: parts.binary,
    }),
    ...adminRoutes({
      ...shell.admin,
      catalog,
      pool,
      scheduler: shell.scheduler,
      cache: parts.cache,
      history: shell.observability.history,
      isDraining: shell.isDraining,
      sla: () => shell.observability.sla.report(),
      drainTimeoutMs: config.server.shutdownTimeoutMs,
      bodyLimitBytes: config.server.bodyLimitBytes,
    }),
    {
      method: "GET",
      path: "/metrics",
      handler: metricsHandler({
        metrics: shell.observability.metrics,
        llamaTargets: () => Observability.llamaTargets([...parts.groups.values()]),
        dispatcher: shell.dispatcher,
        llamaTimeoutMs: LLAMA_SCRAPE_TIMEOUT_MS,
        onSkipped: (model) => shell.observability.metrics.llamaSkipped(model),
      }),
    },
    ...(config.dashboard.enabled
      ? dashboardRoutes({
          status,
          feed: shell.observability.feed,
          machine: shell.machine,
          public: config.dashboard.public,
          authRequired: !keys.isEmpty,
          isDraining: shell.isDraining,
        })
      : []),
  ]);
  const handle = createRequestHandler({
    router,
    log: shell.log,
    steps: requestPipeline({ config, keys, limiter: parts.limiter }),
    initialAccess: noAccess(config.rateLimit),
    trustProxy: config.server.trustProxy,
    streamIdleTimeoutMs: config.server.streamIdleTimeoutMs,
    minStreamRate: config.server.minStreamRate,
    onRecord: (record) => shell.observability.request(record),
  });
  return { ...parts, loadedAt: Date.now(), handle };
}
