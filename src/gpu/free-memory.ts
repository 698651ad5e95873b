import type { GpuReport } from "./gpu-types.js";

/**
 * Free GPU memory to budget models against: the sum over GPUs of what the driver reports
 * free, less a margin for what a budget cannot see (CUDA context, compute buffers, other
 * users), never below zero. Summed because llama-server splits one model's layers across
 * all visible GPUs by default (--split-mode layer). GPUs whose free memory is unknown add
 * nothing; null when no GPU reports it, so a caller can tell "unknown" from "full".
 */
export function freeGpuMemory(report: Pick<GpuReport, "gpus">, marginBytes: number): number | null {
  let total: number | null = null;
  for (const gpu of report.gpus) {
    if (gpu.memoryFreeBytes !== null) total = (total ?? 0) + gpu.memoryFreeBytes;
  }
  return total === null ? null : Math.max(0, total - Math.max(0, marginBytes));
}
