import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { GatewayConfig } from "../config/types.js";
import type { Gpu, GpuReport } from "../gpu/gpu-types.js";
import { limitsFor } from "./memory-budget.js";

const GIB = 1024 ** 3;
const log = pino({ level: "silent" });

function gpu(freeBytes: number | null): Gpu {
  return {
    index: 0,
    uuid: null,
    name: "NVIDIA H200",
    busId: null,
    driverVersion: null,
    memoryTotalBytes: 140 * GIB,
    memoryUsedBytes: null,
    memoryFreeBytes: freeBytes,
    utilizationPercent: null,
    temperatureC: null,
    powerDrawW: null,
    powerLimitW: null,
    processes: [],
  };
}

function config(auto: boolean): GatewayConfig {
  return {
    scheduler: {
      maxLoadedModels: 3,
      memoryBudgetBytes: auto ? null : 20 * GIB,
      memoryBudgetAuto: auto,
      memoryMarginBytes: GIB,
      coolDownMs: 30_000,
      maxCoolDownMs: 600_000,
    },
  } as GatewayConfig;
}

const report = (gpus: Gpu[], reason?: string): GpuReport => ({
  gpus,
  source: gpus.length > 0 ? "nvidia-smi" : null,
  readAt: 0,
  ...(reason === undefined ? {} : { reason }),
});

test("memoryBudget: auto is the GPUs' free memory minus the margin, plus what our own models hold", async () => {
  const cases: Array<{ name: string; gpus: GpuReport; own: number; want: number | null }> = [
    {
      name: "two GPUs, nothing loaded",
      gpus: report([gpu(40 * GIB), gpu(20 * GIB)]),
      own: 0,
      want: 59 * GIB,
    },
    {
      name: "on reload our models count as ours",
      gpus: report([gpu(10 * GIB)]),
      own: 8 * GIB,
      want: 17 * GIB,
    },
    { name: "no free figure: no budget", gpus: report([gpu(null)]), own: 0, want: null },
    { name: "no tool: no budget", gpus: report([], "no nvidia-smi or rocm-smi on PATH"), own: 0, want: null },
  ];
  for (const c of cases) {
    const limits = await limitsFor(
      { gpu: { read: async () => c.gpus }, log, ownBytes: () => c.own },
      config(true),
    );
    assert.equal(limits.memoryBudgetBytes, c.want, c.name);
    assert.equal(limits.maxLoadedModels, 3);
  }
});

test("a fixed budget is used as written and reads no GPU", async () => {
  const limits = await limitsFor(
    { gpu: { read: async () => assert.fail("no GPU read") }, log, ownBytes: () => 0 },
    config(false),
  );
  assert.equal(limits.memoryBudgetBytes, 20 * GIB);
});
