// The machine: CPU, memory, event-loop lag, and each GPU, as small bars.

import { html } from "/dashboard/vendor/htm-preact.mjs";
import { DASH, fmtBytes, fmtMs, fmtNum, fmtTime } from "./format.mjs";
import { useTopics } from "./store.mjs";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const clamp = (v) => Math.max(0, Math.min(1, v));

/** A labelled bar; `ratio` 0..1 (null: empty), coloured by how full it is. */
function Gauge({ label, ratio, text, testid }) {
  const r = isNum(ratio) ? clamp(ratio) : null;
  const tone = r === null ? "none" : r >= 0.9 ? "bad" : r >= 0.7 ? "warn" : "ok";
  return html`<div class="gauge" data-testid=${testid}>
    <div class="gauge-label"><span>${label}</span><span class="mono">${text}</span></div>
    <div class="bar"><div class=${`fill tone-${tone}`} style=${{ width: `${r === null ? 0 : (r * 100).toFixed(1)}%` }}></div></div>
  </div>`;
}

export function Machine() {
  const s = useTopics("machine");
  const m = s.machine;
  if (!m)
    return html`<section class="panel" id="machine"><div class="panel-head"><h2>Machine</h2></div>
      <div class="muted pad" data-testid="machine">waiting for the first reading…</div></section>`;
  const cpu = m.cpu ?? {};
  const mem = m.memory ?? {};
  const used = isNum(mem.totalBytes) && isNum(mem.freeBytes) ? mem.totalBytes - mem.freeBytes : null;
  const gpus = Array.isArray(m.gpus) ? m.gpus.slice(0, 32) : [];
  const lag = m.eventLoopLagMs;
  return html`<section class="panel" id="machine">
    <div class="panel-head"><h2>Machine</h2><span class="muted">read ${fmtTime(typeof m.at === "number" ? m.at : Date.parse(m.at))}</span></div>
    <div class="machine" data-testid="machine">
      <div class="card">
        <h3>CPU <span class="muted">${fmtNum(cpu.cores)} cores</span></h3>
        <${Gauge} testid="machine-load" label="load (1 min) / cores" ratio=${isNum(cpu.load1) && cpu.cores ? cpu.load1 / cpu.cores : null}
          text=${`${fmtNum(cpu.load1, 2)} / ${fmtNum(cpu.cores)}`} />
        <${Gauge} testid="machine-process-cpu" label="gateway process" ratio=${isNum(cpu.processPercent) ? cpu.processPercent / 100 : null}
          text=${isNum(cpu.processPercent) ? `${cpu.processPercent.toFixed(1)}%` : DASH} />
      </div>
      <div class="card">
        <h3>Memory <span class="muted">${fmtBytes(mem.totalBytes)}</span></h3>
        <${Gauge} testid="machine-memory" label="used" ratio=${used !== null && mem.totalBytes ? used / mem.totalBytes : null}
          text=${`${fmtBytes(used)} / ${fmtBytes(mem.totalBytes)}`} />
        <${Gauge} testid="machine-rss" label="gateway RSS" ratio=${isNum(mem.processRssBytes) && mem.totalBytes ? mem.processRssBytes / mem.totalBytes : null}
          text=${fmtBytes(mem.processRssBytes)} />
      </div>
      <div class="card">
        <h3>Event loop</h3>
        <${Gauge} testid="machine-lag" label="lag (100 ms = full)" ratio=${isNum(lag) ? lag / 100 : null} text=${fmtMs(lag)} />
      </div>
      ${gpus.length === 0 ? html`<div class="card"><h3>GPUs</h3><div class="muted">none reported</div></div>` : null}
      ${gpus.map(
        (g, n) => html`<div class="card" key=${g.index ?? n} data-testid=${`machine-gpu-${g.index ?? n}`}>
          <h3>GPU ${g.index ?? n} <span class="muted clip">${g.name ? String(g.name) : ""}</span></h3>
          <${Gauge} label="utilisation" ratio=${isNum(g.utilizationPercent) ? g.utilizationPercent / 100 : null}
            text=${isNum(g.utilizationPercent) ? `${g.utilizationPercent}%` : DASH} />
          <${Gauge} label="memory" ratio=${isNum(g.memoryUsedBytes) && g.memoryTotalBytes ? g.memoryUsedBytes / g.memoryTotalBytes : null}
            text=${`${fmtBytes(g.memoryUsedBytes)} / ${fmtBytes(g.memoryTotalBytes)}`} />
        </div>`,
      )}
    </div>
  </section>`;
}
