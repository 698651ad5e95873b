import type { Gpu } from "./gpu-types.js";
import { readMemoryBytes, readNumber, readText } from "./reading.js";

/** What is asked of rocm-smi: VRAM use and GPU busy percent, as JSON. */
export const ROCM_SMI_ARGS: readonly string[] = ["--showmeminfo", "vram", "--showuse", "--json"];

/**
 * rocm-smi --json prints one object per card, keyed "card0", "card1", ..., whose values are
 * all strings: `{"card0": {"VRAM Total Memory (B)": "68702699520", "VRAM Total Used Memory
 * (B)": "11468800", "GPU use (%)": "0"}}`. Memory is in bytes. Other keys (temperature,
 * power, names) are read when another flag added them, and are null otherwise.
 */
const KEYS = {
  total: ["VRAM Total Memory (B)"],
  used: ["VRAM Total Used Memory (B)"],
  use: ["GPU use (%)"],
  temperature: ["Temperature (Sensor edge) (C)", "Temperature (Sensor junction) (C)"],
  power: ["Current Socket Graphics Package Power (W)", "Average Graphics Package Power (W)"],
  powerLimit: ["Max Graphics Package Power (W)"],
  name: ["Card Series", "Card series", "Device Name", "Card model"],
  uuid: ["Unique ID"],
  busId: ["PCI Bus"],
} as const;

function pick(card: Readonly<Record<string, unknown>>, keys: readonly string[]): string | undefined {
  for (const key of keys) {
    const value = card[key];
    if (typeof value === "string" || typeof value === "number") return String(value);
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses rocm-smi's JSON into one record per card, in card order. Throws when the output is
 * not a JSON object (the caller reports that as the tool's failure). Some versions print
 * warnings before the JSON, so the object is taken from the first "{" to the last "}".
 */
export function parseRocmSmiJson(text: string): Gpu[] {
  const start = text.indexOf("{");
  const end = text.lastIndexOf("}");
  if (start < 0 || end < start) throw new Error("rocm-smi printed no JSON object");
  const data: unknown = JSON.parse(text.slice(start, end + 1));
  if (!isRecord(data)) throw new Error("rocm-smi printed JSON that is not an object");
  const gpus: Gpu[] = [];
  for (const [key, card] of Object.entries(data)) {
    const match = /^card(\d+)$/.exec(key);
    if (match === null || !isRecord(card)) continue; // e.g. a "system" entry
    const total = readMemoryBytes(pick(card, KEYS.total), "B");
    const used = readMemoryBytes(pick(card, KEYS.used), "B");
    gpus.push({
      index: Number(match[1]),
      uuid: readText(pick(card, KEYS.uuid)),
      name: readText(pick(card, KEYS.name)),
      busId: readText(pick(card, KEYS.busId)),
      driverVersion: null,
      memoryTotalBytes: total,
      memoryUsedBytes: used,
      // rocm-smi has no "free" figure; total minus used is what the driver would hand out.
      memoryFreeBytes: total !== null && used !== null ? Math.max(0, total - used) : null,
      utilizationPercent: readNumber(pick(card, KEYS.use)),
      temperatureC: readNumber(pick(card, KEYS.temperature)),
      powerDrawW: readNumber(pick(card, KEYS.power)),
      powerLimitW: readNumber(pick(card, KEYS.powerLimit)),
      processes: [],
    });
  }
  return gpus.sort((a, b) => a.index - b.index);
}
