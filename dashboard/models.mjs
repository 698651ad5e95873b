// Every configured model: state, instances, load, memory, TTL, and the admin buttons.

import { html } from "/dashboard/vendor/htm-preact.mjs";
import { loadModel, reloadConfig, resetModel, unloadModel } from "./actions.mjs";
import { DASH, fmtBytes, fmtDuration, toMs } from "./format.mjs";
import { useNow, useTopics } from "./store.mjs";

const STATES = new Set(["loaded", "loading", "unloaded", "failed"]);
const stateClass = (s) => (STATES.has(s) ? s : "unknown");
const MAX_FAILURE_LINES = 40;

function StateBadge({ value }) {
  const text = typeof value === "string" ? value : "unknown";
  return html`<span class=${`badge state state-${stateClass(text)}`}><span class="dot"></span>${text}</span>`;
}

function ttlText(m, serverNow) {
  if (typeof m.ttlSeconds !== "number") return m.pinned ? "pinned: never idles out" : "no TTL";
  const ttl = `TTL ${fmtDuration(m.ttlSeconds)}`;
  if (m.pinned) return `pinned (${ttl})`;
  if (m.state !== "loaded") return ttl;
  if ((m.inFlight ?? 0) > 0 || (m.queueDepth ?? 0) > 0) return `busy · ${ttl}`;
  const last = toMs(m.lastUsedAt);
  if (last === null) return ttl;
  const left = m.ttlSeconds - (serverNow - last) / 1000;
  return left > 0 ? `unloads in ${fmtDuration(left)}` : "unloading (TTL passed)";
}

function Instance({ i, serverNow }) {
  const ready = toMs(i.readySince);
  const up = ready === null ? null : (serverNow - ready) / 1000;
  return html`<div class=${`instance inst-${typeof i.state === "string" ? i.state : "unknown"}`}>
    <span class="inst-name">${String(i.name ?? DASH)}</span>
    <span class="inst-state">${String(i.state ?? DASH)}</span>
    <span title="process id">pid ${i.pid ?? DASH}</span>
    ${
      typeof i.socket === "string"
        ? html`<span title=${`Unix socket ${i.socket}`}>socket</span>`
        : html`<span title="port">:${i.port ?? DASH}</span>`
    }
    <span title=${i.readySince ? `ready since ${i.readySince}` : "not ready"}>up ${fmtDuration(up)}</span>
    <span title="requests in flight on this instance">${i.inFlight ?? 0} in flight</span>
    ${typeof i.queued === "number" ? html`<span>${i.queued} queued</span>` : null}
    <span class=${(i.restarts ?? 0) > 0 ? "warn" : ""} title=${`recent crashes: ${i.recentCrashes ?? 0}`}>
      ${i.restarts ?? 0} restarts</span>
  </div>`;
}

function Failure({ m, serverNow, readOnly }) {
  const retry = toMs(m.retryAt);
  const lines = [];
  for (const i of Array.isArray(m.instances) ? m.instances : []) {
    if (Array.isArray(i.lastLines))
      for (const line of i.lastLines) lines.push({ name: String(i.name ?? ""), line: String(line) });
  }
  const shown = lines.slice(-MAX_FAILURE_LINES);
  return html`<div class="failure">
    <div class="failure-head">
      <strong>failed:</strong> <span>${m.failure ? String(m.failure) : "no reason given"}</span>
      ${retry !== null ? html`<span class="muted"> · tries again by itself in ${fmtDuration((retry - serverNow) / 1000)}</span>` : null}
      ${
        readOnly
          ? null
          : html`<button type="button" class="danger" data-testid=${`model-reset-${m.id}`} onClick=${() => resetModel(m.id)}>Reset</button>`
      }
    </div>
    ${
      shown.length > 0
        ? html`<div class="log small" data-testid=${`model-lines-${m.id}`}>${shown.map(
            (l, n) => html`<div class="line" key=${n}><span class="inst">${l.name}</span>${l.line}</div>`,
          )}</div>`
        : html`<div class="muted">no output lines kept</div>`
    }
  </div>`;
}

function ModelRow({ m, serverNow, readOnly }) {
  const id = String(m.id);
  const aliases = Array.isArray(m.aliases) ? m.aliases : [];
  const instances = Array.isArray(m.instances) ? m.instances : [];
  const state = typeof m.state === "string" ? m.state : "unknown";
  return html`<div class=${`model model-${stateClass(state)}`} data-testid=${`model-row-${id}`} data-state=${state}>
    <div class="model-main">
      <div class="model-name c-name">
        <span class="model-id">${id}</span>
        ${m.pinned ? html`<span class="badge pin" title="never unloaded to make room">pinned</span>` : null}
        ${m.preload ? html`<span class="badge" title="started with the gateway">preload</span>` : null}
        ${m.discoveredFrom ? html`<span class="badge" title=${`discovered from ${m.discoveredFrom}`}>discovered</span>` : null}
        ${aliases.length > 0 ? html`<div class="aliases">${aliases.map((a) => html`<span class="alias">${String(a)}</span>`)}</div>` : null}
      </div>
      <div class="c-state"><${StateBadge} value=${state} /></div>
      <div class="instances c-inst">
        ${instances.length > 0 ? instances.map((i) => html`<${Instance} key=${String(i.name)} i=${i} serverNow=${serverNow} />`) : html`<span class="muted">no instances</span>`}
      </div>
      <div class="num c-load" title="in flight / queued / max concurrent">
        ${m.inFlight ?? 0} <span class="muted">in flight</span><br />
        <span class=${(m.queueDepth ?? 0) > 0 ? "warn" : ""}>${m.queueDepth ?? 0}</span> <span class="muted">queued</span>
        ${typeof m.maxConcurrent === "number" ? html`<br /><span class="muted">max ${m.maxConcurrent}</span>` : null}
      </div>
      <div class="num c-mem" title="the scheduler's memory estimate">${fmtBytes(m.memoryEstimateBytes)}</div>
      <div class="ttl c-ttl">${ttlText(m, serverNow)}</div>
      <div class="buttons c-btn">
        ${
          readOnly
            ? null
            : html`<button type="button" data-testid=${`model-load-${id}`} disabled=${state === "loaded"}
                onClick=${() => loadModel(id)}>Load</button>
              <button type="button" data-testid=${`model-unload-${id}`} disabled=${state === "unloaded"}
                onClick=${() => unloadModel(id)}>Unload</button>`
        }
      </div>
    </div>
    ${state === "failed" ? html`<${Failure} m=${m} serverNow=${serverNow} readOnly=${readOnly} />` : null}
  </div>`;
}

export function Models({ readOnly }) {
  const s = useTopics("status");
  const now = useNow(1000);
  const serverNow = now + s.skewMs;
  const status = s.status;
  const models = Array.isArray(status?.models) ? status.models : [];
  const retiring = Array.isArray(status?.retiring) ? status.retiring : [];
  const sched = status?.scheduler ?? {};
  return html`<section class="panel" id="models">
    <div class="panel-head">
      <h2>Models</h2>
      <span class="muted">${`${models.length} configured · ${sched.loadedModels ?? 0} loaded of at most ${sched.maxLoadedModels ?? "∞"}`}${
        typeof sched.memoryBudgetBytes === "number"
          ? ` · memory budget ${fmtBytes(sched.memoryBudgetBytes)}`
          : ""
      }</span>
      <div class="spacer"></div>
      ${
        readOnly
          ? html`<span class="note" data-testid="readonly-note">enter the admin key to manage models</span>`
          : html`<button type="button" data-testid="reload-config" onClick=${reloadConfig}
            title="re-read the config file (same as SIGHUP)">Reload config</button>`
      }
    </div>
    <div class="models" data-testid="models-table">
      <div class="model-main model-head">
        <div>model</div><div>state</div><div>instances</div><div>load</div><div>memory</div><div>idle</div><div></div>
      </div>
      ${status === null ? html`<div class="muted pad">waiting for the gateway's status…</div>` : null}
      ${status !== null && models.length === 0 ? html`<div class="muted pad">no models configured</div>` : null}
      ${models.map((m) => html`<${ModelRow} key=${String(m.id)} m=${m} serverNow=${serverNow} readOnly=${readOnly} />`)}
    </div>
    ${
      retiring.length > 0
        ? html`<div class="retiring"><strong>retiring</strong> (replaced or removed by a reload; they stop once idle):
          ${retiring.map(
            (r) => html`<span class="alias" key=${String(r.id)}>${String(r.id)} · ${r.holds ?? 0} requests ·
              ${(Array.isArray(r.instances) ? r.instances : []).map((i) => `${i.name} (${i.state}, pid ${i.pid ?? DASH})`).join(", ")}</span>`,
          )}</div>`
        : null
    }
  </section>`;
}
