import type { Handler } from "../http/context.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import { type ScrapeResult, type ScrapeTarget, scrapeLlamaMetrics } from "./llama-scrape.js";

export interface MetricsRouteDeps {
  readonly metrics: GatewayMetrics;
  /** Ready children of models with `metrics: true`, fetched at scrape time. */
  readonly llamaTargets: () => ScrapeTarget[];
  /** How long one scrape waits for the children before it answers without the slow ones. */
  readonly llamaTimeoutMs: number;
  /** A child skipped in a scrape (slow, dead, refused). */
  readonly onSkipped: (model: string) => void;
}

const OPENMETRICS = "application/openmetrics-text";
const EOF_LINE = "# EOF\n";

/**
 * GET /metrics: the gateway's registry, in Prometheus text or, when the scraper asks for it
 * in `Accept`, OpenMetrics; then every ready child's llamacpp:* series (models with
 * `metrics: true`), relabelled with model and instance. Children are fetched in parallel with
 * a short deadline: a slow or dead one is left out and counted, never holding the scrape.
 */
export function metricsHandler(deps: MetricsRouteDeps): Handler {
  return async (ctx) => {
    const openMetrics = (ctx.req.headers.accept ?? "").includes(OPENMETRICS);
    const registry = openMetrics ? deps.metrics.openMetrics : deps.metrics.prometheus;
    const targets = deps.llamaTargets();
    const [own, llama] = await Promise.all([
      registry.metrics(),
      targets.length === 0
        ? null
        : scrapeLlamaMetrics(targets, { timeoutMs: deps.llamaTimeoutMs }).catch(() => null),
    ]);
    for (const failure of llama?.failed ?? []) deps.onSkipped(failure.model);
    const body = openMetrics ? withOpenMetrics(own, llama) : llama === null ? own : own + llama.text;
    ctx.res.writeHead(200, {
      "content-type": registry.contentType,
      "content-length": Buffer.byteLength(body),
    });
    ctx.res.end(body);
  };
}

/**
 * llama.cpp's series inside an OpenMetrics exposition: before its `# EOF`, typed `unknown`
 * (llama.cpp's counters do not follow OpenMetrics' counter naming, e.g. `n_tokens_max`).
 */
function withOpenMetrics(own: string, llama: ScrapeResult | null): string {
  if (llama === null || llama.text === "") return own;
  const head = own.endsWith(EOF_LINE) ? own.slice(0, -EOF_LINE.length) : own;
  const series = llama.text.replace(/^# TYPE (\S+) \S+$/gm, "# TYPE $1 unknown");
  return `${head}${series.endsWith("\n") ? series : `${series}\n`}${EOF_LINE}`;
}
