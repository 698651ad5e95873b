import { COLORS, esc } from "./svg.js";

export interface Panel {
  readonly title: string;
  readonly unit: string;
  /** Bar groups along the x axis (e.g. p50, p90, p99). */
  readonly groups: readonly string[];
  /** One series per system: a value per group (NaN: not measured). */
  readonly series: ReadonlyArray<{ name: string; values: readonly number[] }>;
}

const PANEL_W = 480;
const PANEL_H = 280;

function niceMax(value: number): number {
  if (!(value > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function fmt(value: number): string {
  if (!Number.isFinite(value)) return "–";
  if (value >= 100) return Math.round(value).toLocaleString("en-US");
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** One grouped bar chart with a linear axis from 0 and every bar labelled with its value. */
function panel(p: Panel, x0: number, y0: number): string {
  const left = 56;
  const top = 30;
  const plotW = PANEL_W - left - 10;
  const plotH = PANEL_H - top - 40;
  const max = niceMax(Math.max(...p.series.flatMap((s) => s.values.filter(Number.isFinite))));
  const out: string[] = [`<g transform="translate(${x0},${y0})">`];
  out.push(`<text x="${left}" y="16" font-weight="bold">${esc(p.title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const y = top + plotH - (plotH * i) / 4;
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" stroke="#e9ecef"/>`);
    out.push(
      `<text x="${left - 6}" y="${y + 4}" text-anchor="end" fill="#495057">${fmt((max * i) / 4)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(14,${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#495057">${esc(p.unit)}</text>`,
  );
  const groupW = plotW / p.groups.length;
  const barW = Math.min(36, (groupW - 16) / p.series.length);
  p.groups.forEach((group, g) => {
    const gx = left + g * groupW + (groupW - barW * p.series.length) / 2;
    p.series.forEach((s, k) => {
      const value = s.values[g] ?? Number.NaN;
      if (!Number.isFinite(value)) return;
      const h = Math.max(1, (value / max) * plotH);
      const x = gx + k * barW;
      const y = top + plotH - h;
      out.push(
        `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[s.name] ?? "#868e96"}"><title>${esc(`${s.name} ${group}: ${fmt(value)} ${p.unit}`)}</title></rect>`,
      );
      out.push(
        `<text x="${(x + barW / 2 - 1).toFixed(1)}" y="${(y - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(value)}</text>`,
      );
    });
    out.push(
      `<text x="${left + g * groupW + groupW / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(group)}</text>`,
    );
  });
  out.push(
    `<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#495057"/>`,
  );
  out.push("</g>");
  return out.join("\n");
}

/** The report's chart: its panels two to a row, a legend, and the machine label. */
export function chartSvg(panels: readonly Panel[], subtitle: string): string {
  const cols = 2;
  const rows = Math.ceil(panels.length / cols);
  const width = cols * PANEL_W + 20;
  const height = rows * PANEL_H + 70;
  const names = [...new Set(panels.flatMap((p) => p.series.map((s) => s.name)))];
  // Each entry as wide as its name needs (about 6.5 px a character at 11 px), at least 110 px.
  let legendX = 20;
  const legend = names
    .map((name) => {
      const x = legendX;
      legendX += Math.max(110, 30 + Math.ceil(name.length * 6.5));
      return `<rect x="${x}" y="36" width="12" height="12" fill="${COLORS[name] ?? "#868e96"}"/><text x="${x + 16}" y="46">${esc(name)}</text>`;
    })
    .join("");
  const body = panels
    .map((p, i) => panel(p, 10 + (i % cols) * PANEL_W, 60 + Math.floor(i / cols) * PANEL_H))
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">
<title>LlamaWrapper Gateway benchmarks: latency percentiles per system (${esc(subtitle)})</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="20" y="20" font-size="14" font-weight="bold">LlamaWrapper Gateway benchmarks: latency percentiles per system</text>
<text x="20" y="32" fill="#495057">${esc(subtitle)}</text>
${legend}
${body}
</svg>
`;
}
