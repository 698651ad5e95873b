import type { GatewayError } from "../errors/gateway-error.js";
import type { ChildState, Endpoint, SupervisorSnapshot } from "../process/supervisor.js";

export type {
  ChildState as BackendState,
  Endpoint,
  SupervisorSnapshot as BackendSnapshot,
} from "../process/supervisor.js";

/** A state change; the scheduler listens to hand out slots and to fail waiters fast. */
export interface BackendStateEvent {
  readonly type: "state";
  readonly name: string;
  readonly from: ChildState;
  readonly to: ChildState;
}

/**
 * "Something that serves a model": the only contact the scheduler has with processes. A
 * supervised local llama-server is one kind (process/supervisor.ts); tests use a fake.
 * Its state changes only inside it: callers say ensureReady/stop/kill/reset, never act on a
 * state they read.
 */
export interface Backend {
  readonly name: string;
  /** Resolves with the endpoint once ready, starting it if needed; rejects with why it cannot. */
  ensureReady(signal?: AbortSignal): Promise<Endpoint>;
  /** Where to send a request now, or null unless ready. */
  endpoint(): Endpoint | null;
  /** Graceful: lets the child finish (SIGTERM, grace, SIGKILL). */
  stop(): Promise<void>;
  /** Forceful: at once. */
  kill(): Promise<void>;
  /** Out of `failed`: the crash history is forgotten. */
  reset(): void;
  /** The error a request gets while it is parked in `failed`; null otherwise. */
  failure(): GatewayError | null;
  snapshot(): SupervisorSnapshot;
  /** Its recent output lines (llama-server's stdout and stderr), oldest first. */
  logs(count?: number): string[];
  onEvent(listener: (event: BackendStateEvent | { readonly type: string }) => void): () => void;
  /** A remote server (process/remote-upstream.ts): needs no room, is never counted as loaded. */
  readonly remote?: boolean;
  /** Requests it takes at once; absent: the model's maxConcurrent (a local child's slots). */
  readonly capacity?: number;
  /** The model name to ask it for (requests' `model` rewritten); absent: sent as the client wrote it. */
  readonly model?: string;
  /** How a request on it ended, for passive health checks: false on a connection failure or 5xx. */
  observe?(ok: boolean): void;
}
