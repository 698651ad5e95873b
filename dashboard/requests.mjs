// The live request table (newest first, at most MAX_ROWS kept), its filters, and the
// details of the chosen request. Every field is client- or server-supplied: text only.

import { Component, html, useMemo, useState } from "/dashboard/vendor/htm-preact.mjs";
import { asText, DASH, fmtDateTime, fmtMs, fmtNum, fmtTime, statusClass } from "./format.mjs";
import { MAX_ROWS, recordKey, useTopics } from "./store.mjs";

/** Rows drawn at first (all MAX_ROWS are kept and filtered); "show more" draws more. */
const PAGE = 150;
const CLASSES = ["2xx", "3xx", "4xx", "5xx", "499"];
const FIELDS = [
  "requestId",
  "at",
  "method",
  "route",
  "status",
  "durationMs",
  "ttfbMs",
  "queueMs",
  "upstreamMs",
  "model",
  "modelAsked",
  "instance",
  "routing",
  "keyName",
  "usage",
  "tokensPerSecond",
  "cache",
  "errorCode",
  "stream",
  "userAgent",
];

function matchesClass(r, cls) {
  if (!cls) return true;
  if (cls === "499") return r.status === 499;
  return statusClass(r.status) === cls || (cls === "4xx" && r.status === 499);
}

const tokens = (r) =>
  r.usage && typeof r.usage === "object"
    ? `${fmtNum(r.usage.promptTokens)} / ${fmtNum(r.usage.completionTokens)}`
    : DASH;

/** One row; redrawn only when its record or its selection changes. */
class Row extends Component {
  shouldComponentUpdate(next) {
    return next.r !== this.props.r || next.selected !== this.props.selected;
  }
  render({ r, selected, onSelect }) {
    const cls = statusClass(r.status);
    return html`<tr data-testid="request-row" data-request-id=${r.requestId} tabIndex="0"
      class=${`${selected ? "selected " : ""}${cls === "5xx" ? "row-bad" : cls === "4xx" || cls === "499" ? "row-warn" : ""}`}
      onClick=${() => onSelect(r)} onKeyDown=${(e) => (e.key === "Enter" || e.key === " ") && onSelect(r)}>
      <td class="mono" title=${fmtDateTime(r.at)}>${fmtTime(r.at)}</td>
      <td class="clip">${asText(r.model)}</td>
      <td class="clip">${asText(r.keyName)}</td>
      <td class="clip" title=${`${asText(r.method)} ${asText(r.route)}`}>${asText(r.route)}</td>
      <td class=${`num status-${cls}`} title=${typeof r.errorCode === "string" ? r.errorCode : ""}>${asText(r.status)}</td>
      <td class="num">${fmtMs(r.durationMs)}</td>
      <td class="num">${fmtMs(r.ttfbMs)}</td>
      <td class="num">${tokens(r)}</td>
      <td class="num">${typeof r.tokensPerSecond === "number" ? r.tokensPerSecond.toFixed(1) : DASH}</td>
      <td class=${`cache-${typeof r.cache === "string" ? r.cache : "none"}`}>${asText(r.cache)}</td>
    </tr>`;
  }
}

function fieldText(name, value) {
  if (name === "at") return `${fmtDateTime(value)} (${asText(value)})`;
  if (name.endsWith("Ms") && typeof value === "number") return `${fmtMs(value)} (${+value.toFixed(3)})`;
  if (name === "usage" && value && typeof value === "object")
    return `prompt ${asText(value.promptTokens)} · completion ${asText(value.completionTokens)} · cached ${asText(value.cachedTokens)}`;
  if (typeof value === "boolean") return value ? "yes" : "no";
  return asText(value);
}

function Details({ r, onClose }) {
  const extra = Object.keys(r).filter((k) => !FIELDS.includes(k));
  return html`<aside class="details" data-testid="request-details">
    <div class="panel-head"><h3>Request</h3><div class="spacer"></div>
      <button type="button" class="ghost" data-testid="request-details-close" onClick=${onClose}>close</button></div>
    <dl class="kv">${[...FIELDS, ...extra].map(
      (k) =>
        html`<dt>${k}</dt><dd data-field=${k} class=${k === "userAgent" || k === "modelAsked" ? "client-text" : ""}>${fieldText(k, r[k])}</dd>`,
    )}</dl>
  </aside>`;
}

export function Requests() {
  const s = useTopics("requests", "status");
  const [model, setModel] = useState("");
  const [cls, setCls] = useState("");
  const [frozen, setFrozen] = useState(null);
  const [selected, setSelected] = useState(null);
  const rows = frozen ?? s.requests;
  const models = useMemo(() => {
    const ids = new Set();
    for (const m of Array.isArray(s.status?.models) ? s.status.models : []) if (m?.id) ids.add(String(m.id));
    for (const r of s.requests) if (typeof r.model === "string") ids.add(r.model);
    return [...ids].sort().slice(0, 200);
  }, [s.requests, s.status]);
  const [limit, setLimit] = useState(PAGE);
  const matching = rows.filter((r) => (!model || r.model === model) && matchesClass(r, cls));
  const shown = matching.length > limit ? matching.slice(0, limit) : matching;
  const onSelect = (r) => setSelected((current) => (current === r ? null : r));
  return html`<section class="panel" id="requests">
    <div class="panel-head">
      <h2>Requests</h2>
      <span class="muted">${`${matching.length} matching · ${rows.length} kept (at most ${MAX_ROWS})`}</span>
      <div class="spacer"></div>
      <label>model <select data-testid="requests-filter-model" value=${model} onChange=${(e) => setModel(e.currentTarget.value)}>
        <option value="">all</option>
        ${models.map((id) => html`<option value=${id}>${id}</option>`)}
      </select></label>
      <label>status <select data-testid="requests-filter-status" value=${cls} onChange=${(e) => setCls(e.currentTarget.value)}>
        <option value="">all</option>
        ${CLASSES.map((c) => html`<option value=${c}>${c}</option>`)}
      </select></label>
      <button type="button" data-testid="requests-pause" class=${frozen ? "active" : ""}
        onClick=${() => setFrozen(frozen ? null : s.requests)}>${frozen ? "Resume" : "Pause"}</button>
    </div>
    <div class=${`requests-body ${selected ? "with-details" : ""}`}>
      <div class="table-wrap">
        <table class="grid requests" data-testid="requests-table">
          <thead><tr>
            <th>time</th><th>model</th><th>key</th><th>route</th><th class="num">status</th><th class="num">duration</th>
            <th class="num">TTFT</th><th class="num">tokens in/out</th><th class="num">tok/s</th><th>cache</th>
          </tr></thead>
          <tbody>${shown.map((r) => html`<${Row} key=${recordKey(r)} r=${r} selected=${r === selected} onSelect=${onSelect} />`)}</tbody>
        </table>
        ${shown.length === 0 ? html`<div class="muted pad">${rows.length === 0 ? "no requests yet" : "no request matches the filters"}</div>` : null}
        ${
          matching.length > shown.length
            ? html`<div class="more"><button type="button" class="ghost" data-testid="requests-more"
              onClick=${() => setLimit(limit + PAGE)}>${`showing ${shown.length} of ${matching.length}: show more`}</button></div>`
            : null
        }
      </div>
      ${selected ? html`<${Details} r=${selected} onClose=${() => setSelected(null)} />` : null}
    </div>
  </section>`;
}
