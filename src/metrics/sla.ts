import type { SlaObjectives } from "../config/types.js";

/**
 * SLA tracking: per model, over a sliding window, how many requests the gateway answered
 * well, and how fast it is spending its error budget. Pure: no timers, no I/O; the clock is
 * injected, so tests move time by hand.
 *
 * Definitions (docs/metrics.md copies these):
 *
 * - A request counts when its record names a `model` (the request reached a model route).
 * - **failed**: status >= 500, the gateway's or the backend's fault (503 queue_full,
 *   queue_timeout, model_failed; 504; 500/502). 4xx are the client's and never fail;
 *   neither does 429 rate_limited nor 499 (the client left).
 * - **successful**: status < 400. Only successful requests are eligible for the speed
 *   objectives: a 4xx or 499 answer says nothing about how fast the model serves.
 * - **ttft met**: successful, streamed, `ttfbMs` known, and `ttfbMs <= ttftMs` (always met
 *   when the objective is null). Only streamed requests are eligible: a non-streamed answer's
 *   first byte comes with its last, which the latency objective already judges.
 * - **latency met**: successful and `durationMs <= latencyMs` (always met when null).
 * - **good**: not failed, and every speed objective it is eligible for is met. A 4xx is
 *   good; a 200 slower than an objective is bad. **bad** = not good.
 * - `availability` = 1 − failed / requests.
 * - `ttftAttainment` = ttft met / ttft-eligible; `latencyAttainment` = latency met /
 *   successful; null when nothing is eligible.
 * - `good` = good / requests.
 * - `burnRate` = (bad / requests) / (1 − objective), the SRE book's burn rate: 1 spends the
 *   budget exactly by the end of the window, 2 twice as fast, 0 not at all.
 * - `errorBudgetRemaining` = 1 − burnRate: 1 untouched, 0 spent, negative overspent.
 * - Ratios are null with no requests. An objective of 1 leaves no budget: any bad request
 *   makes the burn rate Infinity (config should keep objectives below 1).
 *
 * The window slides in buckets of windowMs / 60: a report covers the current bucket and
 * the 59 before it, so a request stops counting between 59/60 and 60/60 of a window after
 * it finished. A request is counted when it is recorded (when it finished), not when it
 * arrived. Memory is bounded by models × 60 buckets, never by request count; a model with
 * nothing recorded for a whole window is dropped.
 */

export type { SlaObjectives };

/**
 * The fields of a finished request the tracker reads. Structurally a subset of the HTTP
 * layer's RequestRecord, declared here so metrics does not import http (lower layers never
 * import higher ones); a RequestRecord is accepted as is.
 */
export interface SlaSample {
  readonly model: string | null;
  readonly status: number;
  readonly durationMs: number;
  readonly ttfbMs: number | null;
  readonly stream: boolean;
}

/** One model's standing over its window. */
export interface SlaReport {
  readonly model: string;
  readonly windowSeconds: number;
  readonly requests: number;
  readonly failed: number;
  readonly availability: number | null;
  readonly ttftAttainment: number | null;
  readonly latencyAttainment: number | null;
  readonly good: number | null;
  readonly objective: number;
  readonly errorBudgetRemaining: number | null;
  readonly burnRate: number | null;
}

/** How many buckets a window is cut into: the report's time resolution. */
export const SLA_BUCKETS = 60;

const COUNTERS = [
  "requests",
  "failed",
  "ttftEligible",
  "ttftMet",
  "successful",
  "latencyMet",
  "good",
] as const;
type Counts = Record<(typeof COUNTERS)[number], number>;
/** One slice of time; `index` = floor(time / bucketMs) says which slice the slot holds now. */
type Bucket = Counts & { index: number };

function zero(): Counts {
  return Object.fromEntries(COUNTERS.map((key) => [key, 0])) as Counts;
}

interface ModelState {
  readonly windowMs: number;
  readonly bucketMs: number;
  /** A ring of SLA_BUCKETS slots, filled lazily; slot = index mod SLA_BUCKETS. */
  readonly ring: (Bucket | undefined)[];
  /** The newest bucket index recorded: time never goes back within a model. */
  latest: number;
}

export class SlaTracker {
  readonly #objectivesFor: (model: string) => SlaObjectives;
  readonly #now: () => number;
  readonly #models = new Map<string, ModelState>();

  constructor(objectivesFor: (model: string) => SlaObjectives, now: () => number = Date.now) {
    this.#objectivesFor = objectivesFor;
    this.#now = now;
  }

  /** Counts one finished request; records without a model are not the SLA's business. */
  record(sample: SlaSample): void {
    if (sample.model === null) return;
    const objectives = this.#objectivesFor(sample.model);
    let state = this.#models.get(sample.model);
    // A reload that changes the window changes what the counts mean: start over.
    if (state === undefined || state.windowMs !== objectives.windowMs) {
      state = newState(objectives.windowMs);
      this.#models.set(sample.model, state);
    }
    // A clock stepping back puts the request in the newest bucket rather than reviving a
    // slot that already holds newer counts.
    const index = Math.max(Math.floor(this.#now() / state.bucketMs), state.latest);
    state.latest = index;
    const slot = index % SLA_BUCKETS;
    let bucket = state.ring[slot];
    if (bucket === undefined || bucket.index !== index) {
      bucket = { index, ...zero() };
      state.ring[slot] = bucket;
    }
    classify(bucket, sample, objectives);
  }

  /** Every tracked model's standing, sorted by model id. */
  report(): SlaReport[] {
    const now = this.#now();
    const reports: SlaReport[] = [];
    for (const model of this.models()) {
      const state = this.#models.get(model);
      if (state === undefined) continue;
      reports.push(summarize(model, state, sumWindow(state, now), this.#objectivesFor(model).availability));
    }
    return reports;
  }

  /** The models with something recorded in their window, sorted; drops the rest. */
  models(): string[] {
    const now = this.#now();
    for (const [model, state] of this.#models) {
      if (state.latest <= currentIndex(state, now) - SLA_BUCKETS) this.#models.delete(model);
    }
    return [...this.#models.keys()].sort();
  }

  /** How much is held: models and allocated buckets (for tests of the memory bound). */
  size(): { models: number; buckets: number } {
    let buckets = 0;
    for (const state of this.#models.values()) buckets += state.ring.filter((b) => b !== undefined).length;
    return { models: this.#models.size, buckets };
  }
}

function newState(windowMs: number): ModelState {
  return { windowMs, bucketMs: windowMs / SLA_BUCKETS, ring: new Array(SLA_BUCKETS), latest: 0 };
}

function currentIndex(state: ModelState, now: number): number {
  return Math.max(Math.floor(now / state.bucketMs), state.latest);
}

function classify(bucket: Bucket, sample: SlaSample, objectives: SlaObjectives): void {
  bucket.requests += 1;
  if (sample.status >= 500) {
    bucket.failed += 1;
    return;
  }
  if (sample.status >= 400) {
    bucket.good += 1;
    return;
  }
  bucket.successful += 1;
  let good = true;
  if (sample.stream && sample.ttfbMs !== null) {
    bucket.ttftEligible += 1;
    if (objectives.ttftMs === null || sample.ttfbMs <= objectives.ttftMs) bucket.ttftMet += 1;
    else good = false;
  }
  if (objectives.latencyMs === null || sample.durationMs <= objectives.latencyMs) bucket.latencyMet += 1;
  else good = false;
  if (good) bucket.good += 1;
}

/** Sums the buckets inside the window ending at `now`: the current one and the 59 before. */
function sumWindow(state: ModelState, now: number): Counts {
  const oldest = currentIndex(state, now) - SLA_BUCKETS + 1;
  const sum = zero();
  for (const bucket of state.ring) {
    if (bucket === undefined || bucket.index < oldest) continue;
    for (const key of COUNTERS) sum[key] += bucket[key];
  }
  return sum;
}

function ratio(part: number, whole: number): number | null {
  return whole === 0 ? null : part / whole;
}

function summarize(model: string, state: ModelState, c: Counts, objective: number): SlaReport {
  const failedShare = ratio(c.failed, c.requests);
  const goodShare = ratio(c.good, c.requests);
  const burnRate = goodShare === null ? null : burn(1 - goodShare, 1 - objective);
  return {
    model,
    windowSeconds: state.windowMs / 1000,
    requests: c.requests,
    failed: c.failed,
    availability: failedShare === null ? null : 1 - failedShare,
    ttftAttainment: ratio(c.ttftMet, c.ttftEligible),
    latencyAttainment: ratio(c.latencyMet, c.successful),
    good: goodShare,
    objective,
    errorBudgetRemaining: burnRate === null ? null : 1 - burnRate,
    burnRate,
  };
}

/** bad share / budget; with no budget (objective 1) any bad request burns infinitely fast. */
function burn(badShare: number, budget: number): number {
  if (budget > 0) return badShare / budget;
  return badShare > 0 ? Number.POSITIVE_INFINITY : 0;
}
