// A one-message chat against /v1/chat/completions, streamed, with time to first token and
// tokens per second. It tries the API key entered here, else the admin key; a 401/403 asks
// for an API key (without leaving the dashboard).

import { html, useEffect, useRef, useState } from "/dashboard/vendor/htm-preact.mjs";
import { errorMessage, getApiKey, getKey, readSse, setApiKey } from "./api.mjs";
import { DASH, fmtMs } from "./format.mjs";
import { useTopics } from "./store.mjs";

const MAX_OUTPUT = 200_000;

async function readBodyJson(res) {
  const text = await res.text().catch(() => "");
  try {
    return JSON.parse(text);
  } catch {
    return text ? { text: text.slice(0, 500) } : null;
  }
}

export function Playground() {
  const s = useTopics("status");
  const models = Array.isArray(s.status?.models) ? s.status.models : [];
  const ids = models.map((m) => String(m.id));
  const [model, setModel] = useState("");
  const [input, setInput] = useState("");
  const [output, setOutput] = useState("");
  const [reasoning, setReasoning] = useState("");
  const [ttft, setTtft] = useState(null);
  const [tps, setTps] = useState(null);
  const [info, setInfo] = useState("");
  const [error, setError] = useState(null);
  const [running, setRunning] = useState(false);
  const [askKey, setAskKey] = useState(false);
  const [keyDraft, setKeyDraft] = useState("");
  const controller = useRef(null);

  // Default to a loaded model, else the first one; follow removals.
  const idsKey = ids.join("\n");
  useEffect(() => {
    if (ids.length === 0 || ids.includes(model)) return;
    const loaded = models.find((m) => m.state === "loaded");
    setModel(loaded ? String(loaded.id) : ids[0]);
  }, [idsKey]);
  useEffect(() => () => controller.current?.abort(), []);

  const send = async () => {
    const text = input.trim();
    if (!model || !text || running) return;
    const ctrl = new AbortController();
    controller.current = ctrl;
    setRunning(true);
    setOutput("");
    setReasoning("");
    setTtft(null);
    setTps(null);
    setError(null);
    setInfo("");
    const key = getApiKey() || getKey();
    const started = performance.now();
    let first = null;
    let chunks = 0;
    let usage = null;
    let speed = null;
    let answer = "";
    let thought = "";
    let paint = null;
    const draw = () => {
      paint = null;
      setOutput(answer);
      setReasoning(thought);
      if (first !== null) {
        const seconds = (performance.now() - first) / 1000;
        if (seconds > 0.2 && chunks > 1) setTps((chunks - 1) / seconds);
      }
    };
    try {
      const res = await fetch("/v1/chat/completions", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "text/event-stream",
          ...(key ? { authorization: `Bearer ${key}` } : {}),
        },
        body: JSON.stringify({
          model,
          messages: [{ role: "user", content: text }],
          stream: true,
          stream_options: { include_usage: true },
        }),
        signal: ctrl.signal,
        cache: "no-store",
      });
      if (res.status === 401 || res.status === 403) {
        const data = await readBodyJson(res);
        setAskKey(true);
        setError(`${errorMessage(data, res)} — enter an API key for the playground.`);
        return;
      }
      if (!res.ok) {
        const data = await readBodyJson(res);
        setError(errorMessage(data, res));
        return;
      }
      const type = res.headers.get("content-type") ?? "";
      if (!type.includes("text/event-stream")) {
        // An answer that came whole (JSON).
        const data = await readBodyJson(res);
        first = performance.now();
        setTtft(first - started);
        answer = String(data?.choices?.[0]?.message?.content ?? "");
        usage = data?.usage ?? null;
        draw();
      } else {
        await readSse(
          res.body,
          (event) => {
            if (event.data === "[DONE]") return;
            let chunk;
            try {
              chunk = JSON.parse(event.data);
            } catch {
              return;
            }
            if (!chunk || typeof chunk !== "object") return;
            if (chunk.error) {
              setError(
                typeof chunk.error.message === "string" ? chunk.error.message : JSON.stringify(chunk.error),
              );
              return;
            }
            const delta = chunk.choices?.[0]?.delta ?? {};
            const piece = typeof delta.content === "string" ? delta.content : "";
            const think = typeof delta.reasoning_content === "string" ? delta.reasoning_content : "";
            if ((piece || think) && first === null) {
              first = performance.now();
              setTtft(first - started);
            }
            if (piece || think) chunks += 1;
            if (answer.length < MAX_OUTPUT) answer += piece;
            if (thought.length < MAX_OUTPUT) thought += think;
            if (chunk.usage) usage = chunk.usage;
            if (typeof chunk.timings?.predicted_per_second === "number")
              speed = chunk.timings.predicted_per_second;
            if (paint === null) paint = setTimeout(draw, 50);
          },
          { signal: ctrl.signal },
        );
      }
    } catch (e) {
      if (!ctrl.signal.aborted) setError(e?.message ?? String(e));
    } finally {
      clearTimeout(paint);
      draw();
      const end = performance.now();
      const count = typeof usage?.completion_tokens === "number" ? usage.completion_tokens : chunks;
      if (speed !== null) setTps(speed);
      else if (first !== null && end - first > 0 && count > 0) setTps(count / ((end - first) / 1000));
      if (usage)
        setInfo(
          `${usage.prompt_tokens ?? "?"} prompt · ${usage.completion_tokens ?? "?"} completion tokens · ${fmtMs(end - started)} in all`,
        );
      else if (first !== null) setInfo(`${chunks} chunks · ${fmtMs(end - started)} in all`);
      if (ctrl.signal.aborted) setInfo((prev) => `${prev ? `${prev} · ` : ""}stopped`);
      setRunning(false);
      controller.current = null;
    }
  };

  const saveKey = (event) => {
    event.preventDefault();
    setApiKey(keyDraft.trim());
    setKeyDraft("");
    setAskKey(false);
    setError(null);
  };

  return html`<section class="panel" id="playground">
    <div class="panel-head">
      <h2>Playground</h2>
      <select data-testid="playground-model" value=${model} onChange=${(e) => setModel(e.currentTarget.value)}>
        ${ids.length === 0 ? html`<option value="">no models</option>` : null}
        ${ids.map((id) => html`<option value=${id}>${id}</option>`)}
      </select>
      <div class="spacer"></div>
      <span class="stat">TTFT <b data-testid="playground-ttft">${ttft === null ? DASH : fmtMs(ttft)}</b></span>
      <span class="stat">speed <b data-testid="playground-tps">${tps === null ? DASH : `${tps.toFixed(1)} tok/s`}</b></span>
    </div>
    ${
      askKey
        ? html`<form class="inline-form" onSubmit=${saveKey}>
          <input type="password" data-testid="playground-key" placeholder="API key for /v1" autocomplete="off"
            value=${keyDraft} onInput=${(e) => setKeyDraft(e.currentTarget.value)} />
          <button type="submit" data-testid="playground-key-save">Use this key</button>
        </form>`
        : null
    }
    <textarea data-testid="playground-input" rows="4" placeholder="Ask something… (Ctrl+Enter sends)" value=${input}
      onInput=${(e) => setInput(e.currentTarget.value)}
      onKeyDown=${(e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          send();
        }
      }}></textarea>
    <div class="row">
      <button type="button" class="primary" data-testid="playground-send" disabled=${running || !model} onClick=${send}>Send</button>
      <button type="button" data-testid="playground-stop" disabled=${!running} onClick=${() => controller.current?.abort()}>Stop</button>
      <span class="muted" data-testid="playground-info">${running ? "streaming…" : info}</span>
      ${
        getApiKey() && !askKey
          ? html`<button type="button" class="ghost" onClick=${() => {
              setApiKey("");
              setInfo("API key forgotten");
            }}>forget API key</button>`
          : null
      }
    </div>
    ${error ? html`<div class="error-box" data-testid="playground-error" role="alert">${error}</div>` : null}
    ${reasoning ? html`<details class="reasoning"><summary>reasoning</summary><div class="reply">${reasoning}</div></details>` : null}
    <div class="reply" data-testid="playground-output" aria-live="polite">${output}</div>
  </section>`;
}
