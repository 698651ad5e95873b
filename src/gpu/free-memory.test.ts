import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { freeGpuMemory } from "./free-memory.js";
import type { Gpu } from "./gpu-types.js";

function gpu(index: number, memoryFreeBytes: number | null): Gpu {
  return {
    index,
    uuid: null,
    name: null,
    busId: null,
    driverVersion: null,
    memoryTotalBytes: null,
    memoryUsedBytes: null,
    memoryFreeBytes,
    utilizationPercent: null,
    temperatureC: null,
    powerDrawW: null,
    powerLimitW: null,
    processes: [],
  };
}

describe("freeGpuMemory", () => {
  it("sums the known free memory of every GPU, less the margin, never below zero", () => {
    const table: [string, (number | null)[], number, number | null][] = [
      ["one GPU", [1000], 100, 900],
      ["two GPUs are summed", [1000, 500], 100, 1400],
      ["an unknown GPU adds nothing", [1000, null], 0, 1000],
      ["margin larger than free", [100], 1000, 0],
      ["a full GPU is 0, not unknown", [0], 0, 0],
      ["no GPUs", [], 0, null],
      ["no GPU knows its free memory", [null, null], 0, null],
      ["a negative margin adds nothing", [100], -50, 100],
    ];
    for (const [name, free, margin, expected] of table) {
      const report = { gpus: free.map((f, i) => gpu(i, f)) };
      assert.equal(freeGpuMemory(report, margin), expected, name);
    }
  });
});
