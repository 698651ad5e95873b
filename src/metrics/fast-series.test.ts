import assert from "node:assert/strict";
import { test } from "node:test";
import { Counter, Histogram, Registry, type RegistryContentType } from "prom-client";
import { FastCounter, FastHistogram } from "./fast-series.js";

const BOUNDS = [0.005, 0.1, 1, 10];

test("a fast counter and histogram render exactly as prom-client's own, in both formats", async () => {
  const theirs = new Registry<RegistryContentType>();
  const ours = new Registry<RegistryContentType>();
  const counter = new Counter({
    name: "c_total",
    help: "A counter.",
    labelNames: ["route", "model"],
    registers: [theirs],
  });
  const histogram = new Histogram({
    name: "h_seconds",
    help: "A histogram.",
    labelNames: ["model"],
    buckets: BOUNDS,
    registers: [theirs],
  });
  const fastCounter = new FastCounter(ours, "c_total", "A counter.", ["route", "model"]);
  const fastHistogram = new FastHistogram(ours, "h_seconds", "A histogram.", ["model"], BOUNDS);
  const observations: Array<[string, number]> = [
    ["a", 0.001],
    ["a", 0.005],
    ["b", 0.5],
    ["a", 3],
    ["b", 100],
    ["a", 0.1],
  ];
  for (const [model, value] of observations) {
    histogram.observe({ model }, value);
    fastHistogram.observe(value, model);
    counter.inc({ route: "/v1/chat", model }, 2);
    fastCounter.inc(2, "/v1/chat", model);
  }
  counter.inc({ route: "/v1/embeddings", model: 'we"ird\\' });
  fastCounter.inc(1, "/v1/embeddings", 'we"ird\\');
  assert.equal(await ours.metrics(), await theirs.metrics());
  theirs.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  ours.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  assert.equal(await ours.metrics(), await theirs.metrics());
  // The JSON view (what the registry's other readers get) matches too.
  assert.deepEqual(
    JSON.parse(JSON.stringify(await ours.getMetricsAsJSON())),
    JSON.parse(JSON.stringify(await theirs.getMetricsAsJSON())),
  );
});

test("one series per label values; a value that is not finite is not counted", async () => {
  const registry = new Registry();
  const histogram = new FastHistogram(registry, "h", "h.", ["model"], BOUNDS);
  histogram.observe(Number.NaN, "m");
  histogram.observe(Number.POSITIVE_INFINITY, "m");
  histogram.observe(0.2, "m");
  histogram.observe(0.2, "m");
  const text = await registry.metrics();
  assert.match(text, /^h_count\{model="m"\} 2$/m);
  assert.match(text, /^h_bucket\{le="0.1",model="m"\} 0$/m);
  assert.match(text, /^h_bucket\{le="1",model="m"\} 2$/m);
  histogram.reset();
  assert.doesNotMatch(await registry.metrics(), /model="m"/);
});
