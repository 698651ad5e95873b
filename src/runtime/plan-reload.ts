import { isDeepStrictEqual } from "node:util";
import type { GatewayConfig, ModelConfig } from "../config/types.js";
import { launchKey } from "./launch-key.js";

/** What a reload does to the models, decided from the two configs alone. */
export interface ReloadPlan {
  /** In the new config only: become available (loaded on first request, or preloaded). */
  readonly added: readonly string[];
  /** In the old config only: drain, then stop. */
  readonly removed: readonly string[];
  /** Launch settings changed: new instances start, then take over (blue/green). */
  readonly replaced: readonly string[];
  /** Same launch settings, other settings changed: same children, new settings at once. */
  readonly reconfigured: readonly string[];
  readonly unchanged: readonly string[];
  /** Top-level sections other than models that changed (server, auth, cors, rateLimit, ...). */
  readonly sections: readonly string[];
}

export interface PlanInput {
  readonly config: GatewayConfig;
  /** The llama-server binary the config's `model:` entries run. */
  readonly binary: string;
}

/** A pure diff of two configs (tested with tables): which models to add, remove, replace or keep. */
export function planReload(old: PlanInput, next: PlanInput): ReloadPlan {
  const added: string[] = [];
  const removed: string[] = [];
  const replaced: string[] = [];
  const reconfigured: string[] = [];
  const unchanged: string[] = [];
  for (const model of Object.values(next.config.models)) {
    const before: ModelConfig | undefined = old.config.models[model.id];
    if (before === undefined) added.push(model.id);
    else if (launchKey(before, old.binary) !== launchKey(model, next.binary)) replaced.push(model.id);
    else if (!isDeepStrictEqual(before, model)) reconfigured.push(model.id);
    else unchanged.push(model.id);
  }
  for (const id of Object.keys(old.config.models)) if (!(id in next.config.models)) removed.push(id);
  const sections = (Object.keys(next.config) as Array<keyof GatewayConfig>).filter(
    (key) => key !== "models" && key !== "source" && !isDeepStrictEqual(old.config[key], next.config[key]),
  );
  return { added, removed, replaced, reconfigured, unchanged, sections };
}
