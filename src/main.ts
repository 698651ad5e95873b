import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { Agent } from "undici";
import type { GatewayConfig } from "./config/types.js";
import { createRequestHandler } from "./http/handle-request.js";
import { clientErrorHandler } from "./http/middleware/client-error.js";
import { requestPipeline } from "./http/middleware/pipeline.js";
import { Router } from "./http/router.js";
import { routeTable } from "./http/routes/table.js";
import { DEFAULT_RESTART_POLICY } from "./process/crash-history.js";
import type { RuntimeRecord } from "./process/runtime-record.js";
import { Supervisor } from "./process/supervisor.js";
import { compileHttpParser } from "./proxy/compile-http-parser.js";
import { Catalog } from "./scheduler/catalog.js";
import { modelMemory } from "./scheduler/memory-estimate.js";
import { ModelGroup } from "./scheduler/model-group.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { noAccess } from "./security/access.js";
import { createLimiter } from "./security/create-limiter.js";
import { KeyTable } from "./security/key-table.js";

/** The composition root: the only place that constructs and wires the parts. */
export interface GatewayDeps {
  readonly config: GatewayConfig;
  /** The llama-server binary for `model:` entries. */
  readonly binary: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  /** `setpriv` when available: children get SIGKILL from the kernel if the gateway dies. */
  readonly deathSignalWrapper: string | null;
  /** What this run started, so the next run can stop what a SIGKILLed gateway left behind. */
  readonly record: RuntimeRecord | null;
}

export interface Gateway {
  readonly server: Server;
  readonly scheduler: Scheduler;
  listen(): Promise<AddressInfo>;
  /** Stop accepting, drain in-flight requests (up to shutdownTimeout), stop every child. */
  shutdown(): Promise<void>;
}

const READINESS_INTERVAL_MS = 20;
/** After ready: every 10 s, 2 s timeout, 3 misses → restart (RELIABILITY.md defaults). */
const LIVENESS = { intervalMs: 10_000, timeoutMs: 2_000, failures: 3 };
const LOG_LINES = 200;

function buildGroups(deps: GatewayDeps, onIdle: (group: ModelGroup) => void): Map<string, ModelGroup> {
  const groups = new Map<string, ModelGroup>();
  for (const model of Object.values(deps.config.models)) {
    const supervisors = Array.from(
      { length: model.instances },
      (_, index) =>
        new Supervisor(
          {
            name: `${model.id}#${index}`,
            modelId: model.id,
            launch: model.launch,
            binary: deps.binary,
            env: model.env,
            startupTimeoutMs: model.startupTimeoutMs,
            stopTimeoutMs: model.stopTimeoutMs,
            readinessIntervalMs: READINESS_INTERVAL_MS,
            logLines: LOG_LINES,
            deathSignalWrapper: deps.deathSignalWrapper,
            restart: DEFAULT_RESTART_POLICY,
            liveness: LIVENESS,
          },
          deps.env,
        ),
    );
    for (const supervisor of supervisors) {
      supervisor.onEvent((event) => {
        if (event.type === "spawned") {
          deps.log.info({ instance: event.name, pid: event.pid, port: event.port }, "spawned llama-server");
          void deps.record?.add({ pid: event.pid, port: event.port, name: event.name });
        } else if (event.type === "reaped") {
          void deps.record?.remove(event.pid);
        } else if (event.type === "crashed") {
          deps.log.warn(
            {
              instance: event.name,
              reason: event.reason,
              restartInMs: event.restartInMs,
              lastLines: event.lastLines,
            },
            event.restartInMs === null
              ? "llama-server crashed too often: model parked as failed"
              : "llama-server crashed",
          );
        } else {
          deps.log.info({ instance: event.name, from: event.from, to: event.to }, "instance state");
        }
      });
    }
    groups.set(model.id, new ModelGroup(model, supervisors, onIdle));
  }
  return groups;
}

export function createGateway(deps: GatewayDeps): Gateway {
  const { config, log } = deps;
  // The closure runs only after construction, when `scheduler` is initialised.
  const groups = buildGroups(deps, (group) => scheduler.notifyIdle(group));
  const scheduler = new Scheduler(groups, {
    limits: {
      maxLoadedModels: config.scheduler.maxLoadedModels,
      memoryBudgetBytes: config.scheduler.memoryBudgetBytes,
    },
    memoryOf: (group) => modelMemory(group.model),
    onUnload: (model, reason) => log.info({ model, reason }, "unloading model"),
  });
  // One connection pool per child origin, unlimited connections: a pool capped at N
  // connections makes stream N+1 wait for a free one (DESIGN.md's undici trap).
  const dispatcher = new Agent({
    connections: null,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  let draining = false;
  const router = new Router(
    routeTable({
      catalog: new Catalog(config),
      scheduler,
      dispatcher,
      bodyLimitBytes: config.server.bodyLimitBytes,
      idleTimeoutMs: config.server.streamIdleTimeoutMs,
      createdAt: Math.floor(Date.now() / 1000),
      isDraining: () => draining,
      upstreamPassthrough: config.server.upstreamPassthrough,
    }),
  );
  // Key files are read here, once: a key that cannot be read stops the start (config/load checked it).
  const keys = KeyTable.fromConfig(config.auth, config.rateLimit);
  const limiter = createLimiter(config.rateLimit.redis, log);
  const handle = createRequestHandler({
    router,
    log,
    steps: requestPipeline({ config, keys, limiter }),
    initialAccess: noAccess(config.rateLimit),
    trustProxy: config.server.trustProxy,
    streamIdleTimeoutMs: config.server.streamIdleTimeoutMs,
  });
  let inFlight = 0;
  let onDrained: (() => void) | null = null;
  const server = createServer(
    {
      headersTimeout: config.server.headersTimeoutMs,
      requestTimeout: config.server.requestTimeoutMs,
      // Node checks both deadlines only this often (default every 30 s): a slowloris client
      // would get up to 30 s more than headersTimeout, and a 1 s deadline would be 31 s.
      connectionsCheckingInterval: Math.min(
        1_000,
        Math.max(50, Math.floor(config.server.headersTimeoutMs / 4)),
      ),
      maxHeaderSize: config.server.maxHeaderBytes,
      noDelay: true,
    },
    (req, res) => {
      inFlight++;
      res.once("close", () => {
        inFlight--;
        if (inFlight === 0) onDrained?.();
      });
      handle(req, res);
    },
  );
  server.maxConnections = config.server.maxConnections;
  server.on("clientError", clientErrorHandler(log));

  return {
    server,
    scheduler,
    listen: async () => {
      await Promise.all([limiter.ready(), compileHttpParser()]);
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.server.port, config.server.host, () => {
          server.off("error", reject);
          for (const model of Object.values(config.models)) {
            if (!model.preload) continue;
            scheduler.load(model.id).catch((error: unknown) => {
              log.error({ model: model.id, err: error }, "preloading the model failed");
            });
          }
          resolve(server.address() as AddressInfo);
        });
      });
    },
    shutdown: async () => {
      draining = true;
      scheduler.close();
      server.close();
      server.closeIdleConnections();
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, config.server.shutdownTimeoutMs);
          onDrained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      server.closeAllConnections();
      await scheduler.stopAll();
      await deps.record?.close();
      await limiter.close();
      await dispatcher.destroy();
    },
  };
}
