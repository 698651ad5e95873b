import { ggufNumber, ggufString } from "../llama/gguf-model-info.js";
import type { GgufMetadata } from "../llama/gguf-types.js";

export type ModelKind = "chat" | "completion" | "embedding" | "reranker";

export interface KindChoice {
  readonly kind: ModelKind;
  readonly args: readonly string[];
  readonly reasons: readonly string[];
  readonly warnings: readonly string[];
}

/**
 * Encoder architectures (llama-arch.cpp names) that only make embeddings: llama.cpp gives them
 * no KV cache (llama_model::create_memory returns none) and they cannot generate text.
 */
export const EMBEDDING_ARCHITECTURES: ReadonlySet<string> = new Set([
  "bert",
  "modern-bert",
  "nomic-bert",
  "nomic-bert-moe",
  "neo-bert",
  "jina-bert-v2",
  "jina-bert-v3",
  "eurobert",
  "gemma-embedding",
  "t5encoder",
]);

/** llama.h's enum llama_pooling_type, as `--pooling` spells it; 4 (RANK) is `--reranking`. */
const POOLING_NAMES: readonly string[] = ["none", "mean", "cls", "last"];
const POOLING_RANK = 4;

/**
 * What a model is for, from its metadata, and the llama-server flags that serve it so:
 * `<arch>.pooling_type` 4 (rank) → `--reranking`; an encoder architecture, any other
 * pooling_type, or `<arch>.attention.causal` false without a chat template → `--embeddings`
 * with `--pooling` from pooling_type; `tokenizer.chat_template` → chat; else completion.
 * Diffusion models (dream, llada) also write attention.causal false but ship a chat template,
 * which is why causal alone does not make an embedding model.
 */
export function chooseKind(metadata: GgufMetadata): KindChoice {
  const arch = ggufString(metadata, "general.architecture") ?? "";
  const poolingKey = `${arch}.pooling_type`;
  const pooling = ggufNumber(metadata, poolingKey);
  const causalEntry = metadata.get(`${arch}.attention.causal`);
  const nonCausal = causalEntry?.type === "bool" && !causalEntry.value;
  const hasTemplate = ggufString(metadata, "tokenizer.chat_template") !== undefined;

  if (pooling === POOLING_RANK) {
    return {
      kind: "reranker",
      args: ["--reranking"],
      reasons: [`reranker (--reranking): ${poolingKey} = ${POOLING_RANK} (rank)`],
      warnings: [],
    };
  }
  const encoder = EMBEDDING_ARCHITECTURES.has(arch);
  if (encoder || pooling !== undefined || (nonCausal && !hasTemplate)) {
    // The pooling key, when there, is named in the reason anyway.
    const why = encoder
      ? `architecture ${arch} is an embedding encoder`
      : pooling === undefined
        ? `${arch}.attention.causal = false and no chat template`
        : undefined;
    return { kind: "embedding", ...embeddingArgs(why, poolingKey, pooling) };
  }
  if (hasTemplate) {
    return {
      kind: "chat",
      args: [],
      reasons: ["chat model: tokenizer.chat_template is present"],
      warnings: [],
    };
  }
  return {
    kind: "completion",
    args: [],
    reasons: ["completion model: no tokenizer.chat_template"],
    warnings: ["no chat template in the file: /v1/chat/completions will use llama-server's fallback"],
  };
}

function embeddingArgs(why: string | undefined, key: string, pooling: number | undefined) {
  const name = pooling === undefined ? undefined : POOLING_NAMES[pooling];
  const lead = why === undefined ? "" : `${why}; `;
  if (name === undefined) {
    // No key (or a value this table does not know): llama-server uses the model's own default.
    const seen = pooling === undefined ? `no ${key}` : `unknown ${key} ${pooling}`;
    return {
      args: ["--embeddings"],
      reasons: [`embedding model (--embeddings): ${lead}${seen}, so llama-server's default pooling`],
      warnings: pooling === undefined ? [] : [`unknown ${key} ${pooling}: pooling left to llama-server`],
    };
  }
  return {
    args: ["--embeddings", "--pooling", name],
    reasons: [`embedding model (--embeddings --pooling ${name}): ${lead}${key} = ${pooling} (${name})`],
    // server-context.cpp refuses OpenAI-style embeddings of an unpooled model.
    warnings:
      name === "none"
        ? ['pooling none: /v1/embeddings refuses it ("not OAI compatible"); only /embeddings answers']
        : [],
  };
}
