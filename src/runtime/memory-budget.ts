import type { Logger } from "pino";
import type { GatewayConfig } from "../config/types.js";
import { freeGpuMemory } from "../gpu/free-memory.js";
import type { GpuInfo } from "../gpu/gpu-info.js";
import type { Limits } from "../scheduler/eviction.js";

export interface BudgetDeps {
  readonly gpu: GpuInfo;
  readonly log: Logger;
  /** Memory the gateway's own loaded models hold now (they count as available to it). */
  readonly ownBytes: () => number;
}

/**
 * The scheduler's limits for a config. `memoryBudget: auto` is the GPUs' free memory minus the
 * margin, plus what this gateway's loaded models already hold (on a reload they are running,
 * and their memory is theirs to reuse). Without a GPU tool there is no budget, with a warning:
 * the model count limit still applies.
 */
export async function limitsFor(deps: BudgetDeps, config: GatewayConfig): Promise<Limits> {
  const { maxLoadedModels, memoryBudgetBytes, memoryBudgetAuto, memoryMarginBytes, swapDelayMs } =
    config.scheduler;
  if (!memoryBudgetAuto) return { maxLoadedModels, memoryBudgetBytes, swapDelayMs };
  const report = await deps.gpu.read();
  const free = freeGpuMemory(report, memoryMarginBytes);
  if (free === null) {
    deps.log.warn(
      { reason: report.reason ?? "no GPU reports its free memory" },
      "scheduler.memoryBudget is auto but no GPU memory could be read: only maxLoadedModels limits loading",
    );
    return { maxLoadedModels, memoryBudgetBytes: null, swapDelayMs };
  }
  const budget = free + deps.ownBytes();
  deps.log.info(
    { memoryBudgetBytes: budget, freeBytes: free, marginBytes: memoryMarginBytes },
    "memory budget from the GPUs",
  );
  return { maxLoadedModels, memoryBudgetBytes: budget, swapDelayMs };
}
