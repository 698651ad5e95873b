import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RequestRecord } from "../http/request-record.js";
import type { SupervisorEvent } from "../process/supervisor.js";
import type { UnloadReason } from "../scheduler/scheduler.js";
import { FastCounter, FastHistogram } from "./fast-series.js";

/** Seconds: a cached answer (~ms) to a long generation or a cold start of a big model (minutes). */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
/** Seconds a model takes to load: a tiny model on CPU (~0.1 s) to a 70B model from disk (minutes). */
const LOAD_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600];
/** Tokens per second one answer was generated at: a big model on CPU to a small one on a fast GPU. */
const SPEED_BUCKETS = [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2000, 5000];

/** Error codes counted as rejections, and the reason label each gets (a closed set). */
const REJECTIONS: Readonly<Record<string, string>> = {
  queue_full: "queue_full",
  queue_timeout: "queue_timeout",
  rate_limited: "rate_limit",
  invalid_api_key: "auth",
  forbidden: "auth",
  model_failed: "model_failed",
  request_limit_exceeded: "request_limit",
  body_too_large: "request_limit",
  shutting_down: "shutting_down",
};

/** What no label value may be: client text. A request without a model gets "", not its words. */
const NONE = "";

/** The label of a status: "2xx"… (constant strings: nothing built per request). */
function statusClass(status: number): string {
  if (status === 499) return "499";
  return STATUS_CLASSES[Math.floor(status / 100)] ?? `${Math.floor(status / 100)}xx`;
}

const STATUS_CLASSES = ["0xx", "1xx", "2xx", "3xx", "4xx", "5xx"];

const seconds = (ms: number) => ms / 1000;

/**
 * The gateway's own Prometheus metrics (docs/metrics.md), in their own registry (never the
 * global default), rendered as Prometheus text; the /metrics route converts that text when a
 * scraper asks for OpenMetrics (openmetrics.ts). Not a second registry holding the same metric
 * objects: prom-client's OpenMetrics render renames a counter object in place (drops `_total`),
 * which would then leak into every Prometheus-text scrape. Fed by events (a finished request, a child's state change, an unload); the
 * gauges that describe the present (models, queues, the cache) are read at scrape time through
 * `addCollector`. Every label value is bounded: route patterns, resolved model ids from the
 * config, status classes, closed reason sets.
 */
export class GatewayMetrics {
  readonly prometheus = new Registry();
  readonly #requests: FastCounter;
  readonly #duration: FastHistogram;
  readonly #ttft: FastHistogram;
  readonly #queueWait: FastHistogram;
  readonly #upstream: FastHistogram;
  readonly #load: Histogram;
  readonly #promptTokens: FastCounter;
  readonly #completionTokens: FastCounter;
  readonly #cachedTokens: FastCounter;
  readonly #speed: FastHistogram;
  readonly #rejections: FastCounter;
  readonly #crashes: Counter;
  readonly #restarts: Counter;
  readonly #loadFailures: Counter;
  readonly #unloads: Counter;
  readonly #llamaSkipped: Counter;
  readonly #routes: FastCounter;
  /** When each instance started starting (performance.now()), for the load-time histogram. */
  readonly #starting = new Map<string, number>();

  constructor() {
    const registers = this.registers;
    collectDefaultMetrics({ register: this.prometheus });
    const counter = (name: string, help: string, labelNames: string[]) =>
      new Counter({ name, help, labelNames, registers });
    const histogram = (name: string, help: string, labelNames: string[], buckets: number[]) =>
      new Histogram({ name, help, labelNames, buckets, registers });
    // What every request moves: counted without allocating (fast-series.ts).
    const fastCounter = (name: string, help: string, labelNames: string[]) =>
      new FastCounter(this.prometheus, name, help, labelNames);
    const fastHistogram = (name: string, help: string, labelNames: string[], buckets: number[]) =>
      new FastHistogram(this.prometheus, name, help, labelNames, buckets);
    this.#requests = fastCounter(
      "llamawrapper_requests_total",
      "Finished requests by route pattern, resolved model, status class and cache result.",
      ["route", "model", "status_class", "cache"],
    );
    this.#duration = fastHistogram(
      "llamawrapper_request_duration_seconds",
      "Whole request duration, arrival to the last byte.",
      ["route", "model"],
      LATENCY_BUCKETS,
    );
    this.#ttft = fastHistogram(
      "llamawrapper_time_to_first_token_seconds",
      "Streamed requests: arrival to llama-server's first byte (queue and load included).",
      ["model"],
      LATENCY_BUCKETS,
    );
    this.#queueWait = fastHistogram(
      "llamawrapper_queue_wait_seconds",
      "Time a request waited for an instance (queue, model load).",
      ["model"],
      LATENCY_BUCKETS,
    );
    this.#upstream = fastHistogram(
      "llamawrapper_upstream_duration_seconds",
      "Time from sending a request to llama-server to the end of its answer.",
      ["model"],
      LATENCY_BUCKETS,
    );
    this.#load = histogram(
      "llamawrapper_model_load_seconds",
      "Cold start of one instance: spawn to ready.",
      ["model"],
      LOAD_BUCKETS,
    );
    this.#promptTokens = fastCounter(
      "llamawrapper_prompt_tokens_total",
      "Prompt tokens of answers llama-server produced (cache hits not counted).",
      ["model"],
    );
    this.#completionTokens = fastCounter(
      "llamawrapper_completion_tokens_total",
      "Completion tokens of answers llama-server produced (cache hits not counted).",
      ["model"],
    );
    this.#cachedTokens = fastCounter(
      "llamawrapper_cached_prompt_tokens_total",
      "Prompt tokens llama-server took from its KV cache instead of evaluating them.",
      ["model"],
    );
    this.#speed = fastHistogram(
      "llamawrapper_generation_tokens_per_second",
      "Generation speed of one answer, from llama-server's own timings.",
      ["model"],
      SPEED_BUCKETS,
    );
    this.#rejections = fastCounter(
      "llamawrapper_rejections_total",
      "Requests refused before reaching a model, by reason.",
      ["reason"],
    );
    this.#crashes = counter("llamawrapper_instance_crashes_total", "llama-server children that crashed.", [
      "model",
    ]);
    this.#restarts = counter("llamawrapper_instance_restarts_total", "Restarts scheduled after a crash.", [
      "model",
    ]);
    this.#loadFailures = counter(
      "llamawrapper_model_load_failures_total",
      "Instances that failed to start (exited or timed out before ready).",
      ["model"],
    );
    this.#unloads = counter(
      "llamawrapper_model_unloads_total",
      "Models unloaded, by reason: evicted (to make room), ttl, admin, removed or replaced by a reload.",
      ["model", "reason"],
    );
    this.#routes = fastCounter(
      "llamawrapper_route_decisions_total",
      "Requests of models that route by conversation, by where they went and why: affinity, least-busy, spilled, restored, recomputed (X-Gateway-Route).",
      ["model", "reason"],
    );
    this.#llamaSkipped = counter(
      "llamawrapper_llamacpp_scrape_skipped_total",
      "Children left out of a /metrics scrape (slow, dead or refusing): their llamacpp:* series were missing from it.",
      ["model"],
    );
  }

  llamaSkipped(model: string): void {
    this.#llamaSkipped.inc({ model });
  }

  /** The registry every series goes in (a list, as prom-client's options take it). */
  get registers(): Registry[] {
    return [this.prometheus];
  }

  request(record: RequestRecord): void {
    const model = record.model ?? NONE;
    const route = record.route ?? "unmatched";
    this.#requests.inc(1, route, model, statusClass(record.status), record.cache ?? "none");
    this.#duration.observe(seconds(record.durationMs), route, model);
    const reason = record.errorCode === null ? undefined : REJECTIONS[record.errorCode];
    if (reason !== undefined) this.#rejections.inc(1, reason);
    if (record.model === null) return;
    // X-Gateway-Route's value ends with `reason=<one of a closed set>`.
    if (record.routing !== null)
      this.#routes.inc(1, model, record.routing.slice(record.routing.lastIndexOf("=") + 1));
    if (record.stream && record.ttfbMs !== null) this.#ttft.observe(seconds(record.ttfbMs), model);
    if (record.queueMs !== null) this.#queueWait.observe(seconds(record.queueMs), model);
    if (record.upstreamMs !== null) this.#upstream.observe(seconds(record.upstreamMs), model);
    if (record.cache !== "hit" && record.usage !== null) {
      this.#promptTokens.inc(record.usage.promptTokens, model);
      this.#completionTokens.inc(record.usage.completionTokens, model);
      this.#cachedTokens.inc(record.usage.cachedTokens, model);
    }
    if (record.cache !== "hit" && record.tokensPerSecond !== null)
      this.#speed.observe(record.tokensPerSecond, model);
  }

  supervisor(model: string, event: SupervisorEvent, now = performance.now()): void {
    switch (event.type) {
      case "state":
        if (event.to === "starting") this.#starting.set(event.name, now);
        else if (event.to === "ready") {
          const started = this.#starting.get(event.name);
          if (started !== undefined) this.#load.observe({ model }, seconds(now - started));
          this.#starting.delete(event.name);
        } else this.#starting.delete(event.name);
        return;
      case "crashed":
        this.#crashes.inc({ model });
        if (event.restartInMs !== null) this.#restarts.inc({ model });
        return;
      case "load-failed":
        this.#loadFailures.inc({ model });
        return;
      default:
        return;
    }
  }

  unloaded(model: string, reason: UnloadReason): void {
    this.#unloads.inc({ model, reason });
  }

  /** A gauge read at scrape time; `read` sets its values (after reset: gone series vanish). */
  gauge(name: string, help: string, labelNames: string[], read: (gauge: Gauge) => void): void {
    new Gauge({
      name,
      help,
      labelNames,
      registers: this.registers,
      collect() {
        this.reset();
        read(this);
      },
    });
  }

  /**
   * A counter whose total lives elsewhere (the cache's own counters), read at scrape time: it
   * rises by what the source rose since the last scrape; a source that restarted from zero
   * (a new cache after a reload) adds its whole value again, so the counter never goes down.
   */
  sourcedCounter(name: string, help: string, read: () => number): void {
    let last = 0;
    new Counter({
      name,
      help,
      registers: this.registers,
      collect() {
        const value = read();
        this.inc(value >= last ? value - last : value);
        last = value;
      },
    });
  }
}
