// Admin actions: each one shows "pending", then its result or its error in the action bar,
// and refreshes the state so the models table does not wait for the next status event.

import * as api from "./api.mjs";
import { fmtMs } from "./format.mjs";
import { mergeRequests, setAction, setMachine, setStatus } from "./store.mjs";

/** Applies a /dashboard/api/state answer to the store. */
export function applyState(data) {
  if (!data || typeof data !== "object") return;
  setStatus(data.status);
  setMachine(data.machine);
  mergeRequests(data.requests);
}

/** Fetches the state, or null when that failed (a refused key has gone to the prompt). */
export async function loadState() {
  try {
    return await api.fetchState();
  } catch {
    return null;
  }
}

/** Fetches the state and applies it. */
export async function refreshState() {
  const data = await loadState();
  if (data !== null) applyState(data);
}

async function run(label, call, describe, extraOnError = () => ({})) {
  setAction("pending", `${label}…`);
  try {
    const result = await call();
    setAction("ok", describe(result ?? {}));
    refreshState();
  } catch (error) {
    const refused = error instanceof api.AuthError;
    const text = `${label} failed: ${error?.message ?? String(error)}`;
    setAction("error", refused ? `${text} (the key was refused)` : text, {
      code: error?.code ?? null,
      problems: error?.problems ?? null,
      status: error?.status ?? null,
      ...extraOnError(error),
    });
  }
}

const list = (label, items) =>
  Array.isArray(items) && items.length > 0 ? `${label} ${items.join(", ")}` : null;

export const loadModel = (id) =>
  run(
    `Loading ${id}`,
    () => api.loadModel(id),
    (r) => `Loaded ${r.model ?? id} in ${fmtMs(r.ms)}`,
  );

export async function unloadModel(id, force = false) {
  await run(
    `${force ? "Force-unloading" : "Unloading"} ${id}`,
    () => api.unloadModel(id, force),
    (r) => `Unloaded ${r.model ?? id}${r.forced ? " (forced: its streams were cut)" : ""}`,
    // Still busy after the drain wait: offer to cut its requests.
    (error) => (error?.code === "model_busy" && !force ? { forceUnload: id } : {}),
  );
}

export const resetModel = (id) =>
  run(
    `Resetting ${id}`,
    () => api.resetModel(id),
    (r) => `Reset ${r.model ?? id}: its next request starts it`,
  );

export const reloadConfig = () =>
  run("Reloading the config", api.reloadConfig, (r) => {
    if (r.unchanged) return `Config reloaded (generation ${r.generation ?? "?"}): nothing changed`;
    const parts = [
      list("added", r.added),
      list("removed", r.removed),
      list("replaced", r.replaced),
      list("reconfigured", r.reconfigured),
      list("changed sections:", r.sections),
      Array.isArray(r.keptOld) && r.keptOld.length > 0
        ? `kept old instances: ${JSON.stringify(r.keptOld)}`
        : null,
      list("needs a restart:", r.needsRestart),
    ].filter(Boolean);
    return `Config reloaded (generation ${r.generation ?? "?"})${parts.length ? `: ${parts.join("; ")}` : ""}`;
  });

export const clearCache = () =>
  run(
    "Clearing the cache",
    api.clearCache,
    (r) => `Cache cleared: ${r.cleared ?? 0} entries (${r.store ?? "store"})`,
  );
