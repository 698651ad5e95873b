import type { UpstreamConfig, UpstreamHealthConfig } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { ChildState, Endpoint, SupervisorSnapshot } from "./supervisor-types.js";

/** What a health check of the upstream found: 200, or why not. */
export type Probe = (signal: AbortSignal) => Promise<boolean>;

type UpstreamEvent = {
  readonly type: "state";
  readonly name: string;
  readonly from: ChildState;
  readonly to: ChildState;
};

const LOG_LINES = 50;

/**
 * A remote server of a model (a llama-server, another OpenAI-compatible server or another
 * gateway on another host): a Backend the gateway never starts or stops, only checks.
 *
 * - Active checks: while wanted (from the first ensureReady until stop), its health path every
 *   `intervalMs` with a `timeoutMs` deadline; `rise` passes in a row make it `ready`, `fall`
 *   failures in a row take it out (`failed`: requests go elsewhere, or fail fast when nothing
 *   else serves the model).
 * - Passive checks (Envoy's outlier detection): `ejectAfter` requests in a row that failed on
 *   it (connection failure or a 5xx answer) eject it for `ejectTimeMs`, doubling with each
 *   ejection in a row up to `maxEjectTimeMs`; then active checks decide again (`rise` passes).
 *
 * States as the scheduler reads them: `starting` (not known healthy yet), `ready`, `failed`
 * (unhealthy or ejected; `retryAt` says until when an ejection lasts), `stopped` (not wanted).
 */
export class RemoteUpstream {
  readonly name: string;
  readonly #config: UpstreamConfig;
  readonly #health: UpstreamHealthConfig;
  readonly #probe: Probe;
  readonly #now: () => number;
  readonly #listeners = new Set<(event: UpstreamEvent) => void>();
  readonly #lines: string[] = [];
  readonly #endpoint: Endpoint;
  #state: ChildState = "stopped";
  #passes = 0;
  #fails = 0;
  /** Requests in a row that failed on it (passive check). */
  #requestFailures = 0;
  /** Ejections in a row (reset by a request that succeeds). */
  #ejections = 0;
  #ejectedUntil: number | null = null;
  #failure: GatewayError | null = null;
  #timer: NodeJS.Timeout | null = null;
  #checking: AbortController | null = null;
  readonly #waiters = new Set<{ resolve: (endpoint: Endpoint) => void; reject: (error: unknown) => void }>();

  constructor(
    modelId: string,
    config: UpstreamConfig,
    health: UpstreamHealthConfig,
    options: { readonly probe?: Probe; readonly now?: () => number } = {},
  ) {
    this.name = `${modelId}@${config.name}`;
    this.#config = config;
    this.#health = health;
    this.#now = options.now ?? Date.now;
    const url = new URL(config.url);
    const port = url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port);
    this.#endpoint = {
      port,
      apiKey: config.apiKey ?? "",
      origin: url.origin,
      basePath: url.pathname === "/" ? "" : url.pathname.replace(/\/+$/, ""),
    };
    this.#probe = options.probe ?? ((signal) => httpProbe(config, signal));
  }

  /** The model name to ask it for. */
  get model(): string {
    return this.#config.model;
  }

  /** Marks it for the scheduler: never started, stopped or counted against the loaded models. */
  readonly remote = true;

  /** Requests it takes at once. */
  get capacity(): number {
    return this.#config.maxConcurrent;
  }

  get url(): string {
    return this.#config.url;
  }

  ensureReady(signal?: AbortSignal): Promise<Endpoint> {
    if (this.#state === "ready") return Promise.resolve(this.#endpoint);
    if (this.#state === "stopped") this.#begin();
    if (this.#state === "failed" && this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (endpoint: Endpoint) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(endpoint);
        },
        reject: (error: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(error);
        },
      };
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(signal?.reason);
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  endpoint(): Endpoint | null {
    return this.#state === "ready" ? this.#endpoint : null;
  }

  /** Not wanted any more (its model was unloaded or removed): checks stop; the server runs on. */
  async stop(): Promise<void> {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#checking?.abort();
    this.#checking = null;
    this.#passes = 0;
    this.#fails = 0;
    this.#ejectedUntil = null;
    this.#failure = null;
    const stopped = new GatewayError("backend_unavailable", `upstream ${this.name} is not in use`);
    for (const waiter of [...this.#waiters]) waiter.reject(stopped);
    this.#waiters.clear();
    this.#transition("stopped");
  }

  kill(): Promise<void> {
    return this.stop();
  }

  /** Out of `failed` at once (admin reset): checked again from scratch. */
  reset(): void {
    if (this.#state !== "failed") return;
    this.#ejectedUntil = null;
    this.#failure = null;
    this.#ejections = 0;
    this.#requestFailures = 0;
    this.#transition("starting");
    this.#schedule(0);
  }

  failure(): GatewayError | null {
    return this.#state === "failed" ? this.#failure : null;
  }

  /** How a request on it ended (passive check): connection failure or 5xx is a failure. */
  observe(ok: boolean): void {
    if (ok) {
      this.#requestFailures = 0;
      this.#ejections = 0;
      return;
    }
    this.#requestFailures++;
    if (this.#requestFailures < this.#health.ejectAfter || this.#state === "failed") return;
    this.#ejections++;
    const ms = Math.min(this.#health.ejectTimeMs * 2 ** (this.#ejections - 1), this.#health.maxEjectTimeMs);
    this.#ejectedUntil = this.#now() + ms;
    this.#requestFailures = 0;
    this.#take(`ejected for ${ms / 1000} s after ${this.#health.ejectAfter} failed requests in a row`);
    // After the ejection, active checks bring it back (rise passes in a row).
    this.#schedule(ms);
  }

  snapshot(): SupervisorSnapshot {
    return {
      name: this.name,
      state: this.#state,
      pid: null,
      port: this.#endpoint.port,
      readySince: null,
      restarts: 0,
      recentCrashes: 0,
      failure: this.#state === "failed" ? (this.#failure?.message ?? null) : null,
      retryAt: this.#state === "failed" ? this.#ejectedUntil : null,
      url: this.#config.url,
    };
  }

  logs(count = LOG_LINES): string[] {
    return this.#lines.slice(-count);
  }

  onEvent(listener: (event: UpstreamEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #begin(): void {
    this.#transition("starting");
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#check(), ms);
    this.#timer.unref();
  }

  async #check(): Promise<void> {
    this.#timer = null;
    if (this.#state === "stopped") return;
    if (this.#ejectedUntil !== null) {
      // The ejection is over: only active checks bring it back.
      this.#ejectedUntil = null;
      this.#passes = 0;
      this.#fails = 0;
    }
    const checking = new AbortController();
    this.#checking = checking;
    const deadline = setTimeout(() => checking.abort(), this.#health.timeoutMs);
    let ok = false;
    try {
      ok = await this.#probe(checking.signal);
    } catch {
      ok = false;
    } finally {
      clearTimeout(deadline);
    }
    if (this.#checking !== checking) return;
    this.#checking = null;
    if (ok) {
      this.#fails = 0;
      this.#passes++;
      // Never out of rotation yet: one pass will do; back from failed or ejected: `rise`.
      const needed = this.#state === "starting" ? 1 : this.#health.rise;
      if (this.#state !== "ready" && this.#passes >= needed) this.#ready();
    } else {
      this.#passes = 0;
      this.#fails++;
      if (this.#state !== "failed" && this.#fails >= this.#health.fall)
        this.#take(`${this.#fails} health checks in a row failed`);
    }
    if (this.#ejectedUntil === null) this.#schedule(this.#health.intervalMs);
  }

  #ready(): void {
    this.#failure = null;
    this.#line("healthy");
    this.#transition("ready");
    for (const waiter of [...this.#waiters]) waiter.resolve(this.#endpoint);
    this.#waiters.clear();
  }

  /** Out of rotation: unhealthy or ejected. */
  #take(why: string): void {
    this.#failure = new GatewayError(
      "backend_unavailable",
      `remote upstream ${this.name} is out of rotation: ${why}`,
      { retryAfterSeconds: Math.max(1, Math.ceil(this.#health.intervalMs / 1000)) },
    );
    this.#line(why);
    this.#passes = 0;
    this.#transition("failed");
    for (const waiter of [...this.#waiters]) waiter.reject(this.#failure);
    this.#waiters.clear();
  }

  #line(text: string): void {
    this.#lines.push(`[${new Date(this.#now()).toISOString()}] ${text}`);
    if (this.#lines.length > LOG_LINES) this.#lines.shift();
  }

  #transition(to: ChildState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    for (const listener of this.#listeners) listener({ type: "state", name: this.name, from, to });
  }
}

/** GET <url><healthPath> with the upstream's key: healthy on 200. */
async function httpProbe(config: UpstreamConfig, signal: AbortSignal): Promise<boolean> {
  const headers: Record<string, string> = {};
  if (config.apiKey !== null) headers.authorization = `Bearer ${config.apiKey}`;
  const res = await fetch(`${config.url}${config.healthPath}`, { headers, signal, redirect: "manual" });
  await res.body?.cancel();
  return res.status === 200;
}
