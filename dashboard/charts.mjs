// Live charts (uPlot) over the last 10 minutes, one point per 5-s bucket, computed from the
// request events (store.chartSeries). Each chart redraws every 2 s while the tab is visible.

import { html, useEffect, useRef } from "/dashboard/vendor/htm-preact.mjs";
import uPlot from "/dashboard/vendor/uplot.mjs";
import { fmtTime } from "./format.mjs";
import { BUCKET_MS, chartSeries, WINDOW_BUCKETS } from "./store.mjs";

const HEIGHT = 150;
const REDRAW_MS = 2000;

function cssVar(name, fallback) {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

const two = (n) => String(n).padStart(2, "0");
function hhmm(seconds) {
  const d = new Date(seconds * 1000);
  return `${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** Every chart shows the same window, the last 10 minutes, whatever its data covers. */
function lastTenMinutes() {
  const now = Date.now() / 1000;
  return [now - (WINDOW_BUCKETS * BUCKET_MS) / 1000, now];
}

/** When uPlot does not draw every point: the indexes of values with no value on either side. */
function isolated(u, seriesIdx, show) {
  if (show) return null;
  const values = u.data[seriesIdx];
  const idxs = [];
  for (let i = 0; i < values.length; i += 1) {
    if (values[i] == null) continue;
    if ((i === 0 || values[i - 1] == null) && (i === values.length - 1 || values[i + 1] == null))
      idxs.push(i);
  }
  return idxs.length > 0 ? idxs : null;
}

const zeroBased = (_u, _min, max) => [0, typeof max === "number" && max > 0 ? max * 1.15 : 1];
const percentRange = () => [0, 100];

const shortMs = (v) => (v >= 1000 ? `${+(v / 1000).toFixed(v >= 10_000 ? 0 : 1)}s` : `${Math.round(v)}ms`);
const shortRate = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : +v.toFixed(2));

const CHARTS = [
  {
    id: "rps",
    title: "Requests / s",
    pick: (d) => d.rps,
    range: zeroBased,
    tick: shortRate,
    value: (v) => `${v.toFixed(2)}/s`,
    series: [
      { label: "all", color: "#5aa9e6", fill: "rgba(90,169,230,0.12)" },
      { label: "5xx", color: "#f85149" },
    ],
  },
  {
    id: "tps",
    title: "Completion tokens / s",
    pick: (d) => d.tps,
    range: zeroBased,
    tick: shortRate,
    value: (v) => `${v.toFixed(1)} tok/s`,
    series: [{ label: "tokens", color: "#3fb950", fill: "rgba(63,185,80,0.12)" }],
  },
  {
    id: "latency",
    title: "Latency (successful requests)",
    pick: (d) => d.latency,
    range: zeroBased,
    tick: shortMs,
    value: shortMs,
    series: [
      { label: "p50", color: "#a371f7" },
      { label: "p95", color: "#db8a3a" },
    ],
  },
  {
    id: "ttft",
    title: "Time to first token (streams)",
    pick: (d) => d.ttft,
    range: zeroBased,
    tick: shortMs,
    value: shortMs,
    series: [
      { label: "p50", color: "#39c5cf" },
      { label: "p95", color: "#e3b341" },
    ],
  },
  {
    id: "cache",
    title: "Cache hit ratio (hits / hits + misses)",
    pick: (d) => d.cache,
    range: percentRange,
    tick: (v) => `${Math.round(v)}%`,
    value: (v) => `${v.toFixed(0)}%`,
    series: [{ label: "hit ratio", color: "#56d4a4", fill: "rgba(86,212,164,0.12)" }],
  },
  {
    id: "load",
    title: "In flight and queued (all models)",
    pick: (d) => d.load,
    range: zeroBased,
    tick: shortRate,
    value: (v) => `${v}`,
    series: [
      { label: "in flight", color: "#5aa9e6", fill: "rgba(90,169,230,0.12)" },
      { label: "queued", color: "#d29922" },
    ],
  },
];

function Chart({ spec }) {
  const box = useRef(null);
  useEffect(() => {
    const el = box.current;
    const axis = cssVar("--muted", "#8b96a5");
    const grid = cssVar("--grid", "rgba(139,150,165,0.15)");
    const font = "11px system-ui, sans-serif";
    const axisOpts = {
      stroke: axis,
      font,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1, size: 4 },
    };
    const opts = {
      width: Math.max(160, el.clientWidth),
      height: HEIGHT,
      cursor: { drag: { x: false, y: false, setScale: false } },
      legend: { show: true, live: true },
      scales: { x: { time: true, range: lastTenMinutes }, y: { range: spec.range } },
      axes: [
        { ...axisOpts, space: 60, size: 30, values: (_u, ticks) => ticks.map((v) => hhmm(v)) },
        { ...axisOpts, size: 46, values: (_u, ticks) => ticks.map((v) => spec.tick(v)) },
      ],
      series: [
        { label: "time", value: (_u, v) => (v == null ? "—" : fmtTime(v * 1000)) },
        ...spec.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          fill: s.fill,
          width: 1.5,
          // Lines need two neighbours: a value alone between gaps is drawn as a dot.
          points: { size: 5, width: 1, stroke: s.color, fill: s.color, filter: isolated },
          value: (_u, v) => (v == null ? "—" : spec.value(v)),
        })),
      ],
    };
    const chart = new uPlot(opts, spec.pick(chartSeries()), el);
    const timer = setInterval(() => {
      if (!document.hidden) chart.setData(spec.pick(chartSeries()));
    }, REDRAW_MS);
    // Resize on the next frame, never inside the observer's callback (no RO loop errors).
    let frame = 0;
    const observer = new ResizeObserver(() => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => {
        const width = el.clientWidth;
        if (width > 0 && Math.abs(width - chart.width) > 1) chart.setSize({ width, height: HEIGHT });
      });
    });
    observer.observe(el);
    return () => {
      clearInterval(timer);
      cancelAnimationFrame(frame);
      observer.disconnect();
      chart.destroy();
    };
  }, []);
  return html`<div class="chart">
    <h3>${spec.title}</h3>
    <div class="chart-box" data-testid=${`chart-${spec.id}`} ref=${box}></div>
  </div>`;
}

export function Charts() {
  return html`<section class="panel" id="charts">
    <div class="panel-head"><h2>Traffic</h2><span class="muted">last 10 minutes, 5-second buckets, from the live request events</span></div>
    <div class="charts">${CHARTS.map((spec) => html`<${Chart} key=${spec.id} spec=${spec} />`)}</div>
  </section>`;
}
