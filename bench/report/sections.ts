import { S5_LOADS, type S5Series } from "../scenarios/s5-cache.js";
import {
  S8_KIND_LABELS,
  S8_TARGET_US,
  type S8Kind,
  type S8Measure,
  s8PerRequestUs,
} from "../scenarios/s8-metrics-cost.js";
import { S9_AFFINITY_TARGET, S9_ROUND_ROBIN_TARGET } from "../scenarios/s9-affinity.js";
import type { Summary } from "../stats/summary.js";
import { mb, num, pct, ratio, signed, table } from "./format.js";
import type { BenchResults } from "./results.js";

const NOT_RUN = "_Not run in this run._";

interface Pcts {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

const KEYS = ["p50", "p90", "p99", "max"] as const;

/** The gateway with auth, rate limit, access log, cache and history off (systems/harness.ts). */
const MINIMUM = "gateway (minimum)";

/**
 * The table every latency gets: absolute percentiles per system, then the additions over direct
 * (nginx, the node floor, both gateways), what the features add (the full gateway over the
 * minimum one), and the full gateway's ratios to direct, nginx, the floor and the minimum.
 */
function latencyTable(systems: Record<string, Pcts>, unit: string, digits?: number): string {
  const rows: string[][] = [];
  for (const [name, s] of Object.entries(systems)) rows.push([name, ...KEYS.map((k) => num(s[k], digits))]);
  const direct = systems.direct;
  const nginx = systems.nginx;
  const floor = systems["node floor"];
  const gateway = systems.gateway;
  const minimum = systems[MINIMUM];
  if (direct && nginx)
    rows.push(["nginx − direct", ...KEYS.map((k) => signed(nginx[k] - direct[k], digits))]);
  if (direct && floor)
    rows.push(["node floor − direct", ...KEYS.map((k) => signed(floor[k] - direct[k], digits))]);
  if (direct && minimum)
    rows.push([`${MINIMUM} − direct`, ...KEYS.map((k) => signed(minimum[k] - direct[k], digits))]);
  if (direct && gateway)
    rows.push(["**gateway − direct**", ...KEYS.map((k) => `**${signed(gateway[k] - direct[k], digits)}**`)]);
  if (minimum && gateway)
    rows.push([
      `gateway − ${MINIMUM} (the features)`,
      ...KEYS.map((k) => signed(gateway[k] - minimum[k], digits)),
    ]);
  if (direct && gateway) rows.push(["gateway / direct", ...KEYS.map((k) => ratio(gateway[k], direct[k]))]);
  if (nginx && gateway) rows.push(["gateway / nginx", ...KEYS.map((k) => ratio(gateway[k], nginx[k]))]);
  if (floor && gateway) rows.push(["gateway / node floor", ...KEYS.map((k) => ratio(gateway[k], floor[k]))]);
  if (minimum && gateway)
    rows.push([`gateway / ${MINIMUM}`, ...KEYS.map((k) => ratio(gateway[k], minimum[k]))]);
  return table([unit, "p50", "p90", "p99", "max"], rows);
}

function pick<T>(systems: Record<string, T>, f: (t: T) => Summary | Pcts): Record<string, Pcts> {
  return Object.fromEntries(Object.entries(systems).map(([k, v]) => [k, f(v)]));
}

function other(cores: number): string {
  return `Other load on the machine meanwhile: ${num(cores)} cores.`;
}

export function s1Section(r: BenchResults): string {
  const s = r.s1;
  if (s === null) return NOT_RUN;
  return [
    `Chat completion, 16 tokens, not streamed; an open-loop client sends ${s.rate} requests/s on a fixed schedule for ${s.secondsPerRound} s per round, ${s.rounds} round(s) per system, after 1 s of warm-up. Latency is from writing the request to the last byte of the answer.`,
    latencyTable(
      pick(s.systems, (x) => x.latencyUs),
      "latency (µs)",
      0,
    ),
    "Measured from each request's scheduled send time instead (includes the client's own scheduling delays; a stall that delays later requests shows here):",
    latencyTable(
      pick(s.systems, (x) => x.scheduledLatencyUs),
      "latency (µs)",
      0,
    ),
    table(
      ["system", "answered 200", "errors", "rate achieved (req/s)"],
      Object.entries(s.systems).map(([k, v]) => [k, String(v.ok), String(v.errors), num(v.achievedRate)]),
    ),
    other(s.foreignCores),
  ].join("\n\n");
}

export function s2Section(r: BenchResults): string {
  const s = r.s2;
  if (s === null) return NOT_RUN;
  const nginx = s.systems.nginx;
  const direct = s.systems.direct;
  const rows = Object.entries(s.systems).map(([k, v]) => [
    k,
    num(v.requestsPerSecond),
    v.perRound.map((x) => num(x)).join(" / "),
    ratio(v.requestsPerSecond, direct?.requestsPerSecond),
    ratio(v.requestsPerSecond, nginx?.requestsPerSecond),
    ratio(v.requestsPerSecond, s.systems["node floor"]?.requestsPerSecond),
    String(v.errors),
    v.proxyCpuUsPerRequest === null ? "–" : num(v.proxyCpuUsPerRequest, 1),
    v.proxyCores === null ? "–" : num(v.proxyCores),
    v.backendCores === null ? "–" : num(v.backendCores),
  ]);
  return [
    `The same request, closed loop: ${s.tool}, ${s.connections} keep-alive connections, ${s.secondsPerRound} s per round after 1 s of warm-up, ${s.rounds} round(s); requests/s is the median of the rounds.`,
    table(
      [
        "system",
        "req/s",
        "per round",
        "/ direct",
        "/ nginx",
        "/ node floor",
        "errors",
        "proxy CPU µs / request",
        "proxy cores",
        "backend cores",
      ],
      rows,
    ),
    "Latency under that load (median of the rounds' percentiles):",
    latencyTable(
      pick(s.systems, (x) => x.latencyUs),
      "latency (µs)",
      0,
    ),
    "`backend cores` near 1.0 means the single-threaded fake was saturated: for `direct` the fake, not the network path, is the ceiling.",
    ...s2FeaturesLine(s.systems),
    other(s.foreignCores),
  ].join("\n\n");
}

/** Scenario 2: what the features cost, the full gateway against the minimum one, when both ran. */
function s2FeaturesLine(systems: NonNullable<BenchResults["s2"]>["systems"]): string[] {
  const full = systems.gateway;
  const min = systems[MINIMUM];
  if (full === undefined || min === undefined) return [];
  const cpu =
    full.proxyCpuUsPerRequest === null || min.proxyCpuUsPerRequest === null
      ? ""
      : `, ${signed(full.proxyCpuUsPerRequest - min.proxyCpuUsPerRequest, 1)} µs of CPU per request (${num(full.proxyCpuUsPerRequest, 1)} against ${num(min.proxyCpuUsPerRequest, 1)})`;
  return [
    `The features (auth, rate limit, access log, response cache on its miss path, request history), full \`gateway\` against \`${MINIMUM}\`: ${ratio(full.requestsPerSecond, min.requestsPerSecond)} the throughput${cpu}.`,
  ];
}

export function s3Section(r: BenchResults): string {
  const s = r.s3;
  if (s === null) return NOT_RUN;
  return [
    `Chat completion streamed: ${s.tokens} tokens, one every ${s.tokenDelayMs} ms from the fake, ${s.concurrency} streams at a time.`,
    "Time to first token (request written → first content token):",
    latencyTable(
      pick(s.systems, (x) => x.ttftMs),
      "ms",
      3,
    ),
    "Gap between consecutive tokens as the client receives them (a proxy that buffers would show bunched tokens: more 0 gaps and longer maxima):",
    latencyTable(
      pick(s.systems, (x) => x.gapMs),
      "ms",
      3,
    ),
    "Time to the response headers:",
    latencyTable(
      pick(s.systems, (x) => x.ttfbMs),
      "ms",
      3,
    ),
    table(
      ["system", "streams", "correct", "errors"],
      Object.entries(s.systems).map(([k, v]) => [
        k,
        String(v.streams),
        String(v.correct),
        v.errors.join("; ") || "none",
      ]),
    ),
    other(s.foreignCores),
  ].join("\n\n");
}

export function s4Section(r: BenchResults): string {
  const s = r.s4;
  if (s === null) return NOT_RUN;
  return [
    `${s.streams} streams opened at once, each on its own connection, ${s.tokens} tokens at one per ${s.tokenDelayMs} ms. A stream is correct when its content is exactly the fake's and it ends with \`[DONE]\`.`,
    table(
      [
        "system",
        "completed",
        "correct",
        "errors",
        "wall (s)",
        "proxy peak RSS",
        "proxy RSS after",
        "proxy CPU (s)",
        "proxy cores",
        "backend cores",
      ],
      Object.entries(s.systems).map(([k, v]) => [
        k,
        `${v.completed}/${v.streams}`,
        String(v.correct),
        v.errors.join("; ") || "none",
        num(v.wallMs / 1000),
        mb(v.proxyPeakRssBytes),
        mb(v.proxyRssAfterBytes),
        v.proxyCpuSeconds === null ? "–" : num(v.proxyCpuSeconds),
        v.proxyCores === null ? "–" : num(v.proxyCores),
        v.backendCores === null ? "–" : num(v.backendCores),
      ]),
    ),
    "Time to first token:",
    latencyTable(
      pick(s.systems, (x) => x.ttftMs),
      "ms",
      1,
    ),
    "Gap between tokens:",
    latencyTable(
      pick(s.systems, (x) => x.gapMs),
      "ms",
      2,
    ),
    other(s.foreignCores),
  ].join("\n\n");
}

const S5_LABELS = {
  direct: "direct (the fake itself)",
  miss: "gateway, MISS (a new prompt each time)",
  hit: "**gateway, HIT**",
} as const;

/** "2000/2000 HIT": how many measured answers carried the X-Cache their row claims. */
function s5Checked(s: S5Series): string {
  const what = s.expectedCache === null ? "right content" : `${s.expectedCache}`;
  const wrong = Object.entries(s.problems).map(([label, n]) => `${n}× ${label}`);
  return `${s.ok}/${s.latencyUs.n} ${what}${wrong.length > 0 ? ` (${wrong.join(", ")})` : ""}`;
}

function s5Table(kind: Record<(typeof S5_LOADS)[number], S5Series>): string {
  const rows: string[][] = S5_LOADS.map((k) => {
    const s = kind[k];
    return [
      S5_LABELS[k],
      ...KEYS.map((p) => num(s.latencyUs[p], 0)),
      s5Checked(s),
      s.gatewayCpuUsPerRequest === null ? "–" : num(s.gatewayCpuUsPerRequest, 0),
    ];
  });
  const { direct, miss, hit } = kind;
  const diff = (label: string, a: S5Series, b: S5Series) => [
    label,
    ...KEYS.map((p) => signed(a.latencyUs[p] - b.latencyUs[p], 0)),
    "",
    "",
  ];
  const quotient = (label: string, a: S5Series, b: S5Series) => [
    label,
    ...KEYS.map((p) => ratio(a.latencyUs[p], b.latencyUs[p])),
    "",
    "",
  ];
  rows.push(diff("miss − direct (the gateway on the way)", miss, direct));
  rows.push(diff("hit − direct", hit, direct));
  rows.push(quotient("**hit / direct**", hit, direct));
  rows.push(quotient("**hit / miss**", hit, miss));
  return table(["latency (µs)", "p50", "p90", "p99", "max", "checked", "gateway CPU µs / request"], rows);
}

export function s5Section(r: BenchResults): string {
  const s = r.s5 ?? null;
  if (s === null) return NOT_RUN;
  const b = s.backToBack;
  return [
    `The gateway answering from its response cache (\`X-Cache: HIT\`, llama-server not asked): a \`temperature: 0\` chat request of ${s.tokens} tokens, stored by one MISS before the rounds (the streamed one by a streamed MISS, a prompt of its own), sent again at ${s.rate} requests/s on a fixed schedule (open loop, as in scenario 1) for ${s.secondsPerRound} s per round after ${s.warmupMs / 1000} s of warm-up, ${s.rounds} round(s) of each load, the loads interleaved. For reference in the same rounds: the same request sent to the fake directly, and a MISS through the gateway (a new prompt every request, so each reaches the fake and is recorded and stored). Latency is from writing the request to the last byte of the answer. Every answer is checked after it is timed: its content, and for the gateway its \`X-Cache\` header; one answer that is not what its row claims fails the scenario.`,
    "Non-streamed (JSON):",
    s5Table(s.json),
    'Streamed (`"stream": true`; to the last byte, after `data: [DONE]`; a hit is the stored answer replayed as SSE):',
    s5Table(s.stream),
    `Back to back instead (one connection, each request sent when the previous answer is complete; ${b.secondsPerRound} s per round after ${b.warmupMs / 1000} s of warm-up): the warm path, without the wake-ups an idle gap between requests costs.`,
    table(
      ["latency (µs)", "p50", "p90", "p99", "max", "checked"],
      [
        [S5_LABELS.direct, ...KEYS.map((p) => num(b.direct.latencyUs[p], 0)), s5Checked(b.direct)],
        [S5_LABELS.hit, ...KEYS.map((p) => num(b.hit.latencyUs[p], 0)), s5Checked(b.hit)],
        ["**hit / direct**", ...KEYS.map((p) => ratio(b.hit.latencyUs[p], b.direct.latencyUs[p])), ""],
      ],
    ),
    `\`gateway CPU µs / request\`: CPU time of the gateway process while a load ran, divided by the requests it sent (warm-up included), median of the rounds; /proc counts in 10 ms ticks, about ±${num(10_000 / Math.max(1, s.json.hit.sent / s.rounds), 0)} µs per request here.`,
    other(s.foreignCores),
  ].join("\n\n");
}

function ms(s: Summary): string[] {
  return [num(s.p50, 1), num(s.p90, 1), num(s.max, 1), String(s.n)];
}

export function s6Section(r: BenchResults): string {
  const s = r.s6;
  if (s === null) return NOT_RUN;
  if ("skipped" in s) return `_Skipped: ${s.skipped}._`;
  const rows = [
    ["llama-server by hand: spawn → /health 200 (polled every 5 ms)", ...ms(s.healthyMs)],
    ["fresh llama-server, its first request: request → first token", ...ms(s.firstTtftMs)],
    ["the same llama-server, later requests (prompt cached)", ...ms(s.warmTtftMs)],
    ["gateway, model unloaded: request → first token", ...ms(s.coldTtftMs)],
    ["**readiness cost** = cold − healthy − first request (medians)", ...ms(s.readinessCostMs)],
    ["warm swap (maxLoadedModels: 1): request → first token", ...ms(summaryOf(s.swaps.map((x) => x.ttftMs)))],
    ["**swap cost** = swap − healthy − first request", ...ms(s.swapCostMs)],
  ];
  const swapRows = s.swaps.map((x, i) => [
    String(i + 1),
    num(x.ttftMs, 1),
    num(x.costMs, 1),
    x.stopMs === null ? "–" : String(x.stopMs),
    x.loadMs === null ? "–" : String(x.loadMs),
  ]);
  return [
    `The real llama-server (\`${s.llamaServer}\`) on the tiny model (${mb(s.modelBytes)}), \`-c 1024 -np 1\`, streaming chat of 4 tokens.`,
    table(["ms", "p50", "p90", "max", "n"], rows),
    "Each swap, with the gateway's own account from its log (old model stopping → stopped, new model starting → ready; ms resolution):",
    table(["swap", "first token (ms)", "cost (ms)", "old model stop (ms)", "new model load (ms)"], swapRows),
  ].join("\n\n");
}

function summaryOf(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  return {
    n: sorted.length,
    mean: Number.NaN,
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export function idleSection(r: BenchResults): string {
  const idle = r.idle;
  const s4 = r.s4?.systems;
  const rows: string[][] = [];
  if (idle) {
    rows.push(["gateway just started (no model loaded)", mb(idle.atStart)]);
    rows.push([
      "gateway idle after the warm-up (children started, pools warm; 25 s idle, then RSS settled)",
      mb(idle.afterWarmup),
    ]);
    if (idle.afterS4 !== null)
      rows.push(["gateway idle after scenario 4 (25 s idle, then RSS settled)", mb(idle.afterS4)]);
  }
  if (s4?.gateway)
    rows.push(["gateway peak under scenario 4 (1000 streams)", mb(s4.gateway.proxyPeakRssBytes)]);
  if (s4?.[MINIMUM])
    rows.push([
      `${MINIMUM} peak under scenario 4 (same build, features off)`,
      mb(s4[MINIMUM].proxyPeakRssBytes),
    ]);
  if (s4?.nginx) rows.push(["nginx (master + worker) peak under scenario 4", mb(s4.nginx.proxyPeakRssBytes)]);
  if (rows.length === 0) return NOT_RUN;
  const startup =
    r.gatewayStartupMs === null
      ? ""
      : `\n\nGateway start (spawn → "listening"): ${num(r.gatewayStartupMs, 0)} ms.`;
  return `Resident set size of the gateway process (its children not included).\n\n${table(["when", "RSS"], rows)}${startup}`;
}

/** Scenario 2's gateway CPU per request in the same run, when it ran. */
export function s2GatewayCpuUs(r: BenchResults): number | null {
  return r.s2?.systems.gateway?.proxyCpuUsPerRequest ?? null;
}

const S8_KINDS: readonly S8Kind[] = ["stream", "hit", "client4xx", "mixed"];
const S8_PARTS: readonly S8Measure[] = ["metrics", "sla", "history"];

export function s8Section(r: BenchResults): string {
  const s = r.s8 ?? null;
  if (s === null) return NOT_RUN;
  const s2 = s2GatewayCpuUs(r);
  const share = (us: number) => (s2 === null ? "–" : pct(us / s2));
  const us = (v: number) => num(v, 2);
  const rows = S8_KINDS.map((kind) => {
    const k = s.kinds[kind];
    const sum = S8_PARTS.reduce((n, part) => n + k[part].cpuUs, 0);
    return [
      S8_KIND_LABELS[kind],
      ...S8_PARTS.map((part) => us(k[part].cpuUs)),
      us(sum),
      `**${us(k.total.cpuUs)}**`,
      us(k.total.wallUs),
      share(k.total.cpuUs),
    ];
  });
  const fresh = s.fresh.total.cpuUs - s.fresh.baseline.cpuUs;
  rows.push([
    "streamed chat, a new record object per call (allocation, GC and the ring's retention included; the building loop subtracted)",
    "",
    "",
    "",
    "",
    `**${us(fresh)}**`,
    us(s.fresh.total.wallUs - s.fresh.baseline.wallUs),
    share(fresh),
  ]);
  const perRequest = s8PerRequestUs(s);
  const render = s.render;
  const scrapeEvery = 15;
  return [
    `There is no switch to turn metrics off, so instead of a gateway with and one without, this measures directly what every finished request runs for them: \`Observability.request(record)\` (\`src/runtime/observability.ts\`), and each of its parts alone: \`GatewayMetrics.request\` (prom-client counters and histograms), \`SlaTracker.record\` (the sliding-window counts) and \`RequestHistory.add\` (the ring of the last ${s.historyCapacity}). In a fresh Node process (${s.node}) on the modules of the gateway this run measures (\`${s.source}\`), with the default config's history (memory only, no file) and ${s.models} models whose series were all filled first; SLA objectives for ttft and latency set, so every comparison runs. Each measure is ${num(s.calls)} calls after ${num(s.warmupCalls)} of warm-up, over a pool of 1,024 distinct records (own request ids, models spread over the ${s.models}); CPU time from \`process.cpuUsage()\` over the whole loop; median of ${s.rounds} rounds, the measures interleaved and rotated each round.`,
    table(
      [
        "µs per request (CPU)",
        "GatewayMetrics.request",
        "SlaTracker.record",
        "RequestHistory.add",
        "sum of parts",
        "Observability.request",
        "wall",
        "/ gateway CPU per request (s2)",
      ],
      rows,
    ),
    s2 === null
      ? "Scenario 2 did not run in this run: no ratio to the gateway's CPU per request."
      : `Scenario 2 measured the gateway (metrics, SLA and history always on) at ${num(s2, 1)} µs of CPU per request in this run: observability is ${share(perRequest)} of it at ${us(perRequest)} µs (the worst of the rows above).`,
    `The target is ≤ ${S8_TARGET_US} µs per request: the worst single record's \`Observability.request\`, or the fresh-record row, whichever is more. A tight loop is the best case (hot caches, optimized code, one call site); in the gateway the same calls run between other work, so read these as lower bounds of the same order. The new record per call is the HTTP layer's cost, not counted here: only what keeping it in the history adds (the loop building and dropping the same records, ${us(s.fresh.baseline.cpuUs)} µs, is subtracted).`,
    `One \`/metrics\` render (\`metrics.prometheus.metrics()\`: the text of every series, Node's process metrics included; the llama-server series a scrape adds for models with \`metrics: true\` not included), median of ${s.rounds} rounds of ${s.renders}:`,
    table(
      ["/metrics render", "value"],
      [
        ["CPU per render", `${num(render.cpuUs / 1000, 2)} ms`],
        ["wall per render", `${num(render.wallUs / 1000, 2)} ms`],
        ["size", `${num(render.bytes / 1024, 1)} KiB`],
        ["samples (lines)", `${num(render.samples, 0)} (${num(render.gatewaySamples, 0)} llamawrapper_*)`],
        [
          `CPU per second at one scrape every ${scrapeEvery} s`,
          `${num(render.cpuUs / scrapeEvery, 0)} µs (${(render.cpuUs / (scrapeEvery * 1e4)).toFixed(3)}% of a core)`,
        ],
      ],
    ),
  ].join("\n\n");
}

export function s9Section(r: BenchResults): string {
  const s = r.s9 ?? null;
  if (s === null) return NOT_RUN;
  if ("skipped" in s) return `_Skipped: ${s.skipped}._`;
  const names = ["reference", "affinity", "round-robin"] as const;
  const label = {
    reference: "reference: one llama-server, next turn right after the previous (slot hit)",
    affinity: "gateway, `affinity: true`",
    "round-robin": "gateway, `affinity: false` (least busy, round robin)",
  };
  const rows = names.map((name) => {
    const x = s.systems[name];
    const routes = Object.entries(x.routes)
      .map(([k, v]) => `${k} ${v}`)
      .join(", ");
    return [
      label[name],
      num(x.laterTtftMs.p50, 1),
      num(x.laterTtftMs.p90, 1),
      num(x.laterTtftMs.max, 1),
      String(x.laterTtftMs.n),
      num(x.firstTtftMs.p50, 0),
      routes || "–",
      x.error === null ? (x.failed > 0 ? `${x.failed} turns failed` : "") : `failed: ${x.error}`,
    ];
  });
  const m = s.model;
  const turnRows = names.flatMap((name) =>
    s.systems[name].turns
      .filter((t) => t.turn >= 2)
      .map((t) => [
        name,
        `${t.conversation}${t.turn}`,
        num(t.ttftMs, 1),
        t.promptTokens === null ? "–" : String(t.promptTokens),
        t.cachedTokens === null ? "–" : String(t.cachedTokens),
        num(t.promptMs, 1),
        t.route ?? "–",
      ]),
  );
  return [
    `${s.conversations} conversations interleaved turn by turn (A1 B1 C1 A2 …), ${s.turns} turns each, one request at a time, streamed, \`max_tokens\` 8, \`Cache-Control: no-cache\`. ` +
      `Each conversation opens with ${s.firstPromptTokens ?? "about 7k"} prompt tokens of made-up words; a next turn adds the reply and a short question (about 50 tokens). ` +
      `Model \`${m.name}\` (generated: ${m.embeddingLength} wide, ${m.blockCount} blocks, feed-forward ${m.feedForwardLength}, ${m.headCount} heads, ${(m.params / 1e6).toFixed(1)}M parameters, ${mb(m.bytes)}), ` +
      `one model with 2 instances, llama-server \`${s.llamaArgs.join(" ")}\` (two slots each, four in all for the three conversations; the host prompt cache off, so the slots are the only cache).`,
    table(
      ["time to first token, turns ≥ 2 (ms)", "p50", "p90", "max", "n", "turn 1 p50", "X-Gateway-Route", ""],
      rows,
    ),
    `affinity / reference (p50): **${s.affinityOverReference === null ? "–" : `${s.affinityOverReference.toFixed(2)}×`}** (target ≤ ${S9_AFFINITY_TARGET}); ` +
      `round-robin / affinity (p50): **${s.roundRobinOverAffinity === null ? "–" : `${s.roundRobinOverAffinity.toFixed(1)}×`}** (target ≥ ${S9_ROUND_ROBIN_TARGET}).`,
    "Every next turn, with llama-server's own account (`timings` of the stream's last event: tokens prefilled, tokens reused from the cache, prefill ms):",
    table(
      ["system", "turn", "first token (ms)", "prefilled", "cached", "prefill ms", "X-Gateway-Route"],
      turnRows,
    ),
  ].join("\n\n");
}
