import type { GgufModelInfo } from "../llama/gguf-model-info.js";
import { estimateBytes } from "../scheduler/memory-estimate.js";
import type { ModelKind } from "./model-kind.js";

export interface ContextChoice {
  /** The -c chosen, or null when the model states no trained context. */
  readonly context: number | null;
  readonly args: readonly string[];
  /** The memory estimate at that context (one instance). */
  readonly estimatedBytes: number;
  readonly reasons: readonly string[];
  readonly warnings: readonly string[];
}

export interface ContextLimits {
  readonly maxContext: number;
  readonly memoryBudgetBytes: number | null;
}

/** Never chosen lower: llama-server's own default physical batch, and less is rarely useful. */
export const MIN_CONTEXT = 512;
/** llama.cpp pads n_ctx to 256 for its kernels, so a lowered context is a multiple of it. */
const CONTEXT_STEP = 256;
/** llama-server's default n_ubatch (common.h). */
const DEFAULT_UBATCH = 512;

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/**
 * The context size: the trained one, capped by `maxContext`, then lowered until the memory
 * estimate (scheduler/memory-estimate.ts: weights + f16 KV cache) fits the budget, but never
 * below MIN_CONTEXT. The estimate is linear in the context, so the largest fitting size is
 * computed rather than searched.
 */
export function chooseContext(info: GgufModelInfo, limits: ContextLimits, key: string): ContextChoice {
  const trained = info.contextLength ?? null;
  if (trained === null || trained <= 0) {
    return {
      context: null,
      args: [],
      estimatedBytes: estimateBytes(info, null, 1),
      reasons: [`context: no -c, the file states no ${key}`],
      warnings: [],
    };
  }
  let context = Math.min(trained, limits.maxContext);
  const reasons = [
    context < trained
      ? `context ${context}: ${key} = ${trained}, capped by discovery.maxContext ${limits.maxContext}`
      : `context ${context}: ${key} = ${trained}`,
  ];
  const warnings: string[] = [];
  const budget = limits.memoryBudgetBytes;
  if (budget !== null && estimateBytes(info, context, 1) > budget) {
    const perToken = estimateBytes(info, 2, 1) - estimateBytes(info, 1, 1);
    const fixed = estimateBytes(info, 1, 1) - perToken;
    const fits =
      perToken > 0 ? Math.floor((budget - fixed) / perToken / CONTEXT_STEP) * CONTEXT_STEP : context;
    const lowered = Math.max(MIN_CONTEXT, Math.min(context, fits));
    if (lowered < context) {
      reasons.push(
        `context lowered from ${context} to ${lowered} so the estimate fits scheduler.memoryBudget ${mib(budget)}`,
      );
      context = lowered;
    }
    const need = estimateBytes(info, context, 1);
    if (need > budget) {
      warnings.push(
        `needs about ${mib(need)} at context ${context}, more than the memory budget ${mib(budget)}`,
      );
    }
  }
  return {
    context,
    args: ["-c", String(context)],
    estimatedBytes: estimateBytes(info, context, 1),
    reasons,
    warnings,
  };
}

/**
 * Embedding and rerank inputs are not split across batches (server-context.cpp answers "input
 * is too large to process. increase the physical batch size"), so a context above the default
 * physical batch of 512 only helps with -b and -ub raised to match it.
 */
export function batchArgs(kind: ModelKind, context: number | null): { args: string[]; reasons: string[] } {
  if ((kind !== "embedding" && kind !== "reranker") || context === null || context <= DEFAULT_UBATCH) {
    return { args: [], reasons: [] };
  }
  return {
    args: ["-b", String(context), "-ub", String(context)],
    reasons: [`-b/-ub ${context}: a whole ${kind} input must fit one physical batch`],
  };
}
