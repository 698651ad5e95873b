import type { LaunchSpec } from "../config/types.js";
import { type ChildSockets, socketOrigin } from "./child-sockets.js";
import type { RestartPolicy } from "./crash-history.js";

/** The shapes a Supervisor (supervisor.ts) is built from and reports: its spec, events, snapshot. */

export type ChildState = "stopped" | "starting" | "ready" | "stopping" | "failed";

export interface LivenessSpec {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failures: number;
}

export interface ChildSpec {
  /** e.g. `qwen#0`: model id and instance index, for logs and events. */
  readonly name: string;
  readonly modelId: string;
  readonly launch: LaunchSpec;
  readonly binary: string;
  readonly env: Readonly<Record<string, string>>;
  readonly startupTimeoutMs: number;
  readonly stopTimeoutMs: number;
  /** How often /health is polled while loading; cold start is user-visible latency. */
  readonly readinessIntervalMs: number;
  readonly logLines: number;
  readonly deathSignalWrapper: string | null;
  readonly restart: RestartPolicy;
  readonly liveness: LivenessSpec;
  /** How long a `failed` child waits before it tries again by itself (doubling up to the max). */
  readonly coolDown: CoolDownPolicy;
  /** The gateway's socket folder: a `model:` child listens on a socket in it; null: loopback TCP. */
  readonly sockets: ChildSockets | null;
}

export interface CoolDownPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Where a ready child listens and the key that it alone accepts. */
export interface Endpoint {
  /** A local child's loopback port, a remote's port; null for a child on a Unix socket. */
  readonly port: number | null;
  /** A local child's Unix socket path (child-sockets.ts); requests carry its socketOrigin(). */
  readonly socket?: string;
  /** Sent as `Authorization: Bearer`; empty = no Authorization header (a remote without a key). */
  readonly apiKey: string;
  /** A remote upstream's origin (`https://gpu-box:8080`); absent: a local child (socket or 127.0.0.1:port). */
  readonly origin?: string;
  /** A remote upstream's URL path, prefixed to every request path ("" or "/llama"). */
  readonly basePath?: string;
}

/** Where requests to `endpoint` go: its origin and the path prefix for `path`. */
export function target(endpoint: Endpoint, path: string): { readonly origin: string; readonly path: string } {
  return {
    origin:
      endpoint.origin ??
      (endpoint.socket === undefined ? `http://127.0.0.1:${endpoint.port}` : socketOrigin(endpoint.socket)),
    path: endpoint.basePath === undefined ? path : `${endpoint.basePath}${path}`,
  };
}

export type SupervisorEvent =
  | { readonly type: "state"; readonly name: string; readonly from: ChildState; readonly to: ChildState }
  /** Emitted synchronously right after spawn (the runtime record must see the pid now). */
  | {
      readonly type: "spawned";
      readonly name: string;
      readonly pid: number;
      readonly port: number | null;
      readonly socket: string | null;
    }
  /** The child exited and its process group was killed. */
  | { readonly type: "reaped"; readonly name: string; readonly pid: number }
  | {
      readonly type: "crashed";
      readonly name: string;
      readonly reason: string;
      readonly lastLines: readonly string[];
      /** ms until the restart, or null when the child was parked in `failed`. */
      readonly restartInMs: number | null;
    }
  /** A restart after a crash failed too; another follows after `restartInMs`, or it is parked. */
  | {
      readonly type: "restart-failed";
      readonly name: string;
      readonly reason: string;
      readonly lastLines: readonly string[];
      readonly restartInMs: number | null;
    }
  /** A start failed (exit while loading, timeout); its last output lines are for the log. */
  | {
      readonly type: "load-failed";
      readonly name: string;
      readonly reason: string;
      readonly lastLines: readonly string[];
    }
  /**
   * Its llama-server could not bind the Unix socket `socket`: this instance uses TCP ports from
   * now on (child-address.ts). Once per supervisor.
   */
  | { readonly type: "socket-refused"; readonly name: string; readonly socket: string }
  /** Output lines of the child, as they arrive. */
  | { readonly type: "output"; readonly name: string; readonly lines: readonly string[] }
  /** The cool-down of a `failed` child ended: it leaves `failed` and tries again if it was wanted. */
  | { readonly type: "cooled-down"; readonly name: string; readonly retrying: boolean };

/** What the admin API and /v1/models show of one child. */
export interface SupervisorSnapshot {
  readonly name: string;
  readonly state: ChildState;
  readonly pid: number | null;
  /** The running child's loopback port; null when none runs or it listens on a socket. */
  readonly port: number | null;
  /** The running child's Unix socket path (absent for a remote upstream). */
  readonly socket?: string | null;
  /** ms since epoch when it became ready; null unless ready. */
  readonly readySince: number | null;
  /** Restarts after crashes since the gateway started (a reset does not clear it). */
  readonly restarts: number;
  readonly recentCrashes: number;
  /** Why it is failed (for operators: includes llama-server's last output), or null. */
  readonly failure: string | null;
  /** ms since epoch of the next automatic try out of `failed`; null when none is planned. */
  readonly retryAt: number | null;
  /** A remote upstream's URL (absent for a local child). */
  readonly url?: string;
}
