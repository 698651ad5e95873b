import type { Gpu, GpuProcess } from "./gpu-types.js";
import { readMemoryBytes, readNumber, readText } from "./reading.js";
import { cellOf, readSmiTable } from "./smi-csv.js";

/**
 * The fields asked of `nvidia-smi --query-gpu`, in the order of the captured H200 output
 * (shared/fixtures/nvidia-smi/query-gpu.csv), so that fixture is exactly what this query
 * prints. Clocks, pstate and memory utilization are asked for but not kept: they cost nothing
 * extra and keep the query and the captured output the same.
 */
export const NVIDIA_GPU_FIELDS: readonly string[] = [
  "index",
  "uuid",
  "name",
  "driver_version",
  "memory.total",
  "memory.used",
  "memory.free",
  "utilization.gpu",
  "utilization.memory",
  "temperature.gpu",
  "power.draw",
  "power.limit",
  "clocks.current.sm",
  "clocks.current.memory",
  "pstate",
  "pci.bus_id",
];

/** The fields asked of `nvidia-smi --query-compute-apps`. */
export const NVIDIA_APP_FIELDS: readonly string[] = ["gpu_uuid", "pid", "process_name", "used_memory"];

/** nvidia-smi reports memory in MiB; with `nounits` nothing in the output says so. */
const NVIDIA_MEMORY_UNIT = "MiB";

export function nvidiaGpuQueryArgs(fields: readonly string[] = NVIDIA_GPU_FIELDS): string[] {
  return [`--query-gpu=${fields.join(",")}`, "--format=csv,noheader,nounits"];
}

export function nvidiaAppQueryArgs(fields: readonly string[] = NVIDIA_APP_FIELDS): string[] {
  return [`--query-compute-apps=${fields.join(",")}`, "--format=csv,noheader,nounits"];
}

/** A compute process and the GPU it holds memory on. */
export interface NvidiaComputeApp {
  readonly gpuUuid: string | null;
  readonly process: GpuProcess;
}

/**
 * Parses `--query-gpu` CSV, with or without header and units. `fields` is the query's field
 * list, needed only when there is no header. Processes are empty: see attachProcesses.
 */
export function parseNvidiaGpuCsv(text: string, fields: readonly string[] = NVIDIA_GPU_FIELDS): Gpu[] {
  const table = readSmiTable(text, fields, "name");
  return table.rows.map((row, position) => {
    const get = (field: string) => cellOf(table, row, field);
    const memory = (field: string) => {
      const { cell, unit } = get(field);
      return readMemoryBytes(cell, unit ?? NVIDIA_MEMORY_UNIT);
    };
    return {
      // nvidia-smi lists GPUs in index order, so a query without "index" can use the position.
      index: readNumber(get("index").cell) ?? position,
      uuid: readText(get("uuid").cell),
      name: readText(get("name").cell),
      busId: readText(get("pci.bus_id").cell),
      driverVersion: readText(get("driver_version").cell),
      memoryTotalBytes: memory("memory.total"),
      memoryUsedBytes: memory("memory.used"),
      memoryFreeBytes: memory("memory.free"),
      utilizationPercent: readNumber(get("utilization.gpu").cell),
      temperatureC: readNumber(get("temperature.gpu").cell),
      powerDrawW: readNumber(get("power.draw").cell),
      powerLimitW: readNumber(get("power.limit").cell),
      processes: [],
    };
  });
}

/** Parses `--query-compute-apps` CSV. An idle GPU prints nothing at all: no apps. */
export function parseNvidiaAppsCsv(
  text: string,
  fields: readonly string[] = NVIDIA_APP_FIELDS,
): NvidiaComputeApp[] {
  const table = readSmiTable(text, fields, "process_name");
  const apps: NvidiaComputeApp[] = [];
  for (const row of table.rows) {
    const pid = readNumber(cellOf(table, row, "pid").cell);
    if (pid === null || !Number.isSafeInteger(pid)) continue;
    const used = cellOf(table, row, "used_memory");
    apps.push({
      gpuUuid: readText(cellOf(table, row, "gpu_uuid").cell),
      process: {
        pid,
        name: readText(cellOf(table, row, "process_name").cell),
        usedMemoryBytes: readMemoryBytes(used.cell, used.unit ?? NVIDIA_MEMORY_UNIT),
      },
    });
  }
  return apps;
}

/** Gives each GPU the processes whose gpu_uuid is its uuid; apps on no listed GPU are dropped. */
export function attachProcesses(gpus: readonly Gpu[], apps: readonly NvidiaComputeApp[]): Gpu[] {
  return gpus.map((gpu) => ({
    ...gpu,
    processes:
      gpu.uuid === null ? [] : apps.filter((app) => app.gpuUuid === gpu.uuid).map((app) => app.process),
  }));
}
