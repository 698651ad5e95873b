import type { Logger } from "pino";
import type { CacheStats } from "../cache/response-cache.js";
import type { GatewayConfig } from "../config/types.js";
import { HistoryFile } from "../history/history-file.js";
import { LiveFeed } from "../history/live-feed.js";
import { RequestHistory } from "../history/request-history.js";
import type { RequestRecord } from "../http/request-record.js";
import { GatewayMetrics } from "../metrics/gateway-metrics.js";
import type { ScrapeTarget } from "../metrics/llama-scrape.js";
import { SlaTracker } from "../metrics/sla.js";
import type { SupervisorEvent } from "../process/supervisor.js";
import type { ModelGroup } from "../scheduler/model-group.js";
import type { UnloadReason } from "../scheduler/scheduler.js";

/** What the gauges read at scrape time: the present, from whatever generation is current. */
export interface ObservedState {
  readonly config: () => GatewayConfig;
  readonly groups: () => readonly ModelGroup[];
  readonly cache: () => CacheStats;
  readonly inFlight: () => number;
}

/**
 * Metrics, SLA tracking and the request history, built once by the shell and fed by events:
 * every finished request (`request`), every child's state change and crash (`supervisor`),
 * every unload with its reason (`unloaded`). Lower layers only emit; nothing here reaches into
 * them except the scrape-time gauges, which read the same state /admin/status shows.
 */
export class Observability {
  readonly metrics = new GatewayMetrics();
  readonly sla: SlaTracker;
  readonly history: RequestHistory | null;
  /** Finished requests as they happen, numbered, for the dashboard's live stream. */
  readonly feed = new LiveFeed(FEED_SIZE);
  readonly #file: HistoryFile | null;

  constructor(config: GatewayConfig, state: ObservedState, log: Logger) {
    this.sla = new SlaTracker((model) => (state.config().models[model] ?? state.config()).sla);
    this.history = config.history.size > 0 ? new RequestHistory(config.history.size) : null;
    this.#file =
      config.history.file === null
        ? null
        : new HistoryFile(config.history.file, { maxBytes: config.history.maxFileBytes }, log);
    registerGauges(this.metrics, state, this.sla);
  }

  /** Reads the persisted history back (before the first request). */
  async load(): Promise<void> {
    if (this.#file === null || this.history === null) return;
    for (const record of await this.#file.load(this.history.capacity)) this.history.add(record);
  }

  request(record: RequestRecord): void {
    this.metrics.request(record);
    this.sla.record(record);
    if (isOperatorRoute(record.route)) return;
    this.history?.add(record);
    this.#file?.append(record);
    this.feed.publish(record);
  }

  supervisor(model: string, event: SupervisorEvent): void {
    this.metrics.supervisor(model, event);
  }

  unloaded(model: string, reason: UnloadReason): void {
    this.metrics.unloaded(model, reason);
  }

  /** The ready children of models with `metrics: true`, for the scrape. */
  static llamaTargets(groups: readonly ModelGroup[]): ScrapeTarget[] {
    const targets: ScrapeTarget[] = [];
    for (const group of groups) {
      if (!group.model.metrics) continue;
      for (const backend of group.backends()) {
        const endpoint = backend.endpoint();
        // Remote upstreams are scraped by their own operators; only local children are merged.
        if (endpoint !== null && endpoint.origin === undefined)
          targets.push({ model: group.id, instance: backend.name, endpoint });
      }
    }
    return targets;
  }

  close(): Promise<void> {
    return this.#file?.close() ?? Promise.resolve();
  }
}

/** Requests a dashboard that reconnects can catch up on. */
const FEED_SIZE = 500;

/** Scrapes, health checks, admin calls and the dashboard's own: counted in metrics, kept out of the request history. */
function isOperatorRoute(route: string | null): boolean {
  if (route === null) return false;
  return (
    route === "/metrics" ||
    route === "/health" ||
    route.startsWith("/admin/") ||
    route.startsWith("/dashboard")
  );
}

const MODEL_STATES = ["loaded", "loading", "unloaded", "failed"] as const;

function modelState(group: ModelGroup): (typeof MODEL_STATES)[number] {
  const instances = group.instances();
  if (instances.some((i) => i.state === "ready")) return "loaded";
  if (instances.some((i) => i.state === "starting")) return "loading";
  return group.failure() !== null ? "failed" : "unloaded";
}

function registerGauges(metrics: GatewayMetrics, state: ObservedState, sla: SlaTracker): void {
  metrics.gauge("llamawrapper_requests_in_flight", "Requests being served now.", [], (g) =>
    g.set(state.inFlight()),
  );
  metrics.gauge("llamawrapper_models_loaded", "Models with at least one instance started.", [], (g) =>
    g.set(state.groups().filter((group) => group.resident).length),
  );
  metrics.gauge(
    "llamawrapper_model_state",
    "1 for each model's current state (loaded, loading, unloaded, failed), 0 for the others.",
    ["model", "state"],
    (g) => {
      for (const group of state.groups()) {
        const now = modelState(group);
        for (const s of MODEL_STATES) g.set({ model: group.id, state: s }, s === now ? 1 : 0);
      }
    },
  );
  metrics.gauge(
    "llamawrapper_instances",
    "Instances by model and state (stopped, starting, ready, stopping, failed, ...).",
    ["model", "state"],
    (g) => {
      for (const group of state.groups())
        for (const instance of group.instances()) g.inc({ model: group.id, state: instance.state });
    },
  );
  metrics.gauge(
    "llamawrapper_upstream_up",
    "Remote upstreams: 1 while one is in rotation (healthy, not ejected), else 0.",
    ["model", "instance"],
    (g) => {
      for (const group of state.groups())
        for (const instance of group.instances())
          if (instance.url !== undefined)
            g.set({ model: group.id, instance: instance.name }, instance.state === "ready" ? 1 : 0);
    },
  );
  metrics.gauge(
    "llamawrapper_queue_depth",
    "Requests waiting for an instance of a model.",
    ["model"],
    (g) => {
      for (const group of state.groups()) g.set({ model: group.id }, group.waiting);
    },
  );
  metrics.gauge("llamawrapper_cache_entries", "Answers in the response cache (memory store).", [], (g) => {
    const entries = state.cache().entries;
    if (entries !== null) g.set(entries);
  });
  metrics.gauge(
    "llamawrapper_cache_bytes",
    "Bytes of answers in the response cache (memory store).",
    [],
    (g) => {
      const bytes = state.cache().bytes;
      if (bytes !== null) g.set(bytes);
    },
  );
  const cacheCounter = (name: string, help: string, field: keyof CacheStats) =>
    metrics.sourcedCounter(name, help, () => Number(state.cache()[field] ?? 0));
  cacheCounter(
    "llamawrapper_cache_hits_total",
    "Requests answered from the cache (coalesced included).",
    "hits",
  );
  cacheCounter("llamawrapper_cache_misses_total", "Looked-up requests that went to llama-server.", "misses");
  cacheCounter(
    "llamawrapper_cache_coalesced_total",
    "Requests that got the answer of an identical one in flight.",
    "coalesced",
  );
  cacheCounter("llamawrapper_cache_evictions_total", "Cache entries dropped to make room.", "evictions");
  cacheCounter(
    "llamawrapper_cache_expirations_total",
    "Cache entries dropped because their ttl passed.",
    "expirations",
  );
  cacheCounter(
    "llamawrapper_cache_store_errors_total",
    "Cache store failures (Redis down) turned into misses.",
    "errors",
  );
  const slaGauge = (
    name: string,
    help: string,
    field:
      | "availability"
      | "ttftAttainment"
      | "latencyAttainment"
      | "good"
      | "errorBudgetRemaining"
      | "burnRate",
  ) =>
    metrics.gauge(name, help, ["model"], (g) => {
      for (const report of sla.report()) {
        const value = report[field];
        if (value !== null && Number.isFinite(value)) g.set({ model: report.model }, value);
      }
    });
  slaGauge(
    "llamawrapper_sla_availability",
    "Share of requests over the SLA window not failed with 5xx.",
    "availability",
  );
  slaGauge(
    "llamawrapper_sla_ttft_attainment",
    "Share of successful streamed requests within the ttft objective.",
    "ttftAttainment",
  );
  slaGauge(
    "llamawrapper_sla_latency_attainment",
    "Share of successful requests within the latency objective.",
    "latencyAttainment",
  );
  slaGauge(
    "llamawrapper_sla_good_ratio",
    "Share of good requests (not failed, within every objective).",
    "good",
  );
  slaGauge(
    "llamawrapper_sla_error_budget_remaining",
    "1 - burn rate: the share of the window's error budget left.",
    "errorBudgetRemaining",
  );
  slaGauge(
    "llamawrapper_sla_burn_rate",
    "Bad share / (1 - availability objective): 1 spends the budget exactly over the window.",
    "burnRate",
  );
  metrics.gauge("llamawrapper_sla_objective", "The availability objective of each model.", ["model"], (g) => {
    for (const report of sla.report()) g.set({ model: report.model }, report.objective);
  });
}
