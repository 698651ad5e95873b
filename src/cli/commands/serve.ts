import { resolve } from "node:path";
import type { Logger } from "pino";
import { formatProblems } from "../../config/format-problems.js";
import type { ConfigProblem, GatewayConfig } from "../../config/types.js";
import { cacheDir } from "../../llama/cache-dir.js";
import { findOnPath, locateLlamaServer } from "../../llama/locate-llama-server.js";
import { createLogger } from "../../logging/create-logger.js";
import { createGateway } from "../../main.js";
import { readConfigIdentity } from "../../process/config-identity.js";
import { signalGroup } from "../../process/process-group.js";
import { type LiveGateway, reapStaleRecords } from "../../process/reap-stale-records.js";
import { RuntimeRecord, runtimeRecordDir, runtimeRecordPath } from "../../process/runtime-record.js";
import { avoidPretenuring } from "../../runtime/gc-tuning.js";
import { readConfigIsolated } from "../../runtime/read-config-isolated.js";
import { logDiscovery } from "../../runtime/runtime.js";
import { configState, watchFile } from "../../runtime/watch-file.js";
import { isLoopbackBind } from "../../security/loopback.js";
import { EXIT, type ExitCode } from "../exit-codes.js";
import { packageVersion } from "../package-info.js";

function needsBinary(config: GatewayConfig): boolean {
  return Object.values(config.models).some((model) => model.launch.kind === "model");
}

/**
 * Stops what earlier gateways of this user left behind (killed with SIGKILL), whatever config
 * they served, then starts this run's record. Only processes a record proves to be ours are
 * touched, and never those of a gateway still alive. A live gateway on the same config file
 * (by any path to it) is returned instead: this one must not start.
 */
async function openRuntimeRecord(config: GatewayConfig, log: Logger): Promise<RuntimeRecord | LiveGateway> {
  const dir = runtimeRecordDir(cacheDir());
  const identity = config.source === null ? null : await readConfigIdentity(config.source);
  const stale = await reapStaleRecords(dir, {
    signalGroup,
    log: (message, fields) => log.warn(fields, message),
    graceMs: 5_000,
    config: identity,
  });
  if (stale.reaped.length > 0) {
    log.warn({ reaped: stale.reaped }, "stopped llama-server processes a previous run left behind");
  }
  const running = stale.conflicts[0];
  if (running !== undefined) return running;
  const record = new RuntimeRecord(runtimeRecordPath(dir, process.pid), {
    onError: (message, error) => log.error({ err: error }, message),
    config: identity,
  });
  await record.open();
  return record;
}

/**
 * No keys = open. Fine on loopback; on anything else every client on the network can use (and
 * load) every model, so say so loudly, on stderr and in the log.
 */
function warnIfOpen(config: GatewayConfig, log: Logger): void {
  const { apiKeys, adminKeys } = config.auth;
  if (apiKeys.length + adminKeys.length > 0 || isLoopbackBind(config.server.host)) return;
  const message = `WARNING: no API keys are configured and the gateway listens on ${config.server.host}: anyone who can reach it can use every model. Add auth.apiKeys (see README, "Security").`;
  process.stderr.write(`${message}\n`);
  log.warn({ host: config.server.host }, message);
}

/** How often --watch reads the config file. */
const WATCH_INTERVAL_MS = 1_000;

/** The llama-server for a config, or the problem when its `model:` entries need one that is missing. */
async function binaryFor(config: GatewayConfig): Promise<string | ConfigProblem> {
  const binary = await locateLlamaServer(config.llamaServer.binary, cacheDir(), process.env);
  if (binary !== null) return binary;
  if (!needsBinary(config)) return "llama-server";
  const configured = config.llamaServer.binary;
  return {
    path: "llamaServer.binary",
    message:
      configured === null
        ? "llama-server not found on PATH and not built yet: run `llamawrapper setup` (or set llamaServer.binary)"
        : `${configured} not found or not executable`,
  };
}

export interface ServeOptions {
  /** Poll the config file (and the models folder) and reload when it changes. */
  readonly watch?: boolean;
  /** --models-dir: serve every .gguf under it (with or without a config file). */
  readonly modelsDir?: string;
}

/** Starts the gateway and resolves with the exit code once it has shut down. */
export async function serveCommand(
  configPath: string | null,
  portOverride: number | undefined,
  options: ServeOptions = {},
): Promise<ExitCode> {
  // Before the gateway allocates anything: request garbage must stay in the young generation.
  avoidPretenuring();
  const err = process.stderr;
  const path = configPath === null ? null : resolve(configPath);
  // The command line's --port wins over the file, at start and on every reload.
  const adjust = (config: GatewayConfig): GatewayConfig =>
    portOverride === undefined ? config : { ...config, server: { ...config.server, port: portOverride } };
  const readConfig = () =>
    readConfigIsolated(path, process.env, { adjust, modelsDir: options.modelsDir ?? null });
  const loaded = await readConfig();
  for (const problem of loaded.discovery?.problems ?? [])
    err.write(`models folder: skipped ${problem.path}: ${problem.message}\n`);
  if (!loaded.result.ok) {
    err.write(
      `${configPath ?? options.modelsDir}: invalid config\n${formatProblems(loaded.result.problems)}\n`,
    );
    return EXIT.invalidConfig;
  }
  const config = loaded.result.config;
  const binary = await locateLlamaServer(config.llamaServer.binary, cacheDir(), process.env);
  if (binary === null && needsBinary(config)) {
    const configured = config.llamaServer.binary;
    err.write(
      configured === null
        ? "llama-server not found on PATH and not built yet: run `llamawrapper setup` (or set llamaServer.binary)\n"
        : `llamaServer.binary: ${configured} not found or not executable\n`,
    );
    return EXIT.llamaServer;
  }
  const log = createLogger({
    level: config.logging.level,
    file: config.logging.file,
    warn: (line) => err.write(line),
  });
  const record = await openRuntimeRecord(config, log);
  if (!(record instanceof RuntimeRecord)) {
    err.write(
      `another llamawrapper (pid ${record.gatewayPid}) is already serving this config file (${record.config.path}); stop it first\n`,
    );
    return EXIT.failure;
  }
  const gateway = createGateway({
    record,
    config,
    configHash: loaded.hash,
    binary: binary ?? "llama-server",
    env: process.env,
    log,
    deathSignalWrapper: process.platform === "linux" ? await findOnPath("setpriv", process.env) : null,
    readConfig,
    locateBinary: binaryFor,
    version: packageVersion(),
  });
  try {
    const address = await gateway.listen();
    log.info(
      { host: address.address, port: address.port, binary, models: Object.keys(config.models) },
      "listening",
    );
    err.write(`llamawrapper listening on http://${address.address}:${address.port}\n`);
    warnIfOpen(config, log);
    logDiscovery(log, loaded.discovery);
  } catch (error) {
    err.write(`cannot listen on ${config.server.host}:${config.server.port}: ${(error as Error).message}\n`);
    await gateway.shutdown();
    return EXIT.failure;
  }
  const reload = (trigger: string) => {
    log.info({ trigger }, "reloading the config");
    gateway.runtime.reload().catch((error: unknown) => log.error({ err: error }, "config reload failed"));
  };
  const onHangup = () => reload("SIGHUP");
  process.on("SIGHUP", onHangup);
  const stopWatching = options.watch
    ? watchFile(
        configState(path, () => gateway.runtime.current.config.discovery.dir),
        loaded.hash,
        WATCH_INTERVAL_MS,
        async () => reload("--watch"),
      )
    : () => {};
  return new Promise((done) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        // A second Ctrl-C: stop waiting for the drain; open streams get an in-band error,
        // children still get stopped.
        err.write(`received ${signal} again, stopping now\n`);
        log.warn({ signal }, "second signal: stopping without waiting for the drain");
        gateway.hurry();
        return;
      }
      stopping = true;
      stopWatching();
      process.off("SIGHUP", onHangup);
      log.info({ signal }, "shutting down: draining in-flight requests");
      void gateway.shutdown().then(() => {
        log.info("stopped");
        log.flush();
        done(EXIT.ok);
      });
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}
