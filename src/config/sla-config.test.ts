import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConfig } from "./load.js";
import type { ConfigResult, GatewayConfig } from "./types.js";

const options = { baseDir: "/srv/llw", env: {}, source: null, checkFiles: false } as const;

function configOf(result: ConfigResult): GatewayConfig {
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

test("a model's sla fields replace the defaults one by one; null turns an objective off", () => {
  const config = configOf(
    parseConfig(
      `sla: { ttft: 2s, latency: 30s, availability: 0.99, window: 1h }
models:
  a: { model: a.gguf }
  b: { model: b.gguf, sla: { ttft: 500ms, availability: 0.999 } }
  c: { model: c.gguf, sla: { latency: null, window: 10m } }
`,
      options,
    ),
  );
  assert.deepEqual(config.models.a?.sla, {
    ttftMs: 2000,
    latencyMs: 30_000,
    availability: 0.99,
    windowMs: 3_600_000,
  });
  assert.deepEqual(config.models.b?.sla, {
    ttftMs: 500,
    latencyMs: 30_000,
    availability: 0.999,
    windowMs: 3_600_000,
  });
  assert.deepEqual(config.models.c?.sla, {
    ttftMs: 2000,
    latencyMs: null,
    availability: 0.99,
    windowMs: 600_000,
  });
});

test("sla values out of range are refused with their path", () => {
  const result = parseConfig(
    "sla: { availability: 1 }\nmodels:\n  a: { model: a.gguf, sla: { ttft: fast, window: 1s } }\n",
    options,
  );
  assert.equal(result.ok, false);
  if (result.ok) return;
  const paths = result.problems.map((problem) => problem.path).sort();
  assert.deepEqual(paths, ["models.a.sla.ttft", "models.a.sla.window", "sla.availability"]);
});

test("metrics: true turns on the child's Prometheus endpoint through its environment", () => {
  const config = configOf(
    parseConfig(
      "models:\n  a: { model: a.gguf, metrics: true, env: { X: '1' } }\n  b: { model: b.gguf }\n",
      options,
    ),
  );
  assert.deepEqual(config.models.a?.env, { X: "1", LLAMA_ARG_ENDPOINT_METRICS: "1" });
  assert.equal(config.models.a?.metrics, true);
  assert.deepEqual(config.models.b?.env, {});
});
