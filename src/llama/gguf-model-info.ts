import type { GgufFile } from "./gguf-reader.js";
import type { GgufMetadata } from "./gguf-types.js";

/** The facts about a model that memory estimates and listings need, all optional. */
export interface GgufModelInfo {
  readonly architecture: string | undefined;
  readonly name: string | undefined;
  /** n_ctx_train: the longest context the model was trained for. */
  readonly contextLength: number | undefined;
  readonly blockCount: number | undefined;
  readonly embeddingLength: number | undefined;
  readonly feedForwardLength: number | undefined;
  /** Largest per-layer value where the model stores one per layer (an array). */
  readonly headCount: number | undefined;
  readonly headCountKv: number | undefined;
  /** Per-head key/value widths; llama.cpp defaults both to embedding_length / head_count. */
  readonly keyLength: number | undefined;
  readonly valueLength: number | undefined;
  readonly vocabSize: number | undefined;
  readonly fileType: number | undefined;
  readonly fileSize: number;
  /** Sum of tensor data sizes, undefined if a tensor has a type this reader does not know. */
  readonly tensorBytes: number | undefined;
}

/**
 * A number-valued key; arrays (per-layer values, as some architectures store head counts)
 * give their maximum, the safe side for a memory estimate.
 */
export function ggufNumber(metadata: GgufMetadata, key: string): number | undefined {
  const entry = metadata.get(key);
  if (entry === undefined) return undefined;
  if (entry.type === "array") {
    if (entry.itemType === "string" || entry.itemType === "bool" || entry.value.length === 0)
      return undefined;
    return Math.max(...entry.value.map(Number));
  }
  if (entry.type === "string" || entry.type === "bool") return undefined;
  return Number(entry.value);
}

export function ggufString(metadata: GgufMetadata, key: string): string | undefined {
  const entry = metadata.get(key);
  return entry?.type === "string" ? entry.value : undefined;
}

export function describeGgufModel(file: GgufFile): GgufModelInfo {
  const m = file.metadata;
  const arch = ggufString(m, "general.architecture");
  // Architecture-specific keys are prefixed with the architecture name (LLM_KV_* in llama-arch.cpp).
  const num = (suffix: string): number | undefined =>
    arch === undefined ? undefined : ggufNumber(m, `${arch}.${suffix}`);
  const tokens = m.get("tokenizer.ggml.tokens");
  const sizes = file.tensors.map((t) => t.byteSize);
  const tensorBytes = sizes.includes(undefined) ? undefined : sizes.reduce((a = 0, b = 0) => a + b, 0);
  const embeddingLength = num("embedding_length");
  const headCount = num("attention.head_count");
  const headDim = embeddingLength !== undefined && headCount ? embeddingLength / headCount : undefined;
  return {
    architecture: arch,
    name: ggufString(m, "general.name"),
    contextLength: num("context_length"),
    blockCount: num("block_count"),
    embeddingLength,
    feedForwardLength: num("feed_forward_length"),
    headCount,
    headCountKv: num("attention.head_count_kv") ?? headCount,
    keyLength: num("attention.key_length") ?? headDim,
    valueLength: num("attention.value_length") ?? headDim,
    vocabSize: num("vocab_size") ?? (tokens?.type === "array" ? tokens.value.length : undefined),
    fileType: ggufNumber(m, "general.file_type"),
    fileSize: file.fileSize,
    tensorBytes,
  };
}
