/**
 * The Prometheus text exposition format (version 0.0.4), one line at a time: parse a HELP,
 * TYPE or sample line, escape a label value, format a sample. A line that does not follow the
 * format parses as "invalid", never throws, so one bad line costs that line and nothing else.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  readonly name: string;
  /** In the order written; values unescaped. */
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** As written, checked to be a float the format accepts (NaN, +Inf, 1e-3 ...). */
  readonly value: string;
  /** Milliseconds since the epoch, as written; undefined when the line has none. */
  readonly timestamp: string | undefined;
}

export type ExpositionLine =
  | {
      readonly kind: "help";
      readonly name: string /** escaped as in the exposition */;
      readonly text: string;
    }
  | { readonly kind: "type"; readonly name: string; readonly type: MetricType }
  | { readonly kind: "sample"; readonly sample: Sample }
  /** A blank line or a comment that is neither HELP nor TYPE (OpenMetrics' `# EOF` included). */
  | { readonly kind: "blank" }
  | { readonly kind: "invalid" };

const TYPES: ReadonlySet<string> = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const DESCRIPTOR = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/;
/** HELP text escapes only backslash and newline. */
const HELP_TEXT = /^(?:[^\\]|\\[\\n])*$/;
/** What Go's strconv.ParseFloat reads in decimal, plus the format's NaN and ±Inf. */
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[Ii]nf(?:inity)?|INF|NaN|nan)$/;
const TIMESTAMP = /^-?\d+$/;
const NAME_AT = /[a-zA-Z_:][a-zA-Z0-9_:]*/y;
const LABEL_NAME_AT = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const BLANKS_AT = /[ \t]*/y;

const INVALID: ExpositionLine = { kind: "invalid" };
const BLANK: ExpositionLine = { kind: "blank" };

/** Escapes a label value for the exposition: backslash, double quote and newline. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** `name{a="x",b="y"} value [timestamp]`, or `name value` without labels. */
export function formatSample(sample: Sample): string {
  const labels = sample.labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",");
  const head = labels === "" ? sample.name : `${sample.name}{${labels}}`;
  return sample.timestamp === undefined
    ? `${head} ${sample.value}`
    : `${head} ${sample.value} ${sample.timestamp}`;
}

export function parseLine(raw: string): ExpositionLine {
  const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
  const trimmed = line.trim();
  if (trimmed === "") return BLANK;
  if (trimmed.startsWith("#")) return parseComment(trimmed);
  const sample = parseSample(line);
  return sample === null ? INVALID : { kind: "sample", sample };
}

function parseComment(line: string): ExpositionLine {
  const m = DESCRIPTOR.exec(line);
  if (m === null) return /^#[ \t]+(HELP|TYPE)(?:[ \t]|$)/.test(line) ? INVALID : BLANK;
  const [, keyword, name = "", rest = ""] = m;
  if (!METRIC_NAME.test(name)) return INVALID;
  if (keyword === "HELP") return HELP_TEXT.test(rest) ? { kind: "help", name, text: rest } : INVALID;
  const type = rest.trim();
  return TYPES.has(type) ? { kind: "type", name, type: type as MetricType } : INVALID;
}

/** A sticky regex's match at `at`, or null. */
function matchAt(re: RegExp, s: string, at: number): string | null {
  re.lastIndex = at;
  const m = re.exec(s);
  return m === null ? null : m[0];
}

function parseSample(line: string): Sample | null {
  let i = (matchAt(BLANKS_AT, line, 0) ?? "").length;
  const name = matchAt(NAME_AT, line, i);
  if (name === null) return null;
  i += name.length;
  const blanks = (matchAt(BLANKS_AT, line, i) ?? "").length;
  i += blanks;
  const labels: Array<readonly [string, string]> = [];
  if (line[i] === "{") {
    const end = parseLabels(line, i + 1, labels);
    if (end < 0) return null;
    i = end;
  } else if (blanks === 0) {
    return null;
  }
  const fields = line
    .slice(i)
    .trim()
    .split(/[ \t]+/);
  const [value = "", timestamp, ...extra] = fields;
  if (!FLOAT.test(value) || extra.length > 0) return null;
  if (timestamp !== undefined && !TIMESTAMP.test(timestamp)) return null;
  return { name, labels, value, timestamp };
}

/** Reads `a="x",b="y"}` from `at` into `out`; the index after `}`, or -1 when malformed. */
function parseLabels(line: string, at: number, out: Array<readonly [string, string]>): number {
  let i = at;
  const seen = new Set<string>();
  for (;;) {
    i += (matchAt(BLANKS_AT, line, i) ?? "").length;
    if (line[i] === "}") return i + 1;
    const name = matchAt(LABEL_NAME_AT, line, i);
    if (name === null || seen.has(name)) return -1;
    seen.add(name);
    i += name.length;
    i += (matchAt(BLANKS_AT, line, i) ?? "").length;
    if (line[i] !== "=") return -1;
    i += 1;
    i += (matchAt(BLANKS_AT, line, i) ?? "").length;
    if (line[i] !== '"') return -1;
    let value = "";
    for (i += 1; ; i += 1) {
      const c = line[i];
      if (c === undefined) return -1;
      if (c === '"') break;
      if (c !== "\\") {
        value += c;
        continue;
      }
      i += 1;
      const e = line[i];
      if (e === "\\" || e === '"') value += e;
      else if (e === "n") value += "\n";
      else return -1;
    }
    out.push([name, value]);
    i += 1;
    i += (matchAt(BLANKS_AT, line, i) ?? "").length;
    if (line[i] === ",") i += 1;
    else if (line[i] !== "}") return -1;
  }
}
