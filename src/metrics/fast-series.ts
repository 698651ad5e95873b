import type { MetricValue, Registry } from "prom-client";

/**
 * Counters and histograms for the series every request moves (issue 15). prom-client builds a
 * label object, validates it and hashes it into a string on every `inc`/`observe`: under load
 * that was a few µs and about 2 KB of garbage per request. Here the label values find their
 * series through one Map per label (no key string is built), and counting is a few writes into
 * numbers the series already holds. The metrics register in prom-client's Registry like its own
 * (`get()` returns the shape the registry renders), so /metrics, OpenMetrics and the JSON view
 * see no difference. Label values must be bounded like any metric's (resolved model ids, route
 * patterns, closed sets).
 */
abstract class FastMetric<S> {
  readonly name: string;
  readonly help: string;
  abstract readonly type: "counter" | "histogram";
  readonly aggregator = "sum" as const;
  readonly #labelNames: readonly string[];
  /** One Map per label: value of the first → Map for the second → ... → the series. */
  #root = new Map<string, unknown>();
  protected readonly all: S[] = [];

  constructor(
    registry: Pick<Registry, "registerMetric">,
    name: string,
    help: string,
    labelNames: readonly string[],
  ) {
    if (labelNames.length < 1 || labelNames.length > 4) throw new Error(`${name}: 1 to 4 labels`);
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
    registry.registerMetric(this as never);
  }

  protected abstract create(labels: Record<string, string>): S;

  readonly #scratch: string[] = [];

  /**
   * The series for these label values (in labelNames' order; as many as there are labels),
   * made on first use. Positional, not a rest parameter: no array per call.
   */
  protected find(a: string, b?: string, c?: string, d?: string): S {
    const values = this.#scratch;
    values[0] = a;
    if (b !== undefined) values[1] = b;
    if (c !== undefined) values[2] = c;
    if (d !== undefined) values[3] = d;
    let level: Map<string, unknown> = this.#root;
    const last = this.#labelNames.length - 1;
    for (let i = 0; i < last; i++) {
      const value = values[i] as string;
      let next = level.get(value) as Map<string, unknown> | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(value, next);
      }
      level = next;
    }
    const value = values[last] as string;
    let series = level.get(value) as S | undefined;
    if (series === undefined) {
      const labels: Record<string, string> = {};
      this.#labelNames.forEach((name, i) => {
        labels[name] = values[i] as string;
      });
      series = this.create(labels);
      level.set(value, series);
      this.all.push(series);
    }
    return series;
  }

  reset(): void {
    this.#root = new Map();
    this.all.length = 0;
  }
}

interface CounterSeries {
  readonly labels: Record<string, string>;
  value: number;
}

export class FastCounter extends FastMetric<CounterSeries> {
  readonly type = "counter" as const;

  protected create(labels: Record<string, string>): CounterSeries {
    return { labels, value: 0 };
  }

  /** Adds `by` to the series of these label values (labelNames' order). */
  inc(by: number, a: string, b?: string, c?: string, d?: string): void {
    this.find(a, b, c, d).value += by;
  }

  get(): { name: string; help: string; type: "counter"; values: MetricValue<string>[]; aggregator: "sum" } {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      values: this.all.map((series) => ({ labels: series.labels, value: series.value })),
      aggregator: this.aggregator,
    };
  }
}

interface HistogramSeries {
  readonly labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above the highest bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export class FastHistogram extends FastMetric<HistogramSeries> {
  readonly type = "histogram" as const;
  readonly #bounds: readonly number[];

  constructor(
    registry: Pick<Registry, "registerMetric">,
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ) {
    super(registry, name, help, labelNames);
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  protected create(labels: Record<string, string>): HistogramSeries {
    return { labels, counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 };
  }

  /** Counts `value` in the series of these label values (labelNames' order). */
  observe(value: number, a: string, b?: string, c?: string, d?: string): void {
    if (!Number.isFinite(value)) return;
    const series = this.find(a, b, c, d);
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    series.counts[i] = (series.counts[i] as number) + 1;
    series.sum += value;
    series.count++;
  }

  /**
   * prom-client's own histogram shape, for the text render: cumulative `_bucket` per bound and
   * +Inf (`le` first, the series' labels shared after it), then `_sum` and `_count`.
   */
  getForPromString(): HistogramData {
    const values: Pair[] = [];
    const bucket = `${this.name}_bucket`;
    for (const series of this.all) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += series.counts[i] as number;
        values.push(pair({ le: bound }, cumulative, bucket, null, series.labels));
      });
      values.push(pair({ le: "+Inf" }, series.count, bucket, null, series.labels));
      values.push(pair({}, series.sum, `${this.name}_sum`, undefined, series.labels));
      values.push(pair({}, series.count, `${this.name}_count`, undefined, series.labels));
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The same with each value's labels in one object, as prom-client's get() gives them (the JSON view). */
  get(): HistogramData {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }
}

interface Pair {
  readonly labels: Record<string, string | number>;
  readonly sharedLabels?: Record<string, string>;
  readonly value: number;
  readonly metricName: string;
  readonly exemplar?: null | undefined;
}

interface HistogramData {
  readonly name: string;
  readonly help: string;
  readonly type: "histogram";
  readonly values: Pair[];
  readonly aggregator: "sum";
}

/** One value as prom-client's histogram makes it (setValuePair). */
function pair(
  labels: Record<string, string | number>,
  value: number,
  metricName: string,
  exemplar: null | undefined,
  sharedLabels: Record<string, string>,
): Pair {
  return { labels, sharedLabels, value, metricName, exemplar };
}
