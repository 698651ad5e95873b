import { GatewayError } from "../../src/errors/gateway-error.js";
import type {
  Backend,
  BackendSnapshot,
  BackendState,
  BackendStateEvent,
  Endpoint,
} from "../../src/scheduler/backend.js";

type BackendEvent =
  | BackendStateEvent
  | { readonly type: "cooled-down"; readonly name: string; readonly retrying: boolean };

export interface FakeBackendOptions {
  /** "succeed": ensureReady is ready at once; "hold": it waits for completeStart()/failStart(). */
  readonly start?: "succeed" | "hold";
  /** Records "<name> start", "<name> stop", "<name> kill" in call order across backends. */
  readonly journal?: string[];
}

interface PendingStart {
  readonly promise: Promise<Endpoint>;
  readonly resolve: (endpoint: Endpoint) => void;
  readonly reject: (error: unknown) => void;
}

let nextPort = 20_000;

/**
 * A Backend the test drives by hand, for in-process scheduler tests: no child, no timers. It
 * walks the same states and emits the same events as process/supervisor.ts (stopped → starting
 * → ready; ready → stopped on a crash; failed while parked; "cooled-down" when a park ends).
 */
export class FakeBackend implements Backend {
  readonly name: string;
  startMode: "succeed" | "hold";
  starts = 0;
  stops = 0;
  kills = 0;
  resets = 0;
  /** Every state change, as "from→to". */
  readonly transitions: string[] = [];
  readonly #journal: string[] | undefined;
  readonly #listeners = new Set<(event: BackendEvent) => void>();
  readonly #lines: string[] = [];
  readonly #endpoint: Endpoint;
  #state: BackendState = "stopped";
  #failure: GatewayError | null = null;
  #pending: PendingStart | null = null;
  #wanted = false;

  constructor(name: string, options: FakeBackendOptions = {}) {
    this.name = name;
    this.startMode = options.start ?? "succeed";
    this.#journal = options.journal;
    this.#endpoint = { port: nextPort++, apiKey: `key-${name}` };
  }

  get state(): BackendState {
    return this.#state;
  }

  /** Whether a start is in progress (someone waits for completeStart/failStart). */
  get starting(): boolean {
    return this.#pending !== null;
  }

  onEvent(listener: (event: BackendEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  endpoint(): Endpoint | null {
    return this.#state === "ready" ? this.#endpoint : null;
  }

  failure(): GatewayError | null {
    return this.#failure;
  }

  ensureReady(signal?: AbortSignal): Promise<Endpoint> {
    if (this.#state === "ready") return Promise.resolve(this.#endpoint);
    this.#wanted = true;
    if (this.#failure !== null) return Promise.reject(this.#failure);
    if (this.#pending === null) {
      this.starts++;
      this.#journal?.push(`${this.name} start`);
      this.#beginStart();
      if (this.startMode === "succeed") {
        this.completeStart();
        return Promise.resolve(this.#endpoint);
      }
    }
    const pending = this.#pending;
    if (pending === null) return Promise.reject(new Error(`${this.name}: start ended without an outcome`));
    if (signal === undefined) return pending.promise;
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) return onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      pending.promise.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  /** The start in progress (or a restart the fake's "supervisor" began by itself) becomes ready. */
  completeStart(): void {
    if (this.#state !== "starting") this.#beginStart();
    const pending = this.#pending;
    this.#pending = null;
    this.#transition("ready");
    pending?.resolve(this.#endpoint);
  }

  /** The start in progress fails with `error`; with `park` the backend is parked in `failed`. */
  failStart(error: unknown, options: { readonly park?: boolean } = {}): void {
    if (options.park === true) this.#failure = toGatewayError(error);
    const pending = this.#pending;
    this.#pending = null;
    this.#transition(this.#failure === null ? "stopped" : "failed");
    pending?.reject(this.#failure ?? error);
  }

  /**
   * The child dies. Without `park` the supervisor restarts it (state `starting`; finish the
   * restart with completeStart or failStart); with `park` it is parked in `failed`.
   */
  crash(park?: GatewayError): void {
    this.#lines.push(`[fake] ${this.name} crashed`);
    if (park !== undefined) {
      this.park(park);
      return;
    }
    this.#transition("stopped");
    this.#beginStart();
  }

  /** Parks it in `failed` with `failure`, whatever it was doing. */
  park(failure: GatewayError): void {
    this.#failure = failure;
    const pending = this.#pending;
    this.#pending = null;
    this.#transition("failed");
    pending?.reject(failure);
  }

  /** The park's cool-down ended: out of `failed`, and the owner hears "cooled-down". */
  coolDown(): void {
    this.#failure = null;
    this.#transition("stopped");
    this.#emit({ type: "cooled-down", name: this.name, retrying: this.#wanted });
  }

  stop(): Promise<void> {
    this.stops++;
    this.#journal?.push(`${this.name} stop`);
    this.#halt();
    return Promise.resolve();
  }

  kill(): Promise<void> {
    this.kills++;
    this.#journal?.push(`${this.name} kill`);
    this.#halt();
    return Promise.resolve();
  }

  reset(): void {
    this.resets++;
    this.#failure = null;
    if (this.#state === "failed") this.#transition("stopped");
  }

  snapshot(): BackendSnapshot {
    return {
      name: this.name,
      state: this.#state,
      pid: this.#state === "ready" ? 1_000 + (this.#endpoint.port ?? 0) : null,
      port: this.#state === "ready" ? this.#endpoint.port : null,
      readySince: null,
      restarts: 0,
      recentCrashes: 0,
      failure: this.#failure?.message ?? null,
      retryAt: null,
    };
  }

  /** Adds a line of "llama-server output". */
  log(line: string): void {
    this.#lines.push(line);
  }

  logs(count?: number): string[] {
    return count === undefined ? [...this.#lines] : this.#lines.slice(-count);
  }

  #beginStart(): void {
    let resolve!: (endpoint: Endpoint) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<Endpoint>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Nobody may be waiting (a restart the supervisor began by itself).
    promise.catch(() => {});
    this.#pending = { promise, resolve, reject };
    this.#transition("starting");
  }

  #halt(): void {
    this.#wanted = false;
    const pending = this.#pending;
    this.#pending = null;
    pending?.reject(new GatewayError("shutting_down", `${this.name} was stopped while it was starting`));
    if (this.#state === "stopped" || this.#state === "failed") return;
    this.#transition("stopping");
    this.#transition(this.#failure === null ? "stopped" : "failed");
  }

  #transition(to: BackendState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.transitions.push(`${from}→${to}`);
    this.#emit({ type: "state", name: this.name, from, to });
  }

  #emit(event: BackendEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

function toGatewayError(error: unknown): GatewayError {
  if (error instanceof GatewayError) return error;
  return new GatewayError("model_load_failed", error instanceof Error ? error.message : String(error));
}
