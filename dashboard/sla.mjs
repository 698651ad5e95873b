// SLA standing per model (status.sla) and the response cache's counters (status.cache).

import { html } from "/dashboard/vendor/htm-preact.mjs";
import { clearCache } from "./actions.mjs";
import { DASH, fmtBytes, fmtDuration, fmtNum, fmtPct } from "./format.mjs";
import { useTopics } from "./store.mjs";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

/** ok / warn / bad for a ratio against its objective. */
function tone(value, objective) {
  if (!isNum(value)) return "none";
  if (value >= objective) return "ok";
  return value >= objective - (1 - objective) ? "warn" : "bad";
}

function budgetTone(remaining) {
  if (!isNum(remaining)) return "none";
  if (remaining > 0.5) return "ok";
  return remaining > 0 ? "warn" : "bad";
}

function Ratio({ value, objective }) {
  return html`<td class=${`num tone-${tone(value, objective)}`}>${fmtPct(value, 2)}</td>`;
}

function Budget({ remaining }) {
  const width = isNum(remaining) ? Math.max(0, Math.min(1, remaining)) : 0;
  return html`<td class="budget">
    <div class="bar"><div class=${`fill tone-${budgetTone(remaining)}`} style=${{ width: `${(width * 100).toFixed(1)}%` }}></div></div>
    <span class=${`tone-${budgetTone(remaining)}`}>${isNum(remaining) ? fmtPct(remaining, 0) : DASH}</span>
  </td>`;
}

function SlaTable({ sla }) {
  if (sla.length === 0)
    return html`<div class="muted pad" data-testid="sla-table">no model requests in the SLA window yet</div>`;
  return html`<table class="grid" data-testid="sla-table">
    <thead><tr>
      <th>model</th><th class="num">requests</th><th class="num">failed</th><th class="num">availability</th>
      <th class="num">TTFT met</th><th class="num">latency met</th><th class="num">good</th><th class="num">objective</th>
      <th class="num">burn rate</th><th>error budget left</th>
    </tr></thead>
    <tbody>${sla.map(
      (r) => html`<tr key=${String(r.model)} data-testid=${`sla-row-${r.model}`}>
        <td>${String(r.model)} <span class="muted">(${fmtDuration(r.windowSeconds)})</span></td>
        <td class="num">${fmtNum(r.requests)}</td>
        <td class=${`num ${r.failed > 0 ? "tone-bad" : ""}`}>${fmtNum(r.failed)}</td>
        <${Ratio} value=${r.availability} objective=${r.objective} />
        <${Ratio} value=${r.ttftAttainment} objective=${r.objective} />
        <${Ratio} value=${r.latencyAttainment} objective=${r.objective} />
        <${Ratio} value=${r.good} objective=${r.objective} />
        <td class="num">${fmtPct(r.objective, 2)}</td>
        <td class=${`num tone-${isNum(r.burnRate) ? (r.burnRate <= 1 ? "ok" : r.burnRate <= 2 ? "warn" : "bad") : "none"}`}>
          ${r.burnRate === Number.POSITIVE_INFINITY || r.burnRate === "Infinity" ? "∞" : fmtNum(r.burnRate, 2)}</td>
        <${Budget} remaining=${r.errorBudgetRemaining} />
      </tr>`,
    )}</tbody>
  </table>`;
}

function Cache({ cache, readOnly }) {
  if (!cache || typeof cache !== "object") return html`<div class="muted pad">no cache numbers yet</div>`;
  const lookups = (cache.hits ?? 0) + (cache.misses ?? 0);
  const rows = [
    ["store", cache.enabled === false ? "disabled" : String(cache.store ?? DASH)],
    ["entries", `${fmtNum(cache.entries)}${isNum(cache.maxEntries) ? ` / ${fmtNum(cache.maxEntries)}` : ""}`],
    ["bytes", `${fmtBytes(cache.bytes)}${isNum(cache.maxBytes) ? ` / ${fmtBytes(cache.maxBytes)}` : ""}`],
    ["hit ratio", lookups > 0 ? fmtPct(cache.hits / lookups) : DASH],
    [
      "hits · misses · bypasses",
      `${fmtNum(cache.hits)} · ${fmtNum(cache.misses)} · ${fmtNum(cache.bypasses)}`,
    ],
    ["coalesced · stored", `${fmtNum(cache.coalesced)} · ${fmtNum(cache.stored)}`],
    [
      "evictions · expirations · errors",
      `${fmtNum(cache.evictions)} · ${fmtNum(cache.expirations)} · ${fmtNum(cache.errors)}`,
    ],
    ["waiting", fmtNum(cache.waiting)],
  ];
  return html`<div class="cache" data-testid="cache-panel">
    <dl class="kv">${rows.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>
    ${readOnly ? null : html`<button type="button" data-testid="cache-clear" onClick=${clearCache}>Clear cache</button>`}
  </div>`;
}

export function Sla({ readOnly }) {
  const s = useTopics("status");
  const sla = Array.isArray(s.status?.sla) ? s.status.sla.filter((r) => r && typeof r === "object") : [];
  return html`<div class="split wide-left">
    <section class="panel" id="sla">
      <div class="panel-head"><h2>SLA</h2><span class="muted">per model over its window; colours against the availability objective</span></div>
      <div class="scroll-x"><${SlaTable} sla=${sla} /></div>
    </section>
    <section class="panel" id="cache">
      <div class="panel-head"><h2>Response cache</h2></div>
      <${Cache} cache=${s.status?.cache} readOnly=${readOnly} />
    </section>
  </div>`;
}
