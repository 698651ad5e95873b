// Scenario 8's measuring process (started by s8-metrics-cost.ts, one fresh Node per run, as the
// gateway is): the CPU time of what every finished request runs for metrics, SLA tracking and
// the request history, in process, on the modules of the gateway build the run measures.
// Prints one JSON object (S8Measured) on stdout.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import pino from "pino";
import type { RequestRecord } from "../../src/http/request-record.js";
import type { ObservedState } from "../../src/runtime/observability.js";
import type { ModelGroup } from "../../src/scheduler/model-group.js";
import { requestRecord } from "../../test/support/request-record.js";
import type { S8Kind, S8Measure, S8Measured, S8WorkerOptions } from "./s8-metrics-cost.js";

type LoadModule = typeof import("../../src/config/load.js");
type ObservabilityModule = typeof import("../../src/runtime/observability.js");

const options = JSON.parse(process.argv[2] ?? "{}") as S8WorkerOptions;
const load = (await import(
  pathToFileURL(join(options.modules, `config/load${options.ext}`)).href
)) as LoadModule;
const { Observability } = (await import(
  pathToFileURL(join(options.modules, `runtime/observability${options.ext}`)).href
)) as ObservabilityModule;

/** As many models as a busy gateway serves: each gets its own series in the registry. */
const MODELS = Array.from({ length: options.models }, (_, i) => `model-${i}`);
const configText = [
  // Objectives set, so SlaTracker.record takes every comparison (the defaults have none).
  "sla: { ttft: 2s, latency: 30s }",
  "models:",
  ...MODELS.map((id) => `  ${id}: { model: ${id}.gguf }`),
  "",
].join("\n");
const parsed = load.parseConfig(configText, { baseDir: "/srv", env: {}, source: null, checkFiles: false });
if (!parsed.ok) throw new Error("s8: the config did not parse");
const config = parsed.config;

const cacheStats = {
  enabled: true,
  store: "memory" as const,
  maxEntries: 1000,
  maxBytes: 64 * 2 ** 20,
  maxEntryBytes: 2 ** 20,
  ttlMs: 3_600_000,
  entries: 120,
  bytes: 480_000,
  evictions: 3,
  expirations: 7,
  errors: 0,
  hits: 900,
  misses: 400,
  bypasses: 50,
  coalesced: 12,
  stored: 380,
  waiting: 0,
};

/** What the scrape-time gauges read of a model group; each model has one ready instance. */
const groups = MODELS.map(
  (id) =>
    ({
      id,
      resident: true,
      waiting: 0,
      instances: () => [{ name: `${id}#0`, state: "ready", inFlight: 0 }],
      failure: () => null,
    }) as unknown as ModelGroup,
);
const state: ObservedState = {
  config: () => config,
  groups: () => groups,
  cache: () => cacheStats,
  inFlight: () => 3,
};
const observability = new Observability(config, state, pino({ level: "silent" }));
const history = observability.history;
if (history === null) throw new Error("s8: the default config has no request history");

/** Request ids as the gateway makes them (a UUID per request). */
const IDS = Array.from({ length: 4096 }, () => crypto.randomUUID());

function record(over: Partial<RequestRecord>): RequestRecord {
  return requestRecord({
    requestId: IDS[0] as string,
    at: Date.now(),
    durationMs: 812.4,
    ttfbMs: 48.2,
    queueMs: 0.3,
    upstreamMs: 811.7,
    model: MODELS[0] as string,
    instance: `${MODELS[0]}#0`,
    keyName: "bench",
    usage: { promptTokens: 412, completionTokens: 128, cachedTokens: 384 },
    tokensPerSecond: 161.5,
    cache: "miss",
    stream: true,
    // The client's own text, kept for the history and the dashboard (never a label).
    modelAsked: "model-0",
    userAgent: "OpenAI/Python 1.54.0",
    ...over,
  });
}

/** The three records the scenario times, as the HTTP layer builds them for such requests. */
const TEMPLATES: Record<Exclude<S8Kind, "mixed">, RequestRecord> = {
  // A streamed chat completion that reached llama-server: every histogram and token counter.
  stream: record({}),
  // A non-streamed answer replayed from the response cache: no upstream, usage counted as a hit.
  hit: record({
    durationMs: 0.4,
    ttfbMs: null,
    queueMs: null,
    upstreamMs: null,
    instance: null,
    usage: { promptTokens: 412, completionTokens: 128, cachedTokens: 0 },
    tokensPerSecond: null,
    cache: "hit",
    stream: false,
  }),
  // A model the config does not have: 404, no model label, not the SLA's business.
  client4xx: record({
    status: 404,
    durationMs: 0.2,
    ttfbMs: null,
    queueMs: null,
    upstreamMs: null,
    model: null,
    instance: null,
    usage: null,
    tokensPerSecond: null,
    cache: null,
    errorCode: "model_not_found",
    modelAsked: "gpt-4o",
    stream: false,
  }),
};

/**
 * Pools of distinct record objects (own request ids, models spread over the config), built
 * before timing so the timed loops allocate nothing of their own; "mixed" rotates the three.
 */
const POOL = 1024;
function pool(kind: S8Kind): RequestRecord[] {
  const kinds = kind === "mixed" ? (["stream", "hit", "client4xx"] as const) : [kind];
  return Array.from({ length: POOL }, (_, i) => {
    const template = TEMPLATES[kinds[i % kinds.length] as Exclude<S8Kind, "mixed">];
    const model = template.model === null ? null : (MODELS[i % MODELS.length] as string);
    return { ...template, requestId: IDS[i % IDS.length] as string, model };
  });
}

// The registry as a gateway that served every model for a while has it: each model's series
// for chat and text completions, streamed and not, misses, hits, 5xx and clients that left.
for (const model of MODELS) {
  for (const route of ["/v1/chat/completions", "/v1/completions"]) {
    observability.request({ ...TEMPLATES.stream, model, route });
    observability.request({ ...TEMPLATES.stream, model, route, stream: false, cache: "bypass" });
    observability.request({ ...TEMPLATES.hit, model, route });
    observability.request({ ...TEMPLATES.stream, model, route, status: 499, errorCode: "client_closed" });
    observability.request({ ...TEMPLATES.client4xx, model, route, status: 503, errorCode: "queue_full" });
  }
}
observability.request(TEMPLATES.client4xx);
observability.request({ ...TEMPLATES.client4xx, route: null, status: 401, errorCode: "invalid_api_key" });

const PARTS: Record<S8Measure, (r: RequestRecord) => void> = {
  metrics: (r) => observability.metrics.request(r),
  sla: (r) => observability.sla.record(r),
  history: (r) => history.add(r),
  total: (r) => observability.request(r),
};

interface Timing {
  readonly cpuUs: number;
  readonly wallUs: number;
}

function timeLoop(calls: number, body: (i: number) => void): Timing {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < calls; i++) body(i);
  const wallUs = (performance.now() - start) * 1000;
  const used = process.cpuUsage(cpu);
  return { cpuUs: (used.user + used.system) / calls, wallUs: wallUs / calls };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const KINDS: readonly S8Kind[] = ["stream", "hit", "client4xx", "mixed"];
const MEASURES: readonly S8Measure[] = ["metrics", "sla", "history", "total"];
const pools = new Map(KINDS.map((kind) => [kind, pool(kind)]));

/** The same loop with a new record object per call: what allocation and the ring's retention add. */
let sink: RequestRecord | null = null;
const freshTemplate = TEMPLATES.stream;
const fresh = {
  baseline: (i: number) => {
    sink = {
      ...freshTemplate,
      requestId: IDS[i & 4095] as string,
      model: MODELS[i % MODELS.length] as string,
    };
  },
  total: (i: number) => {
    const r = {
      ...freshTemplate,
      requestId: IDS[i & 4095] as string,
      model: MODELS[i % MODELS.length] as string,
    };
    observability.request(r);
    sink = r;
  },
};

type Loop = { key: string; body: (i: number) => void };
const loops: Loop[] = [];
for (const kind of KINDS) {
  const records = pools.get(kind) as RequestRecord[];
  for (const measure of MEASURES) {
    const call = PARTS[measure];
    loops.push({ key: `${kind}/${measure}`, body: (i) => call(records[i & (POOL - 1)] as RequestRecord) });
  }
}
loops.push({ key: "fresh/baseline", body: fresh.baseline });
loops.push({ key: "fresh/total", body: fresh.total });

// Warm-up: every loop, long enough for V8 to optimize what it calls.
for (const loop of loops) timeLoop(options.warmupCalls, loop.body);

const samples = new Map<string, Timing[]>(loops.map((l) => [l.key, []]));
for (let round = 0; round < options.rounds; round++) {
  // Rotated each round, so a drift of the machine spreads over all the loops.
  for (let j = 0; j < loops.length; j++) {
    const loop = loops[(j + round) % loops.length] as Loop;
    (samples.get(loop.key) as Timing[]).push(timeLoop(options.calls, loop.body));
  }
}
if (sink === null) throw new Error("unreachable");

const summary = (key: string) => {
  const list = samples.get(key) as Timing[];
  return {
    cpuUs: median(list.map((t) => t.cpuUs)),
    wallUs: median(list.map((t) => t.wallUs)),
    cpuUsPerRound: list.map((t) => t.cpuUs),
  };
};

// One /metrics render, as the route does it: the Prometheus text of every series.
let text = "";
for (let i = 0; i < options.renderWarmup; i++) text = await observability.metrics.prometheus.metrics();
const renderRounds: Timing[] = [];
for (let round = 0; round < options.rounds; round++) {
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < options.renders; i++) text = await observability.metrics.prometheus.metrics();
  const wallUs = (performance.now() - start) * 1000;
  const used = process.cpuUsage(cpu);
  renderRounds.push({ cpuUs: (used.user + used.system) / options.renders, wallUs: wallUs / options.renders });
}
const lines = text.split("\n").filter((line) => line !== "" && !line.startsWith("#"));

const result: S8Measured = {
  node: process.version,
  historyCapacity: history.capacity,
  kinds: Object.fromEntries(
    KINDS.map((kind) => [kind, Object.fromEntries(MEASURES.map((m) => [m, summary(`${kind}/${m}`)]))]),
  ) as unknown as S8Measured["kinds"],
  fresh: { baseline: summary("fresh/baseline"), total: summary("fresh/total") },
  render: {
    cpuUs: median(renderRounds.map((t) => t.cpuUs)),
    wallUs: median(renderRounds.map((t) => t.wallUs)),
    cpuUsPerRound: renderRounds.map((t) => t.cpuUs),
    bytes: Buffer.byteLength(text),
    samples: lines.length,
    gatewaySamples: lines.filter((line) => line.startsWith("llamawrapper_")).length,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
