// A live tail of one model's llama-server output (GET /admin/models/{id}/logs?follow=1):
// the recent lines, then each new one; at most MAX_LINES kept; reconnects by itself.

import { html, useEffect, useRef, useState } from "/dashboard/vendor/htm-preact.mjs";
import { authHeaders, liveStream, logsUrl, reportAuthError } from "./api.mjs";
import { useTopics } from "./store.mjs";

const MAX_LINES = 500;
const MAX_LINE_CHARS = 4000;

/** `event: line` data is {"instance","line"}; a bare JSON string (or raw text) is accepted too. */
function parseLine(data) {
  let value = data;
  try {
    value = JSON.parse(data);
  } catch {
    // raw text
  }
  if (value && typeof value === "object")
    return {
      instance: typeof value.instance === "string" ? value.instance : "",
      text: String(value.line ?? ""),
    };
  return { instance: "", text: typeof value === "string" ? value : String(value) };
}

export function Logs({ readOnly, keyValue }) {
  const s = useTopics("status");
  const models = (Array.isArray(s.status?.models) ? s.status.models : []).map((m) => String(m.id));
  const [model, setModel] = useState("");
  const [lines, setLines] = useState([]);
  const [conn, setConn] = useState("");
  const [follow, setFollow] = useState(true);
  const out = useRef(null);

  useEffect(() => {
    setLines([]);
    if (!model || readOnly) {
      setConn("");
      return undefined;
    }
    let buffer = [];
    let timer = null;
    let serial = 0;
    const flush = () => {
      timer = null;
      const batch = buffer;
      buffer = [];
      setLines((prev) => {
        const next = prev.concat(batch);
        return next.length > MAX_LINES ? next.slice(next.length - MAX_LINES) : next;
      });
    };
    setConn("connecting…");
    const stream = liveStream({
      url: () => logsUrl(model, 200),
      headers: authHeaders,
      // Each (re)connection starts with the recent lines again: start from a clean slate.
      onOpen: () => {
        buffer = [];
        setLines([]);
        setConn("following");
      },
      onDown: ({ delay, reason, fatal }) =>
        setConn(fatal ? `stopped: ${reason}` : `reconnecting in ${Math.round(delay / 1000)} s (${reason})`),
      onAuthError: reportAuthError,
      stopOnClientError: true,
      idleMs: 45_000,
      onEvent: (event) => {
        const { instance, text } = parseLine(event.data);
        serial += 1;
        buffer.push({
          n: serial,
          instance,
          text: text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text,
        });
        if (buffer.length > MAX_LINES) buffer.splice(0, buffer.length - MAX_LINES);
        if (timer === null) timer = setTimeout(flush, 100);
      },
    });
    return () => {
      clearTimeout(timer);
      stream.stop();
    };
  }, [model, readOnly, keyValue]);

  useEffect(() => {
    if (follow && out.current) out.current.scrollTop = out.current.scrollHeight;
  }, [lines, follow]);

  const onScroll = () => {
    const el = out.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    if (atBottom !== follow) setFollow(atBottom);
  };

  return html`<section class="panel" id="logs">
    <div class="panel-head">
      <h2>Logs</h2>
      <select data-testid="logs-model" value=${model} onChange=${(e) => setModel(e.currentTarget.value)} disabled=${readOnly}>
        <option value="">choose a model…</option>
        ${models.map((id) => html`<option value=${id}>${id}</option>`)}
      </select>
      <span class="muted" data-testid="logs-status">${conn}</span>
      <div class="spacer"></div>
      <label class="check"><input type="checkbox" checked=${follow} onChange=${(e) => setFollow(e.currentTarget.checked)} /> follow</label>
      <button type="button" class="ghost" onClick=${() => setLines([])}>clear</button>
    </div>
    ${readOnly ? html`<div class="note pad">enter the admin key to read the models' logs</div>` : null}
    <div class="log tail" data-testid="logs-output" ref=${out} onScroll=${onScroll}>
      ${lines.map((l) => html`<div class="line" key=${l.n}>${l.instance ? html`<span class="inst">${l.instance}</span>` : null}${l.text}</div>`)}
      ${!readOnly && model === "" ? html`<div class="muted">choose a model to follow its llama-server output</div>` : null}
      ${model !== "" && lines.length === 0 && conn === "following" ? html`<div class="muted">no output yet</div>` : null}
    </div>
  </section>`;
}
