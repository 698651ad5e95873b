import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import type { Gpu } from "./gpu-types.js";
import { attachProcesses, NVIDIA_GPU_FIELDS, parseNvidiaAppsCsv, parseNvidiaGpuCsv } from "./nvidia-smi.js";
import { parseNvidiaSmiXml } from "./nvidia-smi-xml.js";

// Real output of nvidia-smi on an H200 (driver 580), kept outside the repository.
const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DIR = resolve(REPO_ROOT, "../shared/fixtures/nvidia-smi");
const MIB = 2 ** 20;
const H200_UUID = "GPU-c035ed29-8a26-5096-1ce8-b39e3b827147";

const read = (name: string) => readFileSync(resolve(DIR, name), "utf8");

/** The idle H200 as both query-gpu fixtures show it (the header one read 0.01 W more). */
function assertIdleH200(gpu: Gpu | undefined, powerDrawW: number): void {
  assert.deepEqual(gpu, {
    index: 0,
    uuid: H200_UUID,
    name: "NVIDIA H200",
    busId: "00000000:00:06.0",
    driverVersion: "580.159.04",
    memoryTotalBytes: 143771 * MIB,
    memoryUsedBytes: 0,
    memoryFreeBytes: 143156 * MIB,
    utilizationPercent: 0,
    temperatureC: 35,
    powerDrawW,
    powerLimitW: 700,
    processes: [],
  });
}

/** One check per fixture file; a file added to the folder without one fails the last test. */
const CHECKS: Readonly<Record<string, (text: string) => void>> = {
  "query-gpu.csv": (text) => {
    const gpus = parseNvidiaGpuCsv(text);
    assert.equal(gpus.length, 1);
    assertIdleH200(gpus[0], 123.04);
  },
  "query-gpu-header.csv": (text) => {
    const gpus = parseNvidiaGpuCsv(text);
    assert.equal(gpus.length, 1);
    assertIdleH200(gpus[0], 123.05);
  },
  // Captured with a shorter query. Its columns are index, memory.total, memory.used and
  // memory.free: the total matches the other fixtures, and free fell by about what used rose.
  "query-gpu-busy.csv": (text) => {
    const [gpu, ...rest] = parseNvidiaGpuCsv(text, ["index", "memory.total", "memory.used", "memory.free"]);
    assert.equal(rest.length, 0);
    assert.equal(gpu?.memoryTotalBytes, 143771 * MIB);
    assert.equal(gpu?.memoryUsedBytes, 22 * MIB);
    assert.equal(gpu?.memoryFreeBytes, 143135 * MIB);
    assert.equal(gpu?.uuid, null);
    assert.equal(gpu?.temperatureC, null);
  },
  // An idle GPU prints nothing at all for --query-compute-apps.
  "query-apps-idle.csv": (text) => {
    assert.equal(text, "");
    assert.deepEqual(parseNvidiaAppsCsv(text), []);
    const gpus = attachProcesses(parseNvidiaGpuCsv(read("query-gpu.csv")), parseNvidiaAppsCsv(text));
    assert.deepEqual(gpus[0]?.processes, []);
  },
  "nvidia-smi-q.xml": (text) => {
    const [gpu, ...rest] = parseNvidiaSmiXml(text);
    assert.equal(rest.length, 0);
    assert.deepEqual(gpu, {
      index: 0,
      uuid: H200_UUID,
      name: "NVIDIA H200",
      busId: "00000000:00:06.0",
      driverVersion: "580.159.04",
      memoryTotalBytes: 143771 * MIB,
      memoryUsedBytes: 41 * MIB,
      memoryFreeBytes: 143116 * MIB,
      utilizationPercent: 0,
      temperatureC: 35,
      powerDrawW: 118.54,
      powerLimitW: 700,
      processes: [{ pid: 422, name: "python3", usedMemoryBytes: 2566 * MIB }],
    });
  },
  // The human table is not parsed by the gateway (NVIDIA does not promise its layout); this
  // checks only that it and the CSV agree on the memory figures.
  "nvidia-smi.txt": (text) => {
    const match = /\|\s+(\d+)MiB \/\s+(\d+)MiB \|/.exec(text);
    assert.ok(match, "memory usage cell");
    const [gpu] = parseNvidiaGpuCsv(read("query-gpu.csv"));
    assert.equal(Number(match[1]) * MIB, gpu?.memoryUsedBytes);
    assert.equal(Number(match[2]) * MIB, gpu?.memoryTotalBytes);
    assert.match(text, /No running processes found/);
  },
};

const missing = existsSync(DIR) ? false : `no nvidia-smi fixtures at ${DIR}`;

describe("real nvidia-smi output from an H200", { skip: missing }, () => {
  for (const [name, check] of Object.entries(CHECKS)) {
    it(`parses ${name}`, () => check(read(name)));
  }

  it("the query the code sends asks for the columns the captured CSV has", () => {
    const header = read("query-gpu-header.csv").split("\n")[0] ?? "";
    const columns = header.split(",").map((cell) => cell.trim().replace(/ \[.*\]$/, ""));
    assert.deepEqual(columns, NVIDIA_GPU_FIELDS);
  });

  it("every fixture file has a check", () => {
    assert.deepEqual(readdirSync(DIR).sort(), Object.keys(CHECKS).sort());
  });
});
