import type { Dispatcher } from "undici";
import type { Handler } from "../http/context.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import { type ScrapeTarget, scrapeLlamaMetrics } from "./llama-scrape.js";
import { OPENMETRICS_CONTENT_TYPE, toOpenMetrics } from "./openmetrics.js";

export interface MetricsRouteDeps {
  readonly metrics: GatewayMetrics;
  /** Ready children of models with `metrics: true`, fetched at scrape time. */
  readonly llamaTargets: () => ScrapeTarget[];
  /** The shell's upstream pool: it reaches children on Unix sockets. */
  readonly dispatcher: Dispatcher;
  /** How long one scrape waits for the children before it answers without the slow ones. */
  readonly llamaTimeoutMs: number;
  /** A child skipped in a scrape (slow, dead, refused). */
  readonly onSkipped: (model: string) => void;
}

const OPENMETRICS = "application/openmetrics-text";
const LLAMA_FAMILY = "llamacpp:";

/**
 * GET /metrics: the gateway's registry, then every ready child's llamacpp:* series (models
 * with `metrics: true`), relabelled with model and instance; in Prometheus text or, when the
 * scraper asks for it in `Accept`, OpenMetrics. Children are fetched in parallel with a short
 * deadline first: a slow or dead one is left out and counted in this very scrape's numbers,
 * never holding it past the deadline.
 */
export function metricsHandler(deps: MetricsRouteDeps): Handler {
  return async (ctx) => {
    const openMetrics = (ctx.req.headers.accept ?? "").includes(OPENMETRICS);
    const targets = deps.llamaTargets();
    const llama =
      targets.length === 0
        ? null
        : await scrapeLlamaMetrics(targets, {
            timeoutMs: deps.llamaTimeoutMs,
            dispatcher: deps.dispatcher,
          }).catch(() => null);
    for (const failure of llama?.failed ?? []) deps.onSkipped(failure.model);
    const text = (await deps.metrics.prometheus.metrics()) + (llama?.text ?? "");
    const body = openMetrics ? toOpenMetrics(text, (family) => family.startsWith(LLAMA_FAMILY)) : text;
    ctx.res.writeHead(200, {
      "content-type": openMetrics ? OPENMETRICS_CONTENT_TYPE : deps.metrics.prometheus.contentType,
      "content-length": Buffer.byteLength(body),
    });
    ctx.res.end(body);
  };
}
