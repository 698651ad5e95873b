// Talking to the gateway: the admin key (sessionStorage only), JSON calls, a small SSE
// reader over fetch() (EventSource cannot send Authorization), and a reconnecting stream.

const ADMIN_KEY = "llamawrapper.dashboard.adminKey";
const API_KEY = "llamawrapper.dashboard.apiKey";

function readStored(name) {
  try {
    return sessionStorage.getItem(name) || "";
  } catch {
    return "";
  }
}

function writeStored(name, value) {
  try {
    if (value) sessionStorage.setItem(name, value);
    else sessionStorage.removeItem(name);
  } catch {
    // Storage refused (private mode): the key lives for this page only.
  }
}

let memoryKey = null;
export const getKey = () => memoryKey ?? readStored(ADMIN_KEY);
export function setKey(key) {
  memoryKey = key || "";
  writeStored(ADMIN_KEY, key);
}
export const getApiKey = () => readStored(API_KEY);
export const setApiKey = (key) => writeStored(API_KEY, key);

/** The key was refused (401) or is not an admin key (403). */
export class AuthError extends Error {
  constructor(status, message) {
    super(message);
    this.name = "AuthError";
    this.status = status;
  }
}

/** Any other error answer, with the OpenAI-shaped body's message and code. */
export class ApiError extends Error {
  constructor(status, message, code = null, problems = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

let authListener = null;
/** Who hears about a refused key (the app: back to the key prompt). */
export function onAuthError(fn) {
  authListener = fn;
}
/** Tells the app that a key was refused (a stream's 401/403, which apiJson does not see). */
export function reportAuthError(error) {
  if (authListener) authListener(error);
}
const authFailed = reportAuthError;

export function authHeaders(key = getKey()) {
  return key ? { authorization: `Bearer ${key}` } : {};
}

async function readJson(res) {
  const text = await res.text().catch(() => "");
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { text: text.slice(0, 500) };
  }
}

/** The message of an OpenAI-shaped error body, else something short about the status. */
export function errorMessage(data, res) {
  const error = data && typeof data === "object" ? data.error : null;
  if (error && typeof error === "object" && typeof error.message === "string") return error.message;
  if (typeof error === "string") return error;
  if (data && typeof data.text === "string" && data.text) return `HTTP ${res.status}: ${data.text}`;
  return `HTTP ${res.status} ${res.statusText || ""}`.trim();
}

/**
 * A JSON call. `auth: false` skips the key and the refused-key handling (the config call);
 * any 401/403 otherwise tells the auth listener and throws AuthError.
 */
export async function apiJson(path, { method = "GET", body, auth = true, signal } = {}) {
  const headers = { accept: "application/json", ...(auth ? authHeaders() : {}) };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
    cache: "no-store",
    credentials: "same-origin",
  });
  const data = await readJson(res);
  if (auth && (res.status === 401 || res.status === 403)) {
    const error = new AuthError(res.status, errorMessage(data, res));
    authFailed(error);
    throw error;
  }
  if (!res.ok) {
    const e =
      data && typeof data === "object" && data.error && typeof data.error === "object" ? data.error : {};
    throw new ApiError(
      res.status,
      errorMessage(data, res),
      e.code ?? null,
      Array.isArray(e.problems) ? e.problems : null,
    );
  }
  return data;
}

export const fetchConfig = () => apiJson("/dashboard/api/config", { auth: false });
export const fetchState = () => apiJson("/dashboard/api/state");
export const fetchAdminStatus = () => apiJson("/admin/status");

const modelPath = (id, action) => `/admin/models/${encodeURIComponent(id)}/${action}`;
export const loadModel = (id) => apiJson(modelPath(id, "load"), { method: "POST" });
export const unloadModel = (id, force = false) =>
  apiJson(`${modelPath(id, "unload")}${force ? "?force=1" : ""}`, { method: "POST" });
export const resetModel = (id) => apiJson(modelPath(id, "reset"), { method: "POST" });
export const reloadConfig = () => apiJson("/admin/reload", { method: "POST" });
export const clearCache = () => apiJson("/admin/cache/clear", { method: "POST" });
export const logsUrl = (id, lines = 200) => `${modelPath(id, "logs")}?follow=1&lines=${lines}`;

const MAX_PENDING = 4 * 1024 * 1024; // one event or line larger than this: drop the stream

/**
 * Reads a text/event-stream body and calls onEvent({event, data, id}) per event. `onComment`
 * hears keep-alive lines. Resolves when the body ends, is cancelled (signal), or stays
 * silent for idleMs (then the caller reconnects).
 */
export async function readSse(body, onEvent, { signal, idleMs = 0, onComment } = {}) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  let data = [];
  let hasData = false;
  let event = "";
  let id = null;
  let idle = null;
  const cancel = () => reader.cancel().catch(() => {});
  const arm = () => {
    if (!idleMs) return;
    clearTimeout(idle);
    idle = setTimeout(cancel, idleMs);
  };
  const line = (text) => {
    if (text === "") {
      if (hasData) onEvent({ event: event || "message", data: data.join("\n"), id });
      data = [];
      hasData = false;
      event = "";
      id = null;
      return;
    }
    if (text.charCodeAt(0) === 58 /* : */) {
      if (onComment) onComment(text.slice(1).trim());
      return;
    }
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") {
      data.push(value);
      hasData = true;
    } else if (field === "event") event = value;
    else if (field === "id" && !value.includes("\0")) id = value;
  };
  signal?.addEventListener("abort", cancel, { once: true });
  try {
    arm();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      arm();
      pending += decoder.decode(value, { stream: true });
      let start = 0;
      for (let i = 0; i < pending.length; i += 1) {
        const c = pending.charCodeAt(i);
        if (c !== 10 && c !== 13) continue;
        if (c === 13 && i + 1 === pending.length) break; // maybe a \r\n split across chunks
        line(pending.slice(start, i));
        if (c === 13 && pending.charCodeAt(i + 1) === 10) i += 1;
        start = i + 1;
      }
      pending = pending.slice(start);
      if (pending.length > MAX_PENDING) throw new Error("an event too large");
    }
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener("abort", cancel);
  }
}

/**
 * A stream that reconnects by itself: 1 s, 2 s, 4 s … at most 10 s between tries, back to
 * 1 s once a connection opens. `url()` and `headers()` are read on every try (the
 * Last-Event-ID changes). A 401/403 stops it and tells onAuthError; with stopOnClientError,
 * so does any other 4xx but 408/429 (onDown gets `fatal: true`).
 */
export function liveStream({
  url,
  headers,
  onOpen,
  onEvent,
  onDown,
  onAuthError: onRefused,
  idleMs = 30_000,
  onComment,
  stopOnClientError = false,
}) {
  let stopped = false;
  let controller = null;
  let sleep = null;
  let wake = null;
  let attempt = 0;
  const run = async () => {
    while (!stopped) {
      controller = new AbortController();
      let reason = "";
      try {
        const res = await fetch(url(), {
          headers: { accept: "text/event-stream", ...headers() },
          signal: controller.signal,
          cache: "no-store",
          credentials: "same-origin",
        });
        if (res.status === 401 || res.status === 403) {
          const data = await readJson(res);
          stopped = true;
          if (onRefused) onRefused(new AuthError(res.status, errorMessage(data, res)));
          return;
        }
        if (!res.ok || !res.body) {
          const data = await readJson(res);
          const error = new ApiError(res.status, errorMessage(data, res));
          const client = res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429;
          if (stopOnClientError && client) {
            stopped = true;
            if (onDown) onDown({ delay: null, reason: error.message, fatal: true });
            return;
          }
          throw error;
        }
        attempt = 0;
        if (onOpen) onOpen();
        await readSse(res.body, onEvent, { signal: controller.signal, idleMs, onComment });
        reason = "the stream ended";
      } catch (error) {
        reason = error?.message || "disconnected";
      }
      if (stopped) return;
      const delay = Math.min(1000 * 2 ** attempt, 10_000);
      attempt += 1;
      if (onDown) onDown({ delay, reason });
      await new Promise((resolve) => {
        wake = resolve;
        sleep = setTimeout(resolve, delay);
      });
    }
  };
  run();
  return {
    stop() {
      stopped = true;
      clearTimeout(sleep);
      if (wake) wake();
      if (controller) controller.abort();
    },
  };
}
