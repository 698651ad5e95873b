// The page's live state, bounded so that a tab left open for days stays small: the last
// MAX_ROWS requests, 10 minutes of 5-second chart buckets, the latest status and machine.
// Changes are announced per topic, coalesced to a few renders per second.

import { useEffect, useState } from "/dashboard/vendor/htm-preact.mjs";

export const MAX_ROWS = 500;
export const BUCKET_MS = 5000;
export const WINDOW_BUCKETS = 120; // 10 minutes
const MAX_SEEN = 4000;
const MAX_SAMPLES = 1000; // per bucket, reservoir-sampled

export const state = {
  /** GET /admin/status's JSON, or null before the first one. */
  status: null,
  /** Date.now() when `status` arrived (uptime and countdowns tick from it). */
  statusAt: 0,
  /** The gateway's clock minus ours (ms), from startedAt + uptimeSeconds. */
  skewMs: 0,
  machine: null,
  /** Recent RequestRecords, newest first. */
  requests: [],
  conn: { live: false, detail: "connecting" },
  /** The last action's outcome: { kind: "pending"|"ok"|"error", text, at }. */
  action: null,
};

// ---- topics -------------------------------------------------------------------------

const listeners = new Map();
const timers = new Map();
/** How long changes of a topic are gathered before its listeners run (ms). */
const DELAYS = { requests: 500 };

/** Announces a change of `topic`; its listeners run once per 200 ms (requests: 500 ms). */
export function emit(topic) {
  if (timers.has(topic)) return;
  timers.set(
    topic,
    setTimeout(() => {
      timers.delete(topic);
      for (const fn of listeners.get(topic) ?? []) fn();
    }, DELAYS[topic] ?? 200),
  );
}

export function subscribe(topic, fn) {
  if (!listeners.has(topic)) listeners.set(topic, new Set());
  listeners.get(topic).add(fn);
  return () => listeners.get(topic).delete(fn);
}

/** Re-renders the calling component when any of the topics changes. */
export function useTopics(...topics) {
  const [, setVersion] = useState(0);
  const key = topics.join(",");
  useEffect(() => {
    const bump = () => setVersion((v) => v + 1);
    const offs = key.split(",").map((topic) => subscribe(topic, bump));
    return () => {
      for (const off of offs) off();
    };
  }, [key]);
  return state;
}

/** The current time, refreshed every `ms` (for uptimes and countdowns). */
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

// ---- status, machine, connection, action ---------------------------------------------

/** Sets the status; answers true when it comes from a different process (a restart). */
export function setStatus(status) {
  if (!status || typeof status !== "object") return false;
  const before = state.status?.startedAt ?? null;
  state.status = status;
  state.statusAt = Date.now();
  sampleLoad(status, state.statusAt);
  const started = typeof status.startedAt === "string" ? Date.parse(status.startedAt) : Number.NaN;
  if (Number.isFinite(started) && typeof status.uptimeSeconds === "number") {
    // uptimeSeconds is rounded: below 2 s of skew, trust our own clock (no jitter).
    const skew = started + status.uptimeSeconds * 1000 - state.statusAt;
    state.skewMs = Math.abs(skew) < 2000 ? 0 : skew;
  }
  emit("status");
  return before !== null && status.startedAt !== undefined && status.startedAt !== before;
}

export function setMachine(machine) {
  if (!machine || typeof machine !== "object") return;
  state.machine = machine;
  emit("machine");
}

export function setConn(live, detail = "") {
  if (state.conn.live === live && state.conn.detail === detail) return;
  state.conn = { live, detail };
  emit("conn");
}

export function setAction(kind, text, extra = null) {
  state.action = { kind, text, at: Date.now(), extra };
  emit("action");
}

// ---- requests -----------------------------------------------------------------------

const seen = new Map();
const isRecord = (r) =>
  r && typeof r === "object" && typeof r.requestId === "string" && typeof r.at === "number";
/** Client-chosen request ids can repeat: a record is known by its id, time and outcome. */
export const recordKey = (r) => `${r.requestId}|${r.at}|${r.status}|${r.durationMs}`;
const endOf = (r) => r.at + (typeof r.durationMs === "number" ? r.durationMs : 0);

function remember(r) {
  const key = recordKey(r);
  if (seen.has(key)) return false;
  seen.set(key, true);
  if (seen.size > MAX_SEEN) seen.delete(seen.keys().next().value);
  return true;
}

/** One request from the live stream (newest). */
export function addRequest(r) {
  if (!isRecord(r) || !remember(r)) return;
  state.requests = [r, ...state.requests];
  if (state.requests.length > MAX_ROWS) state.requests.length = MAX_ROWS;
  bucketAdd(r);
  emit("requests");
}

/** A batch (the state call): merged with what we have, newest end time first. */
export function mergeRequests(list) {
  if (!Array.isArray(list)) return;
  const fresh = list.filter((r) => isRecord(r) && remember(r));
  if (fresh.length === 0) return;
  for (const r of fresh) bucketAdd(r);
  state.requests = [...state.requests, ...fresh].sort((a, b) => endOf(b) - endOf(a)).slice(0, MAX_ROWS);
  emit("requests");
}

// ---- chart buckets ------------------------------------------------------------------

const buckets = new Map();
let bucketVersion = 0;

function push(samples, seenCount, value) {
  if (samples.length < MAX_SAMPLES) samples.push(value);
  else {
    const j = Math.floor(Math.random() * seenCount);
    if (j < MAX_SAMPLES) samples[j] = value;
  }
}

function bucketAdd(r) {
  const now = Date.now();
  const end = Math.min(endOf(r), now);
  const index = Math.floor(end / BUCKET_MS);
  if (index <= Math.floor(now / BUCKET_MS) - WINDOW_BUCKETS) return;
  let b = buckets.get(index);
  if (!b) {
    if (buckets.size > WINDOW_BUCKETS + 10) pruneBuckets(Math.floor(now / BUCKET_MS));
    b = { n: 0, errors: 0, tokens: 0, lat: [], latN: 0, ttft: [], ttftN: 0, hits: 0, misses: 0 };
    buckets.set(index, b);
  }
  b.n += 1;
  if (r.status >= 500) b.errors += 1;
  const completion = r.usage && typeof r.usage.completionTokens === "number" ? r.usage.completionTokens : 0;
  b.tokens += completion;
  if (r.status < 400 && typeof r.durationMs === "number") push(b.lat, ++b.latN, r.durationMs);
  if (r.status < 400 && r.stream && typeof r.ttfbMs === "number") push(b.ttft, ++b.ttftN, r.ttfbMs);
  if (r.cache === "hit") b.hits += 1;
  else if (r.cache === "miss") b.misses += 1;
  bucketVersion += 1;
}

function pruneBuckets(nowIndex) {
  for (const index of buckets.keys()) if (index <= nowIndex - WINDOW_BUCKETS) buckets.delete(index);
}

function quantile(samples, q) {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

// In flight and queued, summed over the models, one sample per status (every 2 s).
const loadSamples = [];
const MAX_LOAD_SAMPLES = 600;
let loadVersion = 0;

function sampleLoad(status, at) {
  const models = Array.isArray(status.models) ? status.models : [];
  let inFlight = 0;
  let queued = 0;
  for (const m of models) {
    if (typeof m?.inFlight === "number") inFlight += m.inFlight;
    if (typeof m?.queueDepth === "number") queued += m.queueDepth;
  }
  loadSamples.push({ t: at / 1000, inFlight, queued });
  const oldest = at / 1000 - (WINDOW_BUCKETS * BUCKET_MS) / 1000;
  while (loadSamples.length > MAX_LOAD_SAMPLES || (loadSamples.length > 0 && loadSamples[0].t < oldest))
    loadSamples.shift();
  loadVersion += 1;
}

let cache = { key: "", data: null };

/**
 * The chart series over the last 10 minutes, one point per 5-s bucket (x in seconds). The
 * current bucket's rates divide by the seconds it has run so far.
 */
export function chartSeries() {
  const now = Date.now();
  const nowIndex = Math.floor(now / BUCKET_MS);
  const key = `${bucketVersion}|${loadVersion}|${Math.floor(now / 1000)}`;
  if (cache.key === key) return cache.data;
  pruneBuckets(nowIndex);
  const x = [];
  const rps = [];
  const eps = [];
  const tps = [];
  const p50 = [];
  const p95 = [];
  const t50 = [];
  const t95 = [];
  const hit = [];
  for (let index = nowIndex - WINDOW_BUCKETS + 1; index <= nowIndex; index += 1) {
    const b = buckets.get(index);
    const seconds = index === nowIndex ? Math.max(1, (now - index * BUCKET_MS) / 1000) : BUCKET_MS / 1000;
    x.push((index * BUCKET_MS) / 1000);
    rps.push(b ? b.n / seconds : 0);
    eps.push(b ? b.errors / seconds : 0);
    tps.push(b ? b.tokens / seconds : 0);
    p50.push(b ? quantile(b.lat, 0.5) : null);
    p95.push(b ? quantile(b.lat, 0.95) : null);
    t50.push(b ? quantile(b.ttft, 0.5) : null);
    t95.push(b ? quantile(b.ttft, 0.95) : null);
    hit.push(b && b.hits + b.misses > 0 ? (100 * b.hits) / (b.hits + b.misses) : null);
  }
  const load = [
    loadSamples.map((p) => p.t),
    loadSamples.map((p) => p.inFlight),
    loadSamples.map((p) => p.queued),
  ];
  const data = {
    rps: [x, rps, eps],
    tps: [x, tps],
    latency: [x, p50, p95],
    ttft: [x, t50, t95],
    cache: [x, hit],
    load,
  };
  cache = { key, data };
  return data;
}
