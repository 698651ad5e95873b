import { spawnSync } from "node:child_process";
import type { RunningGateway } from "./gateway-process.js";

/**
 * A scrape as a test reads it: every sample line, keyed `name{label="value",...}` with the
 * labels sorted by name, so a lookup does not depend on the order the exposition wrote them in.
 * Written for the tests, independent of src/metrics/exposition.ts (the code under test).
 */
export class Scrape {
  readonly text: string;
  readonly samples = new Map<string, number>();

  constructor(text: string) {
    this.text = text;
    for (const line of text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const parsed = parseSampleLine(line);
      if (parsed === null) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
      const key = seriesKey(parsed.name, parsed.labels);
      if (this.samples.has(key)) throw new Error(`duplicate series ${key}`);
      this.samples.set(key, parsed.value);
    }
  }

  /** The value of one series, or undefined when the scrape does not have it. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    return this.samples.get(seriesKey(name, Object.entries(labels)));
  }

  /** Every series of a family (the exact name) with its labels. */
  series(name: string): Array<{ labels: Record<string, string>; value: number }> {
    const out: Array<{ labels: Record<string, string>; value: number }> = [];
    for (const line of this.text.split("\n")) {
      if (line === "" || line.startsWith("#")) continue;
      const parsed = parseSampleLine(line);
      if (parsed?.name === name) out.push({ labels: Object.fromEntries(parsed.labels), value: parsed.value });
    }
    return out;
  }

  /** The series keys (name and labels, no values) whose name passes `keep`. */
  keys(keep: (key: string) => boolean = () => true): Set<string> {
    return new Set([...this.samples.keys()].filter(keep));
  }
}

export function seriesKey(name: string, labels: Iterable<readonly [string, string]>): string {
  const sorted = [...labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (sorted.length === 0) return name;
  return `${name}{${sorted.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
}

function parseSampleLine(
  line: string,
): { name: string; labels: Array<[string, string]>; value: number } | null {
  const head = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
  if (head === null) return null;
  const name = head[1] as string;
  let i = name.length;
  const labels: Array<[string, string]> = [];
  if (line[i] === "{") {
    i++;
    while (line[i] !== "}") {
      const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (label === null) return null;
      i += label[0].length;
      let value = "";
      while (line[i] !== '"') {
        if (i >= line.length) return null;
        if (line[i] === "\\") {
          i++;
          value += line[i] === "n" ? "\n" : line[i];
        } else value += line[i];
        i++;
      }
      i++;
      labels.push([label[1] as string, value]);
      if (line[i] === ",") i++;
    }
    i++;
  }
  const fields = line.slice(i).trim().split(/\s+/);
  const raw = fields[0] ?? "";
  // Go's ParseFloat, which Prometheus reads values with, ignores case in NaN and Inf
  // (prom-client writes NaN as "Nan").
  const special = /^([+-]?)(inf|infinity)$/i.exec(raw);
  const value = /^nan$/i.test(raw)
    ? Number.NaN
    : special !== null
      ? special[1] === "-"
        ? Number.NEGATIVE_INFINITY
        : Number.POSITIVE_INFINITY
      : Number(raw);
  if (raw === "" || (Number.isNaN(value) && !/^nan$/i.test(raw))) return null;
  return { name, labels, value };
}

/** GET /metrics; fails the test unless it answers 200. */
export async function scrape(
  gateway: RunningGateway,
  headers: Record<string, string> = {},
  timeoutMs = 10_000,
): Promise<Scrape> {
  const res = await fetch(`${gateway.url}/metrics`, { headers, signal: AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text}`);
  return new Scrape(text);
}

/** What promtool said of an exposition, or why it could not say anything. */
export type PromtoolVerdict =
  | { readonly ran: false; readonly reason: string }
  | { readonly ran: true; readonly status: number | null; readonly report: string };

/** Why a promtool check is skipped where it is not installed. */
export const NO_PROMTOOL =
  "promtool is not installed (Debian package `prometheus`): the exposition was not checked by it";

/** `promtool check metrics` on `text`: exit 0 is clean, 3 is lint only, 1 a parse error. */
export function promtoolCheck(text: string): PromtoolVerdict {
  const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8", timeout: 30_000 });
  if ((run.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT")
    return { ran: false, reason: NO_PROMTOOL };
  if (run.error !== undefined) throw run.error;
  return { ran: true, status: run.status, report: `${run.stdout}${run.stderr}` };
}

/**
 * promtool's lint lines that are expected in the gateway's /metrics: the `:` in llama.cpp's
 * names, its counters without `_total`, and prom-client's `nodejs_active_*_total` gauges.
 */
export const EXPECTED_LINT =
  /(metric names should not contain ':'|counter metrics should have "_total" suffix|non-counter metrics should not have "_total" suffix)$/;
