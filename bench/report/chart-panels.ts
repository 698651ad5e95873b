import type { Panel } from "./chart.js";
import { num } from "./format.js";
import type { BenchResults } from "./results.js";

/** The chart's panels from whatever the run measured. */
export function chartPanels(r: BenchResults): Panel[] {
  const panels: Panel[] = [];
  const series = <T>(systems: Record<string, T>, values: (t: T) => number[]) =>
    Object.entries(systems).map(([name, t]) => ({ name, values: values(t) }));
  if (r.s1) {
    panels.push({
      title: `Scenario 1: latency at ${r.s1.rate} req/s, non-streaming`,
      unit: "µs",
      groups: ["p50", "p90", "p99"],
      series: series(r.s1.systems, (s) => [s.latencyUs.p50, s.latencyUs.p90, s.latencyUs.p99]),
    });
  }
  if (r.s2) {
    const rps = Object.entries(r.s2.systems)
      .map(([name, s]) => `${name} ${num(s.requestsPerSecond)}`)
      .join(", ");
    panels.push({
      title: `Scenario 2: latency at max throughput (req/s: ${rps})`,
      unit: "µs",
      groups: ["p50", "p90", "p99"],
      series: series(r.s2.systems, (s) => [s.latencyUs.p50, s.latencyUs.p90, s.latencyUs.p99]),
    });
  }
  if (r.s3) {
    panels.push({
      title: `Scenario 3: streaming ${r.s3.tokens} tokens, one per ${r.s3.tokenDelayMs} ms`,
      unit: "ms",
      groups: ["first token p50", "first token p99", "gap p50", "gap p99"],
      series: series(r.s3.systems, (s) => [s.ttftMs.p50, s.ttftMs.p99, s.gapMs.p50, s.gapMs.p99]),
    });
  }
  if (r.s4) {
    panels.push({
      title: `Scenario 4: ${r.s4.streams} concurrent streams, time to first token`,
      unit: "ms",
      groups: ["p50", "p90", "p99"],
      series: series(r.s4.systems, (s) => [s.ttftMs.p50, s.ttftMs.p90, s.ttftMs.p99]),
    });
  }
  const s5 = r.s5 ?? null;
  if (s5) {
    const loads = [
      ["direct", "direct"],
      ["gateway miss", "miss"],
      ["gateway hit", "hit"],
    ] as const;
    panels.push({
      title: `Scenario 5: cache hit at ${s5.rate} req/s (JSON, streamed)`,
      unit: "µs",
      groups: ["JSON p50", "JSON p99", "stream p50", "stream p99"],
      series: loads.map(([name, k]) => ({
        name,
        values: [
          s5.json[k].latencyUs.p50,
          s5.json[k].latencyUs.p99,
          s5.stream[k].latencyUs.p50,
          s5.stream[k].latencyUs.p99,
        ],
      })),
    });
  }
  return panels;
}
