import type { Catalog } from "../../scheduler/catalog.js";
import type { ModelPool } from "../../scheduler/model-pool.js";
import type { Handler, RequestContext } from "../context.js";
import { sendJson } from "../send.js";
import { modelEntry, modelStates } from "./model-info.js";
import { knownModel, modelNameFromPath } from "./model-lookup.js";

/**
 * GET /v1/models: every listed id and alias (unlisted aliases are left out) of the models the
 * caller's key may use: a scoped key sees only its models.
 */
export function modelsHandler(catalog: Catalog, scheduler: ModelPool, createdAt: number): Handler {
  return async (ctx) => {
    const states = modelStates(scheduler);
    const data = catalog
      .listed()
      .filter((entry) => ctx.access.mayUse(entry.model))
      .map((entry) =>
        modelEntry(entry.name, entry.model, states.get(entry.model.id) ?? "unloaded", createdAt),
      );
    sendJson(ctx.res, 200, { object: "list", data });
  };
}

/**
 * GET /v1/models/{id}: one id or alias, unlisted ones included (a name that works for requests
 * can be looked up). The OpenAI SDKs percent-encode the id, so `org/model` arrives as
 * `org%2Fmodel`; a raw slash is accepted too.
 */
export function modelHandler(
  catalog: Catalog,
  scheduler: ModelPool,
  createdAt: number,
): (ctx: RequestContext, rest: string) => Promise<void> {
  return async (ctx, rest) => {
    const name = modelNameFromPath(rest);
    // A model outside the key's scope does not exist for that key.
    const model = knownModel(catalog, name, ctx.access.mayUse);
    const state = modelStates(scheduler).get(model.id) ?? "unloaded";
    sendJson(ctx.res, 200, modelEntry(name, model, state, createdAt));
  };
}
