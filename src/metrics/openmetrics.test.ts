import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayMetrics } from "./gateway-metrics.js";
import { toOpenMetrics } from "./openmetrics.js";

test("counter families lose _total in OpenMetrics, samples keep it, and the text ends with # EOF", () => {
  const text = [
    "# HELP a_total A counter.",
    "# TYPE a_total counter",
    'a_total{x="1"} 3',
    "",
    "# HELP g_total A gauge that happens to end in _total.",
    "# TYPE g_total gauge",
    "g_total 2",
    "",
    "# HELP llamacpp:n_tokens_max llama.cpp's.",
    "# TYPE llamacpp:n_tokens_max counter",
    'llamacpp:n_tokens_max{model="m"} 9',
    "",
  ].join("\n");
  const out = toOpenMetrics(text, (family) => family.startsWith("llamacpp:"));
  assert.equal(
    out,
    [
      "# HELP a A counter.",
      "# TYPE a counter",
      'a_total{x="1"} 3',
      "# HELP g_total A gauge that happens to end in _total.",
      "# TYPE g_total gauge",
      "g_total 2",
      "# HELP llamacpp:n_tokens_max llama.cpp's.",
      "# TYPE llamacpp:n_tokens_max unknown",
      'llamacpp:n_tokens_max{model="m"} 9',
      "# EOF",
      "",
    ].join("\n"),
  );
});

test("an OpenMetrics scrape leaves the Prometheus text as it was", async () => {
  const metrics = new GatewayMetrics();
  metrics.llamaSkipped("x");
  const before = await metrics.prometheus.metrics();
  toOpenMetrics(before);
  const after = await metrics.prometheus.metrics();
  assert.match(after, /^llamawrapper_llamacpp_scrape_skipped_total\{model="x"\} 1$/m);
});
