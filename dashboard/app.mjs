// The dashboard's shell: the auth gate (key prompt), the live connection, the header, the
// action bar, and the sections.

import { html, render, useEffect, useState } from "/dashboard/vendor/htm-preact.mjs";
import { applyState, loadState, unloadModel } from "./actions.mjs";
import * as api from "./api.mjs";
import { Charts } from "./charts.mjs";
import { DASH, fmtDuration } from "./format.mjs";
import { Logs } from "./logs.mjs";
import { Machine } from "./machine.mjs";
import { Models } from "./models.mjs";
import { Playground } from "./playground.mjs";
import { Requests } from "./requests.mjs";
import { Sla } from "./sla.mjs";
import { addRequest, setConn, setMachine, setStatus, state, useNow, useTopics } from "./store.mjs";

function parse(data) {
  try {
    return JSON.parse(data);
  } catch {
    return null;
  }
}

/** The highest feed number (`seq`) among records, as a Last-Event-ID, or null. */
function lastSeq(records) {
  let max = 0;
  for (const r of Array.isArray(records) ? records : [])
    if (Number.isInteger(r?.seq) && r.seq > max) max = r.seq;
  return max > 0 ? String(max) : null;
}

/**
 * The live connection: the state first, then the event stream from where the state ended
 * (Last-Event-ID), reconnecting by itself and resuming from the last request event seen.
 */
function useLive(key) {
  useEffect(() => {
    let lastId = null;
    let stopped = false;
    let stateLoaded = false;
    let stream = null;
    /** Loads the state; answers the feed number it reaches (null: none, or it failed). */
    const load = async () => {
      const data = await loadState();
      if (stopped || data === null) return null;
      applyState(data);
      stateLoaded = true;
      return lastSeq(data.requests);
    };
    const connect = () => {
      stream = api.liveStream({
        url: () => "/dashboard/api/events",
        headers: () => ({ ...api.authHeaders(), ...(lastId !== null ? { "last-event-id": lastId } : {}) }),
        onOpen: () => {
          setConn(true, "");
          if (!stateLoaded) load();
        },
        onDown: ({ delay, reason }) => setConn(false, `${reason}; retrying in ${Math.round(delay / 1000)} s`),
        onAuthError: api.reportAuthError,
        onEvent: (event) => {
          const data = parse(event.data);
          if (event.event === "request") {
            if (event.id !== null && event.id !== "") lastId = event.id;
            addRequest(data);
          } else if (event.event === "status") {
            // Another startedAt: the gateway restarted. Its feed counts from 1 again, and its
            // history may hold requests we missed: take the state and resume from there.
            if (setStatus(data))
              load().then((seq) => {
                if (seq !== null) lastId = seq;
              });
          } else if (event.event === "machine") setMachine(data);
        },
        idleMs: 30_000,
      });
    };
    setConn(false, "connecting");
    load().then((seq) => {
      if (stopped) return;
      if (lastId === null) lastId = seq;
      connect();
    });
    return () => {
      stopped = true;
      if (stream) stream.stop();
    };
  }, [key]);
}

function KeyPrompt({ config, message, cancellable, onDone, onCancel }) {
  const [value, setValue] = useState("");
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState(null);
  const hasKey = api.getKey() !== "";
  const submit = async (event) => {
    event.preventDefault();
    const key = value.trim();
    if (!key) {
      setNote("Enter a key first.");
      return;
    }
    setBusy(true);
    setNote(null);
    api.setKey(key);
    try {
      // With dashboard.public the data answers without a key: check it against the admin API.
      if (config?.public) setStatus(await api.fetchAdminStatus());
      else applyState(await api.fetchState());
      onDone(key);
    } catch (error) {
      if (error instanceof api.AuthError)
        setBusy(false); // the app shows why
      else onDone(key); // the gateway is away: the dashboard shows "reconnecting"
    }
  };
  const forget = () => {
    api.setKey("");
    onDone("");
  };
  return html`<div class="prompt-wrap">
    <form class="prompt" data-testid="key-prompt" onSubmit=${submit}>
      <h1>LlamaWrapper gateway</h1>
      <p>Enter an admin key to open the dashboard. It is kept in this tab only (sessionStorage)
        and sent as <code>Authorization: Bearer …</code>.</p>
      ${message ? html`<p class="prompt-error" data-testid="key-message" role="alert">${message}</p>` : null}
      ${note ? html`<p class="prompt-error">${note}</p>` : null}
      <input type="password" data-testid="key-input" placeholder="admin key" autocomplete="off"
        spellcheck="false" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} autofocus />
      <div class="prompt-buttons">
        <button type="submit" class="primary" data-testid="key-submit" disabled=${busy}>
          ${busy ? "Checking…" : "Open dashboard"}</button>
        ${config?.public ? html`<button type="button" data-testid="key-readonly" onClick=${forget}>Continue read-only</button>` : null}
        ${cancellable ? html`<button type="button" data-testid="key-cancel" onClick=${onCancel}>Cancel</button>` : null}
        ${hasKey && !config?.public ? html`<button type="button" data-testid="key-forget" onClick=${forget}>Forget key</button>` : null}
      </div>
    </form>
  </div>`;
}

function Header({ readOnly, hasKey, onKey }) {
  const s = useTopics("status", "conn");
  const now = useNow(1000);
  const status = s.status;
  const uptime =
    status && typeof status.uptimeSeconds === "number"
      ? status.uptimeSeconds + (now - s.statusAt) / 1000
      : null;
  const sched = status?.scheduler;
  return html`<header class="top">
    <div class="brand">LlamaWrapper</div>
    <div class="facts">
      <span title="gateway version">v${status?.version ?? DASH}</span>
      <span title=${status?.startedAt ? `started ${status.startedAt}` : ""}>up ${fmtDuration(uptime)}</span>
      <span title=${status?.config?.file ? `config ${status.config.file} (hash ${status.config.hash ?? "?"})` : "config"}>
        config gen ${status?.config?.generation ?? DASH}</span>
      ${sched ? html`<span>${sched.loadedModels ?? 0}/${sched.maxLoadedModels ?? "∞"} models loaded</span>` : null}
    </div>
    <nav class="jump">
      <a href="#models">models</a><a href="#charts">charts</a><a href="#requests">requests</a>
      <a href="#machine">machine</a><a href="#logs">logs</a><a href="#playground">playground</a>
    </nav>
    <div class="spacer"></div>
    <span class=${`conn ${s.conn.live ? "live" : "down"}`} title=${s.conn.detail}>
      <span class="dot"></span><span data-testid="conn-status">${s.conn.live ? "live" : "reconnecting"}</span>
    </span>
    ${readOnly ? html`<span class="badge ro" title="enter the admin key to manage models">read-only</span>` : null}
    <button type="button" data-testid="key-button" onClick=${onKey}>${hasKey ? "Key ✓" : "Admin key"}</button>
  </header>`;
}

function ActionBar() {
  const s = useTopics("action");
  const [hidden, setHidden] = useState(null);
  const action = s.action;
  const visible = action && hidden !== action.at;
  const problems = action?.extra?.problems;
  const forceUnload = typeof action?.extra?.forceUnload === "string" ? action.extra.forceUnload : null;
  return html`<div class=${`actionbar ${visible ? action.kind : "empty"}`} aria-live="polite">
    <div class="action-text" data-testid="action-message">${visible ? action.text : ""}
      ${
        visible && Array.isArray(problems) && problems.length > 0
          ? html`<ul class="problems">${problems
              .slice(0, 50)
              .map(
                (p) =>
                  html`<li>${typeof p?.path === "string" ? `${p.path}: ` : ""}${String(p?.message ?? JSON.stringify(p))}</li>`,
              )}</ul>`
          : null
      }</div>
    ${
      visible && forceUnload !== null
        ? html`<button type="button" class="danger" data-testid="action-force-unload"
          onClick=${() => unloadModel(forceUnload, true)}>Force unload</button>`
        : null
    }
    ${visible && action.kind !== "pending" ? html`<button type="button" class="ghost" title="dismiss" onClick=${() => setHidden(action.at)}>×</button>` : null}
  </div>`;
}

function Dashboard({ readOnly, keyValue, onKey }) {
  useLive(keyValue);
  return html`<div class="page">
    <${Header} readOnly=${readOnly} hasKey=${keyValue !== ""} onKey=${onKey} />
    <${ActionBar} />
    <main>
      <${Models} readOnly=${readOnly} />
      <${Charts} />
      <${Sla} readOnly=${readOnly} />
      <${Requests} />
      <${Machine} />
      <div class="split">
        <${Logs} readOnly=${readOnly} keyValue=${keyValue} />
        <${Playground} />
      </div>
    </main>
  </div>`;
}

function App() {
  const [config, setConfig] = useState(null);
  const [bootError, setBootError] = useState(null);
  const [key, setKeyValue] = useState(api.getKey());
  const [prompt, setPrompt] = useState(null);
  const boot = () => {
    setBootError(null);
    api.fetchConfig().then(
      (c) => setConfig({ public: c?.public === true, authRequired: c?.authRequired !== false }),
      (error) => setBootError(error?.message ?? String(error)),
    );
  };
  useEffect(() => {
    boot();
    api.onAuthError((error) => {
      const why =
        error.status === 403
          ? "That key is not an admin key (403)."
          : api.getKey()
            ? "The gateway refused the key (401)."
            : "The gateway asks for an admin key (401).";
      api.setKey("");
      setKeyValue("");
      setPrompt({ message: `${why} ${error.message}`, cancellable: false });
    });
  }, []);
  if (bootError)
    return html`<div class="prompt-wrap"><div class="prompt">
      <h1>LlamaWrapper gateway</h1>
      <p class="prompt-error" role="alert">Could not reach the gateway: ${bootError}</p>
      <button type="button" onClick=${boot}>Try again</button></div></div>`;
  if (!config) return html`<p class="boot">Loading the dashboard…</p>`;
  const needKey = config.authRequired && !config.public && key === "";
  if (prompt || needKey)
    return html`<${KeyPrompt} config=${config} message=${prompt?.message ?? null}
      cancellable=${prompt?.cancellable === true && !needKey}
      onCancel=${() => setPrompt(null)}
      onDone=${(k) => {
        setKeyValue(k);
        setPrompt(null);
      }} />`;
  return html`<${Dashboard} readOnly=${config.authRequired && key === ""} keyValue=${key}
    onKey=${() => setPrompt({ message: null, cancellable: true })} />`;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
// For debugging from the console: the live state (read it, do not change it).
Object.defineProperty(window, "llamawrapperDashboard", { value: { state }, configurable: true });
