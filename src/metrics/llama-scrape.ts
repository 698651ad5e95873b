/**
 * llama-server's own Prometheus metrics (`--metrics`), merged into the gateway's /metrics: at
 * scrape time, every ready child's GET /metrics in parallel under one deadline, each series
 * relabelled with the child's model and instance, the families merged into one exposition.
 * A child that is slow, dead, answers an error or too much is left out and listed in `failed`;
 * it never holds the scrape past the deadline.
 */
import type { Dispatcher } from "undici";
import { type Endpoint, target as endpointTarget } from "../process/supervisor-types.js";
import { type ExpositionLine, formatSample, type MetricType, parseLine, type Sample } from "./exposition.js";

export interface ScrapeTarget {
  readonly model: string;
  readonly instance: string;
  /** The child's address (port or Unix socket) and --api-key (asked for on /metrics too; "" sends none). */
  readonly endpoint: Endpoint;
}

export type ScrapeFailure = "timeout" | "error" | "status";

export interface ScrapeResult {
  /**
   * Prometheus text exposition: families ordered by name, one # HELP and one # TYPE each (the
   * first seen), then every target's samples with model="..",instance=".." added.
   */
  readonly text: string;
  readonly failed: ReadonlyArray<{ model: string; instance: string; reason: ScrapeFailure }>;
}

export interface ScrapeOptions {
  /** The whole call resolves by then, whatever the children do. */
  readonly timeoutMs: number;
  readonly fetch?: typeof fetch;
  /** The shell's upstream pool, which reaches children on Unix sockets; default: fetch's own. */
  readonly dispatcher?: Dispatcher;
  /** A body longer than this fails the target ("error"). Default 1 MiB. */
  readonly maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

class StatusError extends Error {}

export async function scrapeLlamaMetrics(
  targets: readonly ScrapeTarget[],
  options: ScrapeOptions,
): Promise<ScrapeResult> {
  const doFetch = options.fetch ?? fetch;
  const maxBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // One deadline for every target. A timer of our own rather than AbortSignal.timeout: it is
  // cleared as soon as all targets are done, and it keeps the process alive while it runs.
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new DOMException("llama-server /metrics scrape deadline", "TimeoutError")),
    options.timeoutMs,
  );
  let outcomes: Outcome[];
  try {
    outcomes = await Promise.all(
      targets.map((t) => scrapeOne(t, doFetch, options.dispatcher, deadline.signal, maxBytes)),
    );
  } finally {
    clearTimeout(timer);
  }
  const families = new Map<string, Family>();
  const failed: Array<{ model: string; instance: string; reason: ScrapeFailure }> = [];
  targets.forEach((target, i) => {
    const outcome = outcomes[i] ?? { reason: "error" };
    if ("reason" in outcome) {
      failed.push({ model: target.model, instance: target.instance, reason: outcome.reason });
    } else {
      mergeTarget(families, outcome.text, target);
    }
  });
  return { text: render(families), failed };
}

type Outcome = { readonly text: string } | { readonly reason: ScrapeFailure };

/** The body of one child's /metrics, or why there is none. */
async function scrapeOne(
  target: ScrapeTarget,
  doFetch: typeof fetch,
  dispatcher: Dispatcher | undefined,
  signal: AbortSignal,
  maxBytes: number,
): Promise<Outcome> {
  try {
    return { text: await untilAborted(signal, fetchBody(target, doFetch, dispatcher, signal, maxBytes)) };
  } catch (error) {
    if (signal.aborted) return { reason: "timeout" };
    return { reason: error instanceof StatusError ? "status" : "error" };
  }
}

async function fetchBody(
  target: ScrapeTarget,
  doFetch: typeof fetch,
  dispatcher: Dispatcher | undefined,
  signal: AbortSignal,
  maxBytes: number,
): Promise<string> {
  const headers: Record<string, string> = { accept: "text/plain; version=0.0.4" };
  const { endpoint } = target;
  if (endpoint.apiKey !== "") headers.authorization = `Bearer ${endpoint.apiKey}`;
  const { origin, path } = endpointTarget(endpoint, "/metrics");
  // Node's fetch takes the npm undici Agent as its dispatcher (it only calls dispatch()); the
  // two packages' types differ in detail, hence the untyped init.
  const init: Record<string, unknown> = { headers, signal, redirect: "error" };
  if (dispatcher !== undefined) init.dispatcher = dispatcher;
  const res = await doFetch(`${origin}${path}`, init as RequestInit);
  if (!res.ok) {
    res.body?.cancel().catch(() => {});
    throw new StatusError(`llama-server /metrics answered ${res.status}`);
  }
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > maxBytes) {
    res.body?.cancel().catch(() => {});
    throw new Error(`llama-server /metrics body of ${declared} bytes is over ${maxBytes}`);
  }
  return readBounded(res.body, maxBytes);
}

async function readBounded(body: ReadableStream<Uint8Array> | null, maxBytes: number): Promise<string> {
  if (body === null) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      reader.cancel().catch(() => {});
      throw new Error(`llama-server /metrics body is over ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(Buffer.concat(chunks));
}

/**
 * `work`, or a rejection as soon as `signal` aborts: the deadline holds even for a fetch that
 * does not honour its signal.
 */
function untilAborted<T>(signal: AbortSignal, work: Promise<T>): Promise<T> {
  work.catch(() => {}); // the race may be lost; its rejection then goes nowhere
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort = (): void => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener("abort", onAbort));
}

interface Family {
  help: string | undefined;
  type: MetricType | undefined;
  readonly samples: string[];
}

const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  histogram: ["_bucket", "_sum", "_count"],
  summary: ["_sum", "_count"],
  counter: [],
  gauge: [],
  untyped: [],
};

/** Adds one target's exposition to `families`; lines that do not parse are dropped. */
function mergeTarget(families: Map<string, Family>, text: string, target: ScrapeTarget): void {
  const lines: ExpositionLine[] = text.split("\n").map(parseLine);
  const help = new Map<string, string>();
  const types = new Map<string, MetricType>();
  for (const line of lines) {
    if (line.kind === "help" && !help.has(line.name)) help.set(line.name, line.text);
    if (line.kind === "type" && !types.has(line.name)) types.set(line.name, line.type);
  }
  const familyOf = (name: string): string => {
    if (types.has(name) || help.has(name)) return name;
    for (const [base, type] of types) {
      if (SUFFIXES[type].some((suffix) => name === base + suffix)) return base;
    }
    return name;
  };
  const declare = (name: string): Family => {
    let family = families.get(name);
    if (family === undefined) {
      family = { help: undefined, type: undefined, samples: [] };
      families.set(name, family);
    }
    family.help ??= help.get(name);
    family.type ??= types.get(name);
    return family;
  };
  for (const name of new Set([...help.keys(), ...types.keys()])) declare(name);
  for (const line of lines) {
    if (line.kind !== "sample") continue;
    const name = familyOf(line.sample.name);
    const family = declare(name);
    const own = types.get(name);
    // Another child typed this family differently (another llama.cpp version): its samples
    // would not fit the TYPE already written, so this child's are left out.
    if (own !== undefined && family.type !== own) continue;
    family.samples.push(formatSample(relabel(line.sample, target)));
  }
}

/**
 * The sample with model and instance set to the target's. A label the child already had under
 * either name moves to exported_<name> (exported_exported_<name> when that is taken too), as
 * Prometheus does with honor_labels: false. An empty label is the same as no label.
 */
function relabel(sample: Sample, target: ScrapeTarget): Sample {
  const labels = sample.labels.filter(([, v]) => v !== "");
  const taken = new Set(labels.map(([k]) => k));
  const renamed = labels.map(([k, v]): readonly [string, string] => {
    if (k !== "model" && k !== "instance") return [k, v];
    let name = k;
    do name = `exported_${name}`;
    while (taken.has(name));
    taken.add(name);
    return [name, v];
  });
  renamed.push(["model", target.model], ["instance", target.instance]);
  return { ...sample, labels: renamed };
}

function render(families: ReadonlyMap<string, Family>): string {
  const out: string[] = [];
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name);
    if (family === undefined) continue;
    if (family.help !== undefined) out.push(`# HELP ${name} ${family.help}`);
    if (family.type !== undefined) out.push(`# TYPE ${name} ${family.type}`);
    out.push(...family.samples);
  }
  return out.length === 0 ? "" : `${out.join("\n")}\n`;
}
