import { randomBytes } from "node:crypto";
import { GatewayError } from "../errors/gateway-error.js";
import { ChildAddresses, endpointOf } from "./child-address.js";
import { childLaunch } from "./child-launch.js";
import { decideRestart, recentCrashes } from "./crash-history.js";
import { freePort } from "./free-port.js";
import { watchLiveness } from "./liveness.js";
import { loadError } from "./load-error.js";
import { type ReadyOutcome, RunningChild } from "./running-child.js";
import type {
  ChildSpec,
  ChildState,
  Endpoint,
  SupervisorEvent,
  SupervisorSnapshot,
} from "./supervisor-types.js";
import { abortable, type Deferred, deferred, delay } from "./waits.js";

export type {
  ChildSpec,
  ChildState,
  CoolDownPolicy,
  Endpoint,
  LivenessSpec,
  SupervisorEvent,
  SupervisorSnapshot,
} from "./supervisor-types.js";

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
  readonly #addresses: ChildAddresses;
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
  /** The last child's output, kept after it exited: why a model failed must stay readable. */
  #lastRing: RunningChild["ring"] | null = null;
  #restarts = 0;
  /** Whether someone asked for it to run (ensureReady) and nobody stopped it since. */
  #wanted = false;
  /** Cool-downs in a row without a ready child in between (the back-off doubles with each). */
  #coolDowns = 0;
  #coolDownTimer: NodeJS.Timeout | null = null;
  #retryAt: number | null = null;
  /** From a crash until ready, parked or stopped: waiters wait through every restart attempt. */
  #recovery: Deferred<Endpoint> | null = null;

  /** `pickPort` is injectable so tests can hand out a port that is already taken. */
  constructor(spec: ChildSpec, baseEnv: NodeJS.ProcessEnv, pickPort: () => Promise<number> = freePort) {
    this.spec = spec;
    this.#baseEnv = baseEnv;
    // `cmd:` children run the user's command, which may not speak Unix sockets: always TCP.
    this.#addresses = new ChildAddresses(spec.launch.kind === "model" ? spec.sockets : null, pickPort);
  }

  get name(): string {
    return this.spec.name;
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
      port: child?.address.port ?? null,
      socket: child?.address.socket ?? null,
      readySince: this.#readySince,
      restarts: this.#restarts,
      recentCrashes: this.#crashes.length,
      failure: this.#failure?.message ?? null,
      retryAt: this.#retryAt,
    };
  }

  /** Where to send a request now, or null unless ready. */
  endpoint(): Endpoint | null {
    const child = this.#child;
    return this.#state === "ready" && child !== null ? endpointOf(child.address, child.apiKey) : null;
  }

  logs(count?: number): string[] {
    return (this.#child?.ring ?? this.#lastRing)?.tail(count) ?? [];
  }

  /** The error requests get while parked in `failed`; null otherwise. */
  failure(): GatewayError | null {
    return this.#failure;
  }

  /** Resolves with the endpoint once the child is ready, starting it if needed. */
  ensureReady(signal?: AbortSignal): Promise<Endpoint> {
    const ready = this.endpoint();
    if (ready !== null) return Promise.resolve(ready);
    this.#wanted = true;
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#recovery !== null)
      return signal === undefined ? this.#recovery.promise : abortable(this.#recovery.promise, signal);
    this.#starting ??= this.#track(this.#serialized(() => this.#start()));
    return signal === undefined ? this.#starting : abortable(this.#starting, signal);
  }

  /** Graceful stop: SIGTERM the group, wait stopTimeout, SIGKILL, reap. Aborts a start or back-off. */
  stop(): Promise<void> {
    this.#wanted = false;
    this.#abortStart();
    return this.#serialized(() => this.#halt((child) => child.terminate(this.spec.stopTimeoutMs)));
  }

  /** Forceful stop: SIGKILL the group at once, reap. */
  kill(): Promise<void> {
    this.#wanted = false;
    this.#abortStart();
    return this.#serialized(() => this.#halt((child) => child.kill()));
  }

  /** Leave `failed` (admin reset, config reload): the crash history is forgotten. */
  reset(): void {
    this.#coolDowns = 0;
    this.#leaveFailed();
  }

  #leaveFailed(): void {
    if (this.#coolDownTimer !== null) clearTimeout(this.#coolDownTimer);
    this.#coolDownTimer = null;
    this.#retryAt = null;
    this.#crashes = [];
    this.#failure = null;
    if (this.#state === "failed") this.#transition("stopped");
  }

  /**
   * Parks the child in `failed` and plans the automatic retry (a transient cause, such as GPU
   * memory held by another process, must not need a human); the wait doubles per cool-down in a
   * row, up to the policy's max, and starts over once a child was ready.
   */
  #park(failure: GatewayError): void {
    const { initialMs, maxMs } = this.spec.coolDown;
    const waitMs = Math.min(maxMs, initialMs * 2 ** this.#coolDowns);
    this.#coolDowns++;
    this.#retryAt = Date.now() + waitMs;
    const seconds = Math.max(1, Math.ceil(waitMs / 1000));
    this.#failure = new GatewayError(
      failure.code,
      `${failure.message}. Parked as failed: the next automatic try is in ${seconds}s (sooner after an admin reset or a config reload that changes the model)`,
      // The SDKs wait out a Retry-After of up to 60 s; beyond that, waiting cannot help them.
      { retryAfterSeconds: seconds, shouldRetry: waitMs <= 60_000 },
    );
    if (this.#coolDownTimer !== null) clearTimeout(this.#coolDownTimer);
    this.#coolDownTimer = setTimeout(() => {
      this.#coolDownTimer = null;
      if (this.#failure === null) return;
      this.#leaveFailed();
      // Whoever owns it decides whether to start it again (the scheduler: if it is still wanted).
      this.#emit({ type: "cooled-down", name: this.spec.name, retrying: this.#wanted });
    }, waitMs);
    this.#coolDownTimer.unref();
  }

  #abortStart(): void {
    this.#endRecovery(new GatewayError("shutting_down", `model ${this.spec.modelId} was stopped`));
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
        this.#lastRing = child.ring;
        const outcome = await child.waitReady(
          this.spec.startupTimeoutMs,
          this.spec.readinessIntervalMs,
          abort.signal,
        );
        if (outcome.kind === "ready") {
          this.#onReady(child);
          return endpointOf(child.address, child.apiKey);
        }
        await child.terminate(this.spec.stopTimeoutMs);
        this.#child = null;
        if (outcome.kind === "exited" && outcome.bindFailure && attempt < PORT_ATTEMPTS) {
          const { socket } = child.address;
          if (socket !== null && this.#addresses.bindFailed(child.address)) {
            const line = "[llamawrapper] this llama-server cannot listen on a Unix socket: using a TCP port";
            this.#emit({ type: "output", name: this.spec.name, lines: [line] });
            // The log's warning (runtime/build-group.ts): the output event alone reaches no log.
            this.#emit({ type: "socket-refused", name: this.spec.name, socket });
          }
          continue;
        }
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
    this.#coolDowns = 0;
    this.#transition("ready");
    this.#stopLiveness = watchLiveness({
      address: child.address,
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
      this.#park(
        new GatewayError(
          "model_failed",
          `model ${this.spec.modelId} crashed ${decision.crashes} times within ${this.spec.restart.windowMs / 1000}s; last: ${reason}`,
        ),
      );
      this.#transition("failed");
      this.#emit({ type: "crashed", name: this.spec.name, reason, lastLines, restartInMs: null });
      return;
    }
    this.#transition("stopped");
    this.#emit({ type: "crashed", name: this.spec.name, reason, lastLines, restartInMs: decision.delayMs });
    this.#scheduleRestart(decision.delayMs);
  }

  /**
   * Restarts after `delayMs`; a failed restart counts as a crash and plans the next with a longer
   * back-off until the crash limit parks the child. Waiters are served once a start succeeds.
   */
  #scheduleRestart(delayMs: number): void {
    if (this.#recovery === null) {
      this.#recovery = deferred<Endpoint>();
      this.#recovery.promise.catch(() => {});
    }
    const abort = new AbortController();
    this.#startAbort = abort;
    this.#restarts++;
    const restart = delay(delayMs, abort.signal).then(() => this.#serialized(() => this.#start()));
    this.#starting = this.#track(restart);
    restart.then((endpoint) => this.#endRecovery(null, endpoint)).catch(() => {});
    restart.catch((error: unknown) => {
      if (abort.signal.aborted || !this.#wanted) return;
      const lastLines = this.logs(LINES_IN_ERRORS);
      const reason = error instanceof Error ? error.message : String(error);
      if (this.#failure !== null) {
        this.#emit({ type: "restart-failed", name: this.spec.name, reason, lastLines, restartInMs: null });
        this.#endRecovery(this.#failure);
        return;
      }
      const next = decideRestart(this.#crashes, this.spec.restart);
      const nextMs = next.kind === "restart" ? next.delayMs : this.spec.restart.maxBackoffMs;
      this.#emit({ type: "restart-failed", name: this.spec.name, reason, lastLines, restartInMs: nextMs });
      this.#scheduleRestart(nextMs);
    });
  }

  #endRecovery(error: unknown, endpoint?: Endpoint): void {
    const recovery = this.#recovery;
    if (recovery === null) return;
    this.#recovery = null;
    if (endpoint !== undefined) recovery.resolve(endpoint);
    else recovery.reject(error);
  }

  /** A failed load counts as a crash too, so a model that cannot load ends up `failed`, fast. */
  #loadFailure(outcome: Exclude<ReadyOutcome, { kind: "ready" }>, child: RunningChild): GatewayError {
    const id = this.spec.modelId;
    const error = loadError(outcome, id, this.spec.startupTimeoutMs);
    if (outcome.kind === "aborted") return error;
    this.#emit({
      type: "load-failed",
      name: this.spec.name,
      reason: error.message,
      lastLines: child.ring.tail(LINES_IN_ERRORS),
    });
    this.#crashes = recentCrashes(this.#crashes, Date.now(), this.spec.restart);
    if (decideRestart(this.#crashes, this.spec.restart).kind === "fail") {
      const message = `model ${id} failed to load ${this.#crashes.length} times; last: ${error.message}`;
      this.#park(new GatewayError("model_failed", message));
    }
    return error;
  }

  async #spawn(): Promise<RunningChild> {
    const address = await this.#addresses.next();
    const apiKey = randomBytes(24).toString("base64url");
    const { launch, env } = childLaunch(this.spec, this.#baseEnv, address, apiKey);
    let child: RunningChild;
    try {
      child = await RunningChild.spawn({
        launch,
        env,
        address,
        apiKey,
        logLines: this.spec.logLines,
        onLines: (lines) => this.#emit({ type: "output", name: this.spec.name, lines }),
      });
    } catch (error) {
      throw new GatewayError(
        "model_load_failed",
        `model ${this.spec.modelId}: cannot start ${launch.command}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    const { name } = this.spec;
    this.#emit({ type: "spawned", name, pid: child.pid, ...address });
    void child.exited.then(() => {
      this.#addresses.release(address);
      this.#emit({ type: "reaped", name, pid: child.pid });
    });
    return child;
  }
}
