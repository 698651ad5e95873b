import { basename } from "node:path";
import type { ModelConfig } from "../../config/types.js";
import type { ModelPool } from "../../scheduler/model-pool.js";

export type ModelState = "loaded" | "loading" | "failed" | "unloaded";

/**
 * The context size the operator configured: the last `-c`/`--ctx-size` in the model's args (or
 * its cmd), as llama.cpp's argument parser lets a later flag win, else LLAMA_ARG_CTX_SIZE in
 * its env. null when unset or 0 (llama-server then takes the model's training context).
 */
export function contextSize(model: Pick<ModelConfig, "launch" | "env">): number | null {
  const argv =
    model.launch.kind === "model" ? model.launch.args : model.launch.kind === "cmd" ? model.launch.cmd : [];
  let value: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "-c" || arg === "--ctx-size") value = argv[i + 1];
    else if (arg.startsWith("--ctx-size=")) value = arg.slice("--ctx-size=".length);
  }
  value ??= model.env.LLAMA_ARG_CTX_SIZE;
  const size = Number(value);
  return Number.isInteger(size) && size > 0 ? size : null;
}

/** Each model's state from its instances: any ready → loaded, else any starting → loading, ... */
export function modelStates(scheduler: ModelPool): Map<string, ModelState> {
  const states = new Map<string, ModelState>();
  for (const group of scheduler.groups()) {
    const children = group.instances().map((instance) => instance.state);
    const state: ModelState = children.includes("ready")
      ? "loaded"
      : children.includes("starting")
        ? "loading"
        : children.includes("failed")
          ? "failed"
          : "unloaded";
    states.set(group.id, state);
  }
  return states;
}

/**
 * One entry of /v1/models in OpenAI's shape (`id`, `object`, `created`, `owned_by`) plus
 * fields OpenAI clients ignore and people find useful.
 */
export function modelEntry(
  name: string,
  model: ModelConfig,
  state: ModelState,
  createdAt: number,
): Record<string, unknown> {
  const context = contextSize(model);
  return {
    id: name,
    object: "model",
    created: createdAt,
    owned_by: model.ownedBy,
    ...(name === model.id ? {} : { alias_of: model.id }),
    state,
    instances: model.instances,
    ...(context === null ? {} : { context_length: context }),
    // Where it came from: written in the config, or found in the models folder (the file's
    // name only: the folder's path is the operator's business, shown in /admin/status).
    source: model.discoveredFrom === null ? "config" : "models-dir",
    ...(model.discoveredFrom === null ? {} : { file: basename(model.discoveredFrom) }),
  };
}
