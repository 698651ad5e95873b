import { randomBytes } from "node:crypto";
import type { LaunchSpec } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import { decideRestart, type RestartPolicy, recentCrashes } from "./crash-history.js";
import { freePort } from "./free-port.js";
import { buildLaunch } from "./launch.js";
import { watchLiveness } from "./liveness.js";
import { type ReadyOutcome, RunningChild } from "./running-child.js";
import { abortable, delay } from "./waits.js";

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
}

/** Where a ready child listens and the key that it alone accepts. */
export interface Endpoint {
  readonly port: number;
  readonly apiKey: string;
}

export type SupervisorEvent =
  | { readonly type: "state"; readonly name: string; readonly from: ChildState; readonly to: ChildState }
  /** Emitted synchronously right after spawn (the runtime record must see the pid now). */
  | { readonly type: "spawned"; readonly name: string; readonly pid: number; readonly port: number }
  /** The child exited and its process group was killed. */
  | { readonly type: "reaped"; readonly name: string; readonly pid: number }
  | {
      readonly type: "crashed";
      readonly name: string;
      readonly reason: string;
      readonly lastLines: readonly string[];
      /** ms until the restart, or null when the child was parked in `failed`. */
      readonly restartInMs: number | null;
    };

export interface SupervisorSnapshot {
  readonly name: string;
  readonly state: ChildState;
  readonly pid: number | null;
  readonly port: number | null;
  readonly readySince: number | null;
  readonly recentCrashes: number;
  readonly failure: string | null;
}

const PORT_ATTEMPTS = 3;
const LINES_IN_ERRORS = 8;

/**
 * One supervised llama-server. Its state changes only inside this class, one operation at a
 * time (start and stop are serialized); callers say ensureReady/stop/kill/reset and never act
 * on a state they read. Concurrent ensureReady calls share one start. A crash restarts the
 * child after a back-off; a crash loop parks it in `failed` until reset().
 */
export class Supervisor {
  readonly spec: ChildSpec;
  readonly #listeners = new Set<(event: SupervisorEvent) => void>();
  readonly #baseEnv: NodeJS.ProcessEnv;
  readonly #pickPort: () => Promise<number>;
  #state: ChildState = "stopped";
  #child: RunningChild | null = null;
  #readySince: number | null = null;
  #starting: Promise<Endpoint> | null = null;
  /** Aborts a start in progress or a restart waiting out its back-off. */
  #startAbort: AbortController | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #crashes: number[] = [];
  #failure: GatewayError | null = null;
  #stopLiveness: (() => void) | null = null;

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
      recentCrashes: this.#crashes.length,
      failure: this.#failure?.message ?? null,
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
    if (this.#failure !== null) return Promise.reject(this.#failure);
    this.#starting ??= this.#track(this.#serialized(() => this.#start()));
    return signal === undefined ? this.#starting : abortable(this.#starting, signal);
  }

  /** Graceful stop: SIGTERM the group, wait stopTimeout, SIGKILL, reap. Aborts a start or back-off. */
  stop(): Promise<void> {
    this.#abortStart();
    return this.#serialized(() => this.#halt((child) => child.terminate(this.spec.stopTimeoutMs)));
  }

  /** Forceful stop: SIGKILL the group at once, reap. */
  kill(): Promise<void> {
    this.#abortStart();
    return this.#serialized(() => this.#halt((child) => child.kill()));
  }

  /** Leave `failed` (admin reset, config reload): the crash history is forgotten. */
  reset(): void {
    this.#crashes = [];
    this.#failure = null;
    if (this.#state === "failed") this.#transition("stopped");
  }

  #abortStart(): void {
    this.#startAbort?.abort(
      new GatewayError("shutting_down", `model ${this.spec.modelId} was stopped while it was starting`),
    );
  }

  #track(start: Promise<Endpoint>): Promise<Endpoint> {
    const clear = () => {
      if (this.#starting === start) this.#starting = null;
    };
    start.then(clear, clear);
    return start;
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
    this.#stopLiveness?.();
    const child = this.#child;
    if (child === null) return;
    this.#transition("stopping");
    await stopChild(child);
    this.#child = null;
    this.#transition(this.#failure === null ? "stopped" : "failed");
  }

  async #start(): Promise<Endpoint> {
    const ready = this.endpoint();
    if (ready !== null) return ready;
    if (this.#failure !== null) throw this.#failure;
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
          this.#onReady(child);
          return { port: child.port, apiKey: child.apiKey };
        }
        await child.terminate(this.spec.stopTimeoutMs);
        this.#child = null;
        if (outcome.kind === "exited" && outcome.bindFailure && attempt < PORT_ATTEMPTS) continue;
        throw this.#loadFailure(outcome, child);
      }
    } catch (error) {
      this.#child = null;
      this.#transition(this.#failure === null ? "stopped" : "failed");
      throw this.#failure ?? error;
    } finally {
      this.#startAbort = null;
    }
  }

  #onReady(child: RunningChild): void {
    this.#transition("ready");
    this.#stopLiveness = watchLiveness({
      port: child.port,
      apiKey: child.apiKey,
      ...this.spec.liveness,
      // A wedged child is killed; the exit then counts as a crash and restarts it.
      onDead: (reason) => {
        child.ring.push(`[llamawrapper] liveness: ${reason}; killing it\n`);
        void child.kill();
      },
    });
    void child.exited.then((exit) => {
      if (this.#child !== child || this.#state !== "ready") return;
      this.#stopLiveness?.();
      this.#child = null;
      const reason = `llama-server exited (${exit.signal ?? `code ${exit.code}`})`;
      this.#crashed(reason, child.ring.tail(LINES_IN_ERRORS));
    });
  }

  /** Records a crash and either schedules a restart after the back-off or parks in `failed`. */
  #crashed(reason: string, lastLines: readonly string[]): void {
    const now = Date.now();
    this.#crashes = recentCrashes(this.#crashes, now, this.spec.restart);
    const decision = decideRestart(this.#crashes, this.spec.restart);
    if (decision.kind === "fail") {
      this.#failure = new GatewayError(
        "model_failed",
        `model ${this.spec.modelId} crashed ${decision.crashes} times within ${this.spec.restart.windowMs / 1000}s and is parked until an admin reset or config reload; last: ${reason}${lastLines.length ? `\n${lastLines.join("\n")}` : ""}`,
        { retryAfterSeconds: 30 },
      );
      this.#transition("failed");
      this.#emit({ type: "crashed", name: this.spec.name, reason, lastLines, restartInMs: null });
      return;
    }
    this.#transition("stopped");
    this.#emit({ type: "crashed", name: this.spec.name, reason, lastLines, restartInMs: decision.delayMs });
    const abort = new AbortController();
    this.#startAbort = abort;
    const restart = delay(decision.delayMs, abort.signal).then(() => this.#serialized(() => this.#start()));
    restart.catch(() => {});
    this.#starting = this.#track(restart);
  }

  /** A failed load counts as a crash too, so a model that cannot load ends up `failed`, fast. */
  #loadFailure(outcome: Exclude<ReadyOutcome, { kind: "ready" }>, child: RunningChild): GatewayError {
    const id = this.spec.modelId;
    if (outcome.kind === "aborted")
      return new GatewayError("shutting_down", `loading model ${id} was cancelled`);
    const tail = child.ring.tail(LINES_IN_ERRORS).join("\n");
    const error =
      outcome.kind === "timeout"
        ? new GatewayError(
            "model_load_timeout",
            `model ${id} did not become ready within ${this.spec.startupTimeoutMs / 1000}s`,
          )
        : new GatewayError(
            "model_load_failed",
            `model ${id}: llama-server exited while loading (${outcome.signal ?? `code ${outcome.code}`})${tail ? `; last output:\n${tail}` : ""}`,
          );
    this.#crashes = recentCrashes(this.#crashes, Date.now(), this.spec.restart);
    if (decideRestart(this.#crashes, this.spec.restart).kind === "fail") {
      this.#failure = new GatewayError(
        "model_failed",
        `model ${id} failed to load ${this.#crashes.length} times and is parked until an admin reset or config reload; last: ${error.message}`,
        { retryAfterSeconds: 30 },
      );
    }
    return error;
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
    let child: RunningChild;
    try {
      child = await RunningChild.spawn({ launch, env, port, apiKey, logLines: this.spec.logLines });
    } catch (error) {
      throw new GatewayError(
        "model_load_failed",
        `model ${this.spec.modelId}: cannot start ${launch.command}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const { name } = this.spec;
    this.#emit({ type: "spawned", name, pid: child.pid, port });
    void child.exited.then(() => this.#emit({ type: "reaped", name, pid: child.pid }));
    return child;
  }
}
