import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { GATEWAY_KEY } from "../load/request-shape.js";
import type { ProcessSet, Spawned } from "../procs/process-set.js";
import { waitFor } from "../procs/wait.js";
import type { GatewayCommand } from "./gateway-build.js";
import { ROOT } from "./paths.js";

export interface GatewayModel {
  readonly id: string;
  readonly cmd?: readonly string[];
  readonly model?: string;
  readonly args?: readonly string[];
  /** Requests the gateway sends to one instance at once (its default is llama-server's 4 slots). */
  readonly maxConcurrent?: number;
}

export interface GatewayConfigOptions {
  readonly models: readonly GatewayModel[];
  readonly maxLoadedModels: number;
  readonly llamaServer?: string;
  /**
   * "full" (the default): every default feature on, as gateway-features.ts lists. "minimum": the
   * same gateway with what can be switched off switched off (no API keys, so no auth; no rate
   * limit; `logging.level: silent`, so no access log; no response cache; no request history).
   * Metrics and SLA tracking have no switch and stay on; request ids, the host check, CORS, the
   * body limit and conversation-affine routing stay at their defaults.
   */
  readonly variant?: GatewayVariant;
}

export type GatewayVariant = "full" | "minimum";

/**
 * Rate limits far above anything the bench sends (scenario 2 peaks near 20k req/s, about 1.2M
 * a minute), with both a request and a token bucket, so every request pays for the full check
 * (estimate from Content-Length, take, quota headers, settle from the answer's usage) and none
 * is ever refused.
 */
export const BENCH_RATE_LIMIT = {
  requestsPerMinute: 1_000_000_000,
  tokensPerMinute: 1_000_000_000_000,
  burst: 1_000_000_000,
} as const;

/**
 * The gateway's config for a bench run: loopback, port 0, info logging (to the file that
 * stdout is redirected to), one API key that the client presents, rate limits that are checked
 * but never trip, and one model entry per backend. See gateway-features.ts for what is on.
 */
export function gatewayConfig(options: GatewayConfigOptions): Record<string, unknown> {
  const models: Record<string, unknown> = {};
  for (const m of options.models) {
    models[m.id] = {
      ...(m.cmd !== undefined ? { cmd: [...m.cmd] } : { model: m.model, args: [...(m.args ?? [])] }),
      ...(m.maxConcurrent === undefined ? {} : { maxConcurrent: m.maxConcurrent }),
    };
  }
  const common = {
    server: { host: "127.0.0.1", port: 0 },
    ...(options.llamaServer === undefined ? {} : { llamaServer: { binary: options.llamaServer } }),
    scheduler: { maxLoadedModels: options.maxLoadedModels },
  };
  if (options.variant === "minimum") {
    // No `auth` (the gateway is open: a presented key is not even looked at) and no `rateLimit`
    // (its defaults limit nothing).
    return {
      ...common,
      logging: { level: "silent" },
      cache: { enabled: false },
      history: { size: 0 },
      models,
    };
  }
  return {
    ...common,
    logging: { level: "info" },
    auth: { apiKeys: [{ name: "bench", key: GATEWAY_KEY }] },
    rateLimit: BENCH_RATE_LIMIT,
    models,
  };
}

export interface RunningGateway {
  readonly process: Spawned;
  readonly port: number;
  readonly logFile: string;
  /** ms from spawn to the "listening" line. */
  readonly startupMs: number;
}

/** Starts the gateway CLI with `config`; its JSON log (stdout) goes to `dir`/gateway.log. */
export async function startGateway(
  set: ProcessSet,
  command: GatewayCommand,
  dir: string,
  config: Record<string, unknown>,
  extraNodeArgs: readonly string[] = [],
): Promise<RunningGateway> {
  const configFile = join(dir, "gateway.yaml");
  const logFile = join(dir, "gateway.log");
  writeFileSync(configFile, stringify(config));
  const started = performance.now();
  const spawned = set.spawn(
    "gateway",
    process.execPath,
    [...extraNodeArgs, ...command.nodeArgs, command.entry, "--config", configFile],
    { cwd: ROOT, stdoutFile: logFile },
  );
  const port = await waitFor(
    "the gateway to listen",
    () => {
      if (spawned.child.exitCode !== null) throw new Error(`gateway exited:\n${spawned.output()}`);
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(spawned.output());
      return match ? Number(match[1]) : undefined;
    },
    30_000,
    5,
  );
  return { process: spawned, port, logFile, startupMs: performance.now() - started };
}
