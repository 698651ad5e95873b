import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import type { Logger } from "pino";
import type { Dispatcher } from "undici";
import type { GatewayConfig, LaunchSpec, ModelConfig } from "../config/types.js";
import type { ChildSockets } from "../process/child-sockets.js";
import { DEFAULT_RESTART_POLICY } from "../process/crash-history.js";
import { RemoteUpstream } from "../process/remote-upstream.js";
import type { RuntimeRecord } from "../process/runtime-record.js";
import { Supervisor, type SupervisorEvent } from "../process/supervisor.js";
import type { KvFiles } from "../scheduler/kv/kv-files.js";
import { ModelKv } from "../scheduler/kv/model-kv.js";
import { type GroupHooks, ModelGroup } from "../scheduler/model-group.js";
import type { SlotKeeper } from "../scheduler/slot-keeper.js";
import { pinsSlots } from "../scheduler/slot-table.js";

/** What every model group of the gateway is built with; lives as long as the gateway. */
export interface GroupDeps {
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  /** `setpriv` when available: children get SIGKILL from the kernel if the gateway dies. */
  readonly deathSignalWrapper: string | null;
  /** What this run started, so the next run can stop what a SIGKILLed gateway left behind. */
  readonly record: RuntimeRecord | null;
  readonly hooks: GroupHooks;
  /** Every child event, after it is logged (metrics). */
  readonly onEvent?: (group: ModelGroup, event: SupervisorEvent) => void;
  /** The private socket folder `model:` children listen in; null: they use loopback TCP ports. */
  readonly sockets: ChildSockets | null;
  /** The shell's upstream pool (it reaches children on sockets too): slot save/restore calls. */
  readonly dispatcher: Dispatcher;
  /** The saved slots' folder and how long one unload's saves may take; null when kvCache is off. */
  readonly kv?: { readonly files: KvFiles; readonly saveTimeoutMs: number } | null;
}

const READINESS_INTERVAL_MS = 20;
/** After ready: every 10 s, 2 s timeout, 3 misses → restart (docs/architecture.md, "Promises and defaults"). */
const LIVENESS = { intervalMs: 10_000, timeoutMs: 2_000, failures: 3 };
const LOG_LINES = 200;

/**
 * One model's group: a supervisor per local instance and a RemoteUpstream per remote one, each
 * one's events logged and recorded.
 */
export function buildGroup(
  deps: GroupDeps,
  model: ModelConfig,
  config: Pick<GatewayConfig, "scheduler" | "upstreamHealth">,
  binary: string,
): ModelGroup {
  const scheduler = config.scheduler;
  const kept = slotKeeping(deps, model, binary);
  const supervisors = Array.from({ length: model.instances }, (_, index) => {
    const supervisor = new Supervisor(
      {
        name: `${model.id}#${index}`,
        modelId: model.id,
        launch: kept?.launch ?? model.launch,
        binary,
        env: model.env,
        startupTimeoutMs: model.startupTimeoutMs,
        stopTimeoutMs: model.stopTimeoutMs,
        readinessIntervalMs: READINESS_INTERVAL_MS,
        logLines: LOG_LINES,
        deathSignalWrapper: deps.deathSignalWrapper,
        restart: DEFAULT_RESTART_POLICY,
        liveness: LIVENESS,
        coolDown: { initialMs: scheduler.coolDownMs, maxMs: scheduler.maxCoolDownMs },
        sockets: deps.sockets,
      },
      deps.env,
    );
    return supervisor;
  });
  const remotes = model.upstreams.map(
    (upstream) => new RemoteUpstream(model.id, upstream, config.upstreamHealth),
  );
  const group = new ModelGroup(model, [...supervisors, ...remotes], deps.hooks, kept?.keeper ?? null);
  for (const supervisor of supervisors)
    supervisor.onEvent((event) => {
      logEvent(deps, event, group);
      deps.onEvent?.(group, event);
    });
  for (const remote of remotes)
    remote.onEvent((event) => {
      logEvent(deps, event, group);
      deps.onEvent?.(group, event);
    });
  return group;
}

/**
 * Slot caches kept across unloads, for a `model:` entry whose requests are pinned to slots: its
 * children get `--slot-save-path` with the model's own folder, named by a hash of what makes a
 * saved cache readable (binary, model file and its size and time, arguments), so a changed launch
 * never reads another's files. Not when the user set their own --slot-save-path.
 */
function slotKeeping(
  deps: GroupDeps,
  model: ModelConfig,
  binary: string,
): { readonly launch: LaunchSpec; readonly keeper: SlotKeeper } | null {
  const kv = deps.kv ?? null;
  const launch = model.launch;
  if (kv === null || !model.kvCache || launch.kind !== "model" || !pinsSlots(model)) return null;
  if (launch.args.some((arg) => arg.startsWith("--slot-save-path"))) return null;
  let file = "";
  try {
    const stat = statSync(launch.model);
    file = `${stat.size}:${stat.mtimeMs}`;
  } catch {
    // A missing file fails its load anyway.
  }
  const folder = createHash("sha256")
    .update(JSON.stringify([binary, launch.model, file, launch.args]))
    .digest("hex")
    .slice(0, 16);
  try {
    const path = kv.files.folderPath(folder);
    return {
      launch: { ...launch, args: [...launch.args, "--slot-save-path", path] },
      keeper: new ModelKv({
        files: kv.files,
        folder,
        modelId: model.id,
        saveTimeoutMs: kv.saveTimeoutMs,
        log: deps.log,
        dispatcher: deps.dispatcher,
      }),
    };
  } catch (error) {
    deps.log.warn({ model: model.id, err: error }, "cannot keep slot KV caches: their folder cannot be made");
    return null;
  }
}

function logEvent(deps: GroupDeps, event: SupervisorEvent, group: ModelGroup): void {
  const { log } = deps;
  switch (event.type) {
    case "spawned":
      log.info(
        { instance: event.name, pid: event.pid, port: event.port, socket: event.socket },
        "spawned llama-server",
      );
      void deps.record?.add({ pid: event.pid, port: event.port, name: event.name });
      return;
    case "reaped":
      void deps.record?.remove(event.pid);
      return;
    case "crashed": {
      log.warn(
        {
          instance: event.name,
          reason: event.reason,
          restartInMs: event.restartInMs,
          // In flight, or ended just before (the proxy may see the connection drop first): an
          // operator finds the client that crashed it through these ids in the access log.
          requestIds: group.requestsOn(event.name),
          lastLines: event.lastLines,
        },
        event.restartInMs === null
          ? "llama-server crashed too often: model parked as failed"
          : "llama-server crashed",
      );
      return;
    }
    case "restart-failed":
      log.warn(
        {
          instance: event.name,
          reason: event.reason,
          restartInMs: event.restartInMs,
          lastLines: event.lastLines,
        },
        event.restartInMs === null
          ? "restarting llama-server failed: model parked as failed"
          : "restarting llama-server failed; trying again",
      );
      return;
    case "cooled-down":
      log.info({ instance: event.name, retrying: event.retrying }, "failed model's cool-down ended");
      return;
    case "load-failed":
      log.warn(
        { instance: event.name, reason: event.reason, lastLines: event.lastLines },
        "llama-server failed to load",
      );
      return;
    case "socket-refused":
      log.warn(
        { instance: event.name, socket: event.socket },
        // An older llama-server, or a `binary` that takes a `.sock` --host for a host name.
        "llama-server cannot listen on a Unix socket: this instance uses a loopback TCP port from now on",
      );
      return;
    case "output":
      return;
    case "state":
      log.info({ instance: event.name, from: event.from, to: event.to }, "instance state");
  }
}
