import type { Catalog } from "../../scheduler/catalog.js";
import type { Scheduler } from "../../scheduler/scheduler.js";
import type { Handler } from "../context.js";
import { sendJson } from "../send.js";

export type ModelState = "loaded" | "loading" | "unloaded";

/**
 * GET /v1/models: every listed id and alias in OpenAI's shape, plus fields clients find useful
 * (extra fields do not break OpenAI clients): whether it is loaded, and which model an alias is.
 */
export function modelsHandler(catalog: Catalog, scheduler: Scheduler, createdAt: number): Handler {
  return async (ctx) => {
    const states = new Map<string, ModelState>();
    for (const group of scheduler.groups()) {
      const children = group.supervisors().map((supervisor) => supervisor.snapshot().state);
      const state: ModelState = children.includes("ready")
        ? "loaded"
        : children.includes("starting")
          ? "loading"
          : "unloaded";
      states.set(group.id, state);
    }
    const data = catalog.listed().map((entry) => ({
      id: entry.name,
      object: "model",
      created: createdAt,
      owned_by: entry.model.ownedBy,
      ...(entry.isAlias ? { alias_of: entry.model.id } : {}),
      state: states.get(entry.model.id) ?? "unloaded",
      instances: entry.model.instances,
    }));
    sendJson(ctx.res, 200, { object: "list", data });
  };
}
