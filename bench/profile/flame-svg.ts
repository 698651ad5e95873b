import { esc } from "../report/svg.js";
import type { Category, FlameNode } from "./cpu-profile.js";

const WIDTH = 1200;
const ROW = 17;
const MIN_PX = 0.8;

const PALETTE: Record<Category, string> = {
  gateway: "#4dabf7",
  undici: "#ffa94d",
  pino: "#da77f2",
  "node:http/net": "#69db7c",
  "node other": "#a9e34b",
  gc: "#ff6b6b",
  "native/other": "#ced4da",
};

/**
 * A flame graph (icicle: callers on top) of the gateway's busy time, one box per call path,
 * width ∝ inclusive time. Hover a box for its name, location and share. Plain SVG, no script.
 */
export function flameSvg(tree: FlameNode, title: string): string {
  const boxes: string[] = [];
  let depthMax = 0;
  const total = tree.value || 1;
  const draw = (node: FlameNode, x: number, depth: number) => {
    const w = (node.value / total) * WIDTH;
    if (w < MIN_PX) return;
    depthMax = Math.max(depthMax, depth);
    const y = 40 + depth * ROW;
    const share = ((node.value / total) * 100).toFixed(1);
    const label = `${node.name} ${node.location}`;
    const text =
      w > 50
        ? `<text x="${(x + 3).toFixed(1)}" y="${y + 12}" clip-path="url(#c${boxes.length})">${esc(label)}</text>`
        : "";
    const clip =
      w > 50
        ? `<clipPath id="c${boxes.length}"><rect x="${x.toFixed(1)}" y="${y}" width="${(w - 2).toFixed(1)}" height="${ROW}"/></clipPath>`
        : "";
    boxes.push(
      `<g>${clip}<title>${esc(`${label}\n${share}% of busy time (${node.category})`)}</title><rect x="${x.toFixed(1)}" y="${y}" width="${(w - 0.5).toFixed(1)}" height="${ROW - 1}" fill="${PALETTE[node.category]}"/>${text}</g>`,
    );
    let cx = x;
    for (const child of [...node.children].sort((a, b) => b.value - a.value)) {
      draw(child, cx, depth + 1);
      cx += (child.value / total) * WIDTH;
    }
  };
  draw(tree, 0, 0);
  const legend = Object.entries(PALETTE)
    .map(
      ([name, color], i) =>
        `<rect x="${10 + i * 150}" y="19" width="12" height="12" fill="${color}"/><text x="${26 + i * 150}" y="30">${esc(name)}</text>`,
    )
    .join("");
  const height = 40 + (depthMax + 1) * ROW + 10;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" font-family="monospace" font-size="11">
<title>${esc(title)}</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="13" font-size="12" font-weight="bold">${esc(title)}</text>
${legend}
${boxes.join("\n")}
</svg>
`;
}
