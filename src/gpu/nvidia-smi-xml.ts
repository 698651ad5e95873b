import type { Gpu, GpuProcess } from "./gpu-types.js";
import { readMemoryBytes, readNumber, readText } from "./reading.js";

/**
 * `nvidia-smi -q -x`, read with a few patterns rather than an XML library: the document is
 * machine-written, flat per GPU and without attributes on the elements read here. The CSV
 * queries are the main path (the XML is ~27 kB per GPU and slower to produce); this serves
 * a caller that already has the XML.
 */

const ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decode(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos);/g, (_, name: string) => ENTITIES[name] ?? "");
}

/** The text inside the first <name>...</name> in `xml`, or undefined when absent. */
function element(xml: string | undefined, name: string): string | undefined {
  if (xml === undefined) return undefined;
  const match = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return match?.[1] === undefined ? undefined : decode(match[1]);
}

function elements(xml: string | undefined, name: string): string[] {
  if (xml === undefined) return [];
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g"))].map((m) => m[1] ?? "");
}

function processOf(info: string): GpuProcess | null {
  const pid = readNumber(element(info, "pid"));
  if (pid === null || !Number.isSafeInteger(pid)) return null;
  return {
    pid,
    name: readText(element(info, "process_name")),
    usedMemoryBytes: readMemoryBytes(element(info, "used_memory"), "MiB"),
  };
}

function gpuOf(block: string, position: number, driverVersion: string | null): Gpu {
  // MIG devices come before the GPU's own fields and carry their own fb_memory_usage.
  const own = block.replace(/<mig_devices>[\s\S]*?<\/mig_devices>/, "");
  const memory = element(own, "fb_memory_usage");
  // Driver 580 writes gpu_power_readings (instant and average); older drivers power_readings.
  const power = element(own, "gpu_power_readings") ?? element(own, "power_readings");
  const processes = elements(element(own, "processes"), "process_info").map(processOf);
  return {
    // The XML has no index; GPUs appear in index order. minor_number is the /dev/nvidiaN
    // number, which need not match the index.
    index: position,
    uuid: readText(element(own, "uuid")),
    name: readText(element(own, "product_name")),
    busId: readText(element(element(own, "pci"), "pci_bus_id")),
    driverVersion,
    memoryTotalBytes: readMemoryBytes(element(memory, "total"), "MiB"),
    memoryUsedBytes: readMemoryBytes(element(memory, "used"), "MiB"),
    memoryFreeBytes: readMemoryBytes(element(memory, "free"), "MiB"),
    utilizationPercent: readNumber(element(element(own, "utilization"), "gpu_util")),
    temperatureC: readNumber(element(element(own, "temperature"), "gpu_temp")),
    powerDrawW: readNumber(element(power, "instant_power_draw") ?? element(power, "power_draw")),
    powerLimitW: readNumber(element(power, "current_power_limit") ?? element(power, "power_limit")),
    processes: processes.filter((p): p is GpuProcess => p !== null),
  };
}

/** Parses the whole `nvidia-smi -q -x` document into one record per <gpu>. */
export function parseNvidiaSmiXml(xml: string): Gpu[] {
  const driverVersion = readText(element(xml, "driver_version"));
  const blocks = [...xml.matchAll(/<gpu id="[^"]*">([\s\S]*?)<\/gpu>/g)];
  return blocks.map((m, position) => gpuOf(m[1] ?? "", position, driverVersion));
}
