import type { ModelConfig } from "../config/types.js";
import { describeGgufModel, type GgufModelInfo } from "../llama/gguf-model-info.js";
import { readGgufMetadata } from "../llama/gguf-reader.js";

/** The context size the user gave (`-c N`, `--ctx-size N`, `--ctx-size=N`), if any. */
export function contextFromArgs(args: readonly string[]): number | null {
  for (let i = 0; i < args.length; i++) {
    const [flag, inline] = (args[i] ?? "").split("=", 2);
    if (flag !== "-c" && flag !== "--ctx-size") continue;
    const value = Number(inline ?? args[i + 1]);
    if (Number.isInteger(value) && value >= 0) return value;
  }
  return null;
}

/**
 * Weights plus KV cache: the file size (the weights are mapped whole) plus, for every layer,
 * K and V of n_ctx positions in f16 (llama.cpp's default cache type). llama-server's context
 * is the whole KV cache shared by its slots; `-c 0` or no -c means the trained context
 * (common.h: n_ctx 0 = n_ctx_train). Compute buffers are small next to these and ignored.
 */
export function estimateBytes(info: GgufModelInfo, ctx: number | null, instances: number): number {
  const nCtx = ctx === null || ctx === 0 ? (info.contextLength ?? 4096) : ctx;
  const layers = info.blockCount ?? 0;
  const kvHeads = info.headCountKv ?? 0;
  const kvWidth = kvHeads * ((info.keyLength ?? 0) + (info.valueLength ?? 0));
  const kvBytes = layers * nCtx * kvWidth * 2;
  return (info.fileSize + kvBytes) * instances;
}

/** A model's memory need: its `memory` key, else the estimate from its GGUF file, else 0 (unknown). */
export async function modelMemory(model: ModelConfig): Promise<number> {
  if (model.memoryBytes !== null) return model.memoryBytes;
  if (model.launch.kind !== "model") return 0;
  try {
    const info = describeGgufModel(await readGgufMetadata(model.launch.model));
    return estimateBytes(info, contextFromArgs(model.launch.args), model.instances);
  } catch {
    return 0;
  }
}
