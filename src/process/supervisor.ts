import { randomBytes } from "node:crypto";
import type { LaunchSpec } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import { freePort } from "./free-port.js";
import { buildLaunch } from "./launch.js";
import { RunningChild } from "./running-child.js";

export type ChildState = "stopped" | "starting" | "ready" | "stopping";

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
}

/** Where a ready child listens and the key that it alone accepts. */
export interface Endpoint {
  readonly port: number;
  readonly apiKey: string;
}

export type SupervisorEvent =
  | { readonly type: "state"; readonly name: string; readonly from: ChildState; readonly to: ChildState }
  | {
      readonly type: "crashed";
      readonly name: string;
      readonly code: number | null;
      readonly signal: string | null;
      readonly lastLines: readonly string[];
    };

export interface SupervisorSnapshot {
  readonly name: string;
  readonly state: ChildState;
  readonly pid: number | null;
  readonly port: number | null;
  readonly readySince: number | null;
}

const PORT_ATTEMPTS = 3;
const STDERR_LINES_IN_ERRORS = 8;

/**
 * One supervised llama-server. Its state changes only inside this class, one operation at a
 * time (start and stop are serialized); callers say ensureReady/stop/kill and never act on a
 * state they read. Concurrent ensureReady calls share one start.
 */
export class Supervisor {
  readonly spec: ChildSpec;
  readonly #listeners = new Set<(event: SupervisorEvent) => void>();
  readonly #baseEnv: NodeJS.ProcessEnv;
  #state: ChildState = "stopped";
  #child: RunningChild | null = null;
  #readySince: number | null = null;
  #starting: Promise<Endpoint> | null = null;
  #startAbort: AbortController | null = null;
  #queue: Promise<unknown> = Promise.resolve();

  readonly #pickPort: () => Promise<number>;

  /** `pickPort` is injectable so tests can hand out a port that is already taken. */
  constructor(spec: ChildSpec, baseEnv: NodeJS.ProcessEnv, pickPort: () => Promise<number> = freePort) {
    this.spec = spec;
    this.#baseEnv = baseEnv;
    this.#pickPort = pickPort;
  }

  onEvent(listener: (event: SupervisorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  snapshot(): SupervisorSnapshot {
    const child = this.#child;
    return {
      name: this.spec.name,
      state: this.#state,
      pid: child?.pid ?? null,
      port: child?.port ?? null,
      readySince: this.#readySince,
    };
  }

  /** Where to send a request now, or null unless ready. */
  endpoint(): Endpoint | null {
    const child = this.#child;
    return this.#state === "ready" && child !== null ? { port: child.port, apiKey: child.apiKey } : null;
  }

  logs(count?: number): string[] {
    return this.#child?.ring.tail(count) ?? [];
  }

  /** Resolves with the endpoint once the child is ready, starting it if needed. */
  ensureReady(signal?: AbortSignal): Promise<Endpoint> {
    const ready = this.endpoint();
    if (ready !== null) return Promise.resolve(ready);
    if (this.#starting === null) {
      const start = this.#serialized(() => this.#start());
      this.#starting = start;
      const clear = () => {
        if (this.#starting === start) this.#starting = null;
      };
      start.then(clear, clear);
    }
    return signal === undefined ? this.#starting : abortable(this.#starting, signal);
  }

  /** Graceful stop: SIGTERM the group, wait stopTimeout, SIGKILL, reap. Aborts a start in progress. */
  stop(): Promise<void> {
    this.#startAbort?.abort();
    return this.#serialized(() => this.#halt((child) => child.terminate(this.spec.stopTimeoutMs)));
  }

  /** Forceful stop: SIGKILL the group at once, reap. */
  kill(): Promise<void> {
    this.#startAbort?.abort();
    return this.#serialized(() => this.#halt((child) => child.kill()));
  }

  #serialized<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(operation, operation);
    this.#queue = run.catch(() => {});
    return run;
  }

  #transition(to: ChildState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.#readySince = to === "ready" ? Date.now() : null;
    this.#emit({ type: "state", name: this.spec.name, from, to });
  }

  #emit(event: SupervisorEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  async #halt(stopChild: (child: RunningChild) => Promise<unknown>): Promise<void> {
    const child = this.#child;
    if (child === null) return;
    this.#transition("stopping");
    await stopChild(child);
    this.#child = null;
    this.#transition("stopped");
  }

  async #start(): Promise<Endpoint> {
    const ready = this.endpoint();
    if (ready !== null) return ready;
    const abort = new AbortController();
    this.#startAbort = abort;
    this.#transition("starting");
    try {
      for (let attempt = 1; ; attempt++) {
        const child = await this.#spawn();
        this.#child = child;
        const outcome = await child.waitReady(
          this.spec.startupTimeoutMs,
          this.spec.readinessIntervalMs,
          abort.signal,
        );
        if (outcome.kind === "ready") {
          this.#watchForCrash(child);
          this.#transition("ready");
          return { port: child.port, apiKey: child.apiKey };
        }
        await child.terminate(this.spec.stopTimeoutMs);
        this.#child = null;
        if (outcome.kind === "exited" && outcome.bindFailure && attempt < PORT_ATTEMPTS) continue;
        throw this.#startError(outcome.kind, child);
      }
    } catch (error) {
      this.#child = null;
      this.#transition("stopped");
      throw error;
    } finally {
      this.#startAbort = null;
    }
  }

  async #spawn(): Promise<RunningChild> {
    const port = await this.#pickPort();
    const apiKey = randomBytes(24).toString("base64url");
    const launch = buildLaunch({
      launch: this.spec.launch,
      binary: this.spec.binary,
      port,
      apiKey,
      modelId: this.spec.modelId,
      deathSignalWrapper: this.spec.deathSignalWrapper,
    });
    const env = {
      ...this.#baseEnv,
      ...this.spec.env,
      LLAMA_API_KEY: apiKey,
      // Router-child mode: push readiness on stdout, exit on stdin EOF (see router-child-line.ts).
      LLAMA_SERVER_ROUTER_PORT: "0",
    };
    try {
      return await RunningChild.spawn({ launch, env, port, apiKey, logLines: this.spec.logLines });
    } catch (error) {
      throw new GatewayError(
        "model_load_failed",
        `model ${this.spec.modelId}: cannot start ${launch.command}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  #startError(kind: "exited" | "timeout" | "aborted", child: RunningChild): GatewayError {
    const id = this.spec.modelId;
    const tail = child.ring.tail(STDERR_LINES_IN_ERRORS).join("\n");
    if (kind === "timeout") {
      const seconds = this.spec.startupTimeoutMs / 1000;
      return new GatewayError("model_load_timeout", `model ${id} did not become ready within ${seconds}s`);
    }
    if (kind === "aborted") return new GatewayError("shutting_down", `loading model ${id} was cancelled`);
    return new GatewayError(
      "model_load_failed",
      `model ${id}: llama-server exited while loading${tail ? `; last output:\n${tail}` : ""}`,
    );
  }

  /** A ready child that exits without being asked to is a crash: forget it, tell listeners. */
  #watchForCrash(child: RunningChild): void {
    void child.exited.then((exit) => {
      if (this.#child !== child || this.#state !== "ready") return;
      this.#child = null;
      this.#transition("stopped");
      this.#emit({
        type: "crashed",
        name: this.spec.name,
        code: exit.code,
        signal: exit.signal,
        lastLines: child.ring.tail(STDERR_LINES_IN_ERRORS),
      });
    });
  }
}

/** The shared start goes on when one waiter gives up; only that waiter's promise rejects. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
