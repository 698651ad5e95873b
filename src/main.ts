import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Logger } from "pino";
import { statusReport } from "./admin/status.js";
import { createStore } from "./cache/create-store.js";
import { ResponseCache } from "./cache/response-cache.js";
import type { ConfigProblem, GatewayConfig } from "./config/types.js";
import { MachineReader } from "./dashboard/machine.js";
import { GatewayError } from "./errors/gateway-error.js";
import { createGpuInfo, type GpuInfo } from "./gpu/gpu-info.js";
import { guardConnections } from "./http/connection-guard.js";
import { clientErrorHandler } from "./http/middleware/client-error.js";
import { refuseConnect, refuseExpectation } from "./http/protocol-refusals.js";
import { cacheDir } from "./llama/cache-dir.js";
import { ChildSockets, socketFactory } from "./process/child-sockets.js";
import type { RuntimeRecord } from "./process/runtime-record.js";
import { compileHttpParser } from "./proxy/compile-http-parser.js";
import { type Collection, IdleReclaim, v8Collection } from "./runtime/idle-reclaim.js";
import { InFlight } from "./runtime/in-flight.js";
import { limitsFor } from "./runtime/memory-budget.js";
import { Observability } from "./runtime/observability.js";
import { type LoadedConfig, Runtime } from "./runtime/runtime.js";
import { KvFiles } from "./scheduler/kv/kv-files.js";
import { modelMemory } from "./scheduler/memory-estimate.js";
import type { ModelGroup } from "./scheduler/model-group.js";
import { Scheduler } from "./scheduler/scheduler.js";
import { createLimiter } from "./security/create-limiter.js";
import { Agent } from "./util/undici-parts.js";

/** After the drain: how long cut requests get to write their error before connections close. */
const CUT_GRACE_MS = 1_000;

/** The composition root: the only place that constructs and wires the parts. */
export interface GatewayDeps {
  readonly config: GatewayConfig;
  /** SHA-256 of the config file's bytes; null for a config built in code. */
  readonly configHash?: string | null;
  /** The llama-server binary for `model:` entries. */
  readonly binary: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  /** `setpriv` when available: children get SIGKILL from the kernel if the gateway dies. */
  readonly deathSignalWrapper: string | null;
  /** What this run started, so the next run can stop what a SIGKILLed gateway left behind. */
  readonly record: RuntimeRecord | null;
  /** Reads the config file again (reload); without it, reloads answer that there is no file. */
  readonly readConfig?: () => Promise<LoadedConfig>;
  /** The binary a reloaded config runs, or the problem when it is missing. */
  readonly locateBinary?: (config: GatewayConfig) => Promise<string | ConfigProblem>;
  readonly gpu?: GpuInfo;
  readonly version?: string;
}

export interface Gateway {
  readonly server: Server;
  readonly scheduler: Scheduler;
  readonly runtime: Runtime;
  listen(): Promise<AddressInfo>;
  /** Stop accepting, drain in-flight requests (up to shutdownTimeout), stop every child. */
  shutdown(): Promise<void>;
  /** A second signal: stop waiting for the drain; streams still open get an in-band error. */
  hurry(): void;
}

/**
 * The shell: what lives as long as the process (listening socket, connections, the scheduler
 * and its children, the upstream connection pool, the log). Everything the config decides is in
 * the runtime's current generation, which a reload replaces (runtime/runtime.ts).
 */
export function createGateway(deps: GatewayDeps): Gateway {
  const { config, log } = deps;
  const startedAt = Date.now();
  const memory = new Map<ModelGroup, number>();
  // Gives back what a burst left in V8's heap once no request has come for a while.
  let collect: ((kind: Collection) => void) | null = null;
  const reclaim = new IdleReclaim({
    activity: () => ({ inFlight: inFlight.size, started: inFlight.started }),
    rss: () => process.memoryUsage.rss(),
    collect: (kind) => {
      collect ??= v8Collection();
      collect(kind);
    },
  });
  const inFlight = new InFlight(() => reclaim.notifyEmpty());
  // Reads the present from whatever generation is current at scrape time.
  const observability = new Observability(
    config,
    {
      config: () => runtime.current.config,
      groups: () => [...runtime.current.groups.values()],
      cache: () => runtime.current.cache.stats(),
      inFlight: () => inFlight.size,
    },
    log,
  );
  const scheduler = new Scheduler({
    limits: config.scheduler,
    memoryOf: async (group) => {
      const bytes = await modelMemory(group.model);
      memory.set(group, bytes);
      return bytes;
    },
    onUnload: (model, reason) => {
      log.info({ model, reason }, "unloading model");
      observability.unloaded(model, reason);
    },
  });
  // `model:` children on Unix sockets (a restart-only setting): one private folder for the
  // process's life; where a socket path would not fit, children stay on loopback ports.
  const sockets = config.llamaServer.sockets ? ChildSockets.create() : null;
  if (sockets !== null && !(sockets instanceof ChildSockets))
    log.info({ reason: sockets.unusable }, "children use loopback TCP ports: no Unix socket folder");
  const socketFolder = sockets instanceof ChildSockets ? sockets : null;
  if (socketFolder !== null) log.debug({ dir: socketFolder.dir }, "children listen on Unix sockets");
  // Recorded so that the next start removes the folder should this process be SIGKILLed.
  if (socketFolder !== null) void deps.record?.setSocketDir(socketFolder.dir);
  // One connection pool per child origin, unlimited connections: a pool capped at N
  // connections makes stream N+1 wait for a free one (docs/architecture.md, "Promises and defaults").
  // The factory gives a socket child's origin a pool over its socket (process/child-sockets.ts).
  const dispatcher = new Agent({
    connections: null,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
    factory: socketFactory(socketFolder),
  });
  const gpu = deps.gpu ?? createGpuInfo();
  // Saved slot caches: a restart-only setting, so one folder for the process's life.
  const kvFiles = config.kvCache.enabled
    ? new KvFiles({
        dir: config.kvCache.dir ?? defaultKvDir(deps.env, config.source),
        maxBytes: config.kvCache.maxBytes,
        warn: (message, fields) => log.warn(fields ?? {}, message),
      })
    : null;
  let draining = false;
  const runtime: Runtime = Runtime.create(
    {
      shell: {
        log,
        scheduler,
        dispatcher,
        createdAt: Math.floor(startedAt / 1000),
        isDraining: () => draining,
        observability,
        machine: new MachineReader(() => gpu.read()),
      },
      admin: {
        status: () =>
          statusReport({
            version: deps.version ?? "unknown",
            startedAt,
            now: Date.now(),
            generation: {
              number: runtime.current.number,
              configFile: runtime.current.config.source,
              configHash: runtime.current.configHash,
              loadedAt: runtime.current.loadedAt,
            },
            groups: [...runtime.current.groups.values()],
            retiring: scheduler.retiring(),
            limits: runtime.current.limits,
            kvCache:
              kvFiles === null
                ? null
                : {
                    dir: kvFiles.dir,
                    files: kvFiles.count,
                    bytes: kvFiles.bytes,
                    maxBytes: config.kvCache.maxBytes,
                  },
            memoryOf: (group) => memory.get(group) ?? null,
            lastLines: 20,
          }),
        gpu: () => gpu.read(),
      },
      groups: {
        env: deps.env,
        log,
        deathSignalWrapper: deps.deathSignalWrapper,
        record: deps.record,
        sockets: socketFolder,
        dispatcher,
        onEvent: (group, event) => observability.supervisor(group.id, event),
        kv: kvFiles === null ? null : { files: kvFiles, saveTimeoutMs: config.kvCache.saveTimeoutMs },
        hooks: {
          onIdle: (group) => scheduler.notifyIdle(group),
          onCooledDown: (group) => scheduler.notifyCooledDown(group),
        },
      },
      log,
      readConfig:
        deps.readConfig ??
        (async () => ({
          result: {
            ok: false,
            problems: [{ path: "", message: "this gateway was not started from a config file" }],
          },
          hash: null,
          discovery: null,
        })),
      locateBinary: deps.locateBinary ?? (async () => deps.binary),
      createLimiter: (next) => createLimiter(next.rateLimit.redis, log),
      createCache: ({ cache }) => new ResponseCache(cache, createStore(cache.redis, cache, log)),
      limitsFor: (next) =>
        limitsFor(
          {
            gpu,
            log,
            ownBytes: () => {
              let bytes = 0;
              for (const group of [...scheduler.groups(), ...scheduler.retiring()])
                if (group.resident) bytes += memory.get(group) ?? 0;
              return bytes;
            },
          },
          next,
        ),
      applyServerSettings: (next) => {
        server.headersTimeout = next.server.headersTimeoutMs;
        server.requestTimeout = next.server.requestTimeoutMs;
        guard.setLimits(next.server);
        log.level = next.logging.level;
      },
    },
    config,
    deps.binary,
    deps.configHash ?? null,
  );
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
      runtime.handle(req, res, inFlight.track(res));
    },
  );
  // Not server.maxConnections: Node closes newcomers at that cap before the guard can make room.
  const guard = guardConnections(server, { limits: config.server, log });
  server.on("clientError", clientErrorHandler(log));
  server.on("connect", refuseConnect(log));
  server.on("checkExpectation", refuseExpectation(log));
  // Without this listener Node answers 100 Continue before any check has run.
  server.on("checkContinue", (req, res) => runtime.handle(req, res, inFlight.track(res)));

  return {
    server,
    scheduler,
    runtime,
    listen: async () => {
      await Promise.all([
        runtime.current.limiter.ready(),
        runtime.current.cache.ready(),
        observability.load(),
        compileHttpParser(),
        runtime.resolveLimits(),
      ]);
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(config.server.port, config.server.host, () => {
          server.off("error", reject);
          runtime.preload();
          resolve(server.address() as AddressInfo);
        });
      });
    },
    hurry: () => inFlight.hurry(),
    shutdown: async () => {
      draining = true;
      reclaim.close();
      scheduler.close();
      server.close();
      server.closeIdleConnections();
      // Keep-alive connections that go idle during the drain are closed as they go idle.
      const idleSweep = setInterval(() => server.closeIdleConnections(), 250);
      await inFlight.drain(runtime.current.config.server.shutdownTimeoutMs);
      clearInterval(idleSweep);
      if (inFlight.size > 0) {
        const reason = new GatewayError("shutting_down", "the gateway stopped before this request finished", {
          retryAfterSeconds: 5,
        });
        inFlight.cutAll(reason);
        scheduler.cancelWaiting(reason);
        // The cut streams write their in-band error and end; a moment for those bytes to go out.
        await inFlight.drain(CUT_GRACE_MS);
      }
      server.closeAllConnections();
      await scheduler.stopAll();
      socketFolder?.remove();
      await deps.record?.close();
      await runtime.current.limiter.close();
      await runtime.current.cache.close();
      await observability.close();
      await dispatcher.destroy();
    },
  };
}

/**
 * kv/ in the cache folder, one subfolder per config file (a hash of its path; gateways started
 * without one share `no-config`), so two gateways with different configs never share saved slots.
 */
function defaultKvDir(env: NodeJS.ProcessEnv, source: string | null): string {
  const name = source === null ? "no-config" : createHash("sha256").update(source).digest("hex").slice(0, 16);
  return join(cacheDir(env), "kv", name);
}
