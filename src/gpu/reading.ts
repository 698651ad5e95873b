/**
 * Reading one value out of a vendor tool's output. nvidia-smi prints "[N/A]", "N/A",
 * "[Not Supported]", "[Unknown Error]", "[Insufficient Permissions]", ... where a card,
 * driver or container does not expose a field; rocm-smi prints "N/A". All of them mean
 * "unknown", which must stay distinct from 0.
 */

const MEMORY_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
};

/** A number, optionally followed by a unit: "143771", "143771 MiB", "45 %", "123.05 W", "35 C". */
const QUANTITY = /^(-?\d+(?:\.\d+)?)\s*([A-Za-z%]*)$/;

/** Anything in square brackets is a placeholder in nvidia-smi's CSV, whatever words it holds. */
export function isUnavailable(text: string): boolean {
  return /^\[.*\]$/.test(text) || /^(n\/a|not supported|unknown)$/i.test(text);
}

/** Trimmed text, or null when empty or a placeholder. */
export function readText(cell: string | undefined): string | null {
  const text = cell?.trim() ?? "";
  return text === "" || isUnavailable(text) ? null : text;
}

function readQuantity(cell: string | undefined): { value: number; unit: string } | null {
  const text = readText(cell);
  if (text === null) return null;
  const match = QUANTITY.exec(text);
  if (match === null) return null;
  const value = Number(match[1]);
  return Number.isFinite(value) ? { value, unit: match[2] ?? "" } : null;
}

/**
 * A plain reading (percent, watts, degrees). Each field has one fixed unit in these tools,
 * so a unit printed after the number is dropped rather than converted.
 */
export function readNumber(cell: string | undefined): number | null {
  return readQuantity(cell)?.value ?? null;
}

/**
 * A memory amount in bytes. The unit printed after the number wins, then the unit the caller
 * knows for the field (from a CSV header, or the tool's fixed unit); an unknown unit is null
 * rather than a guess, so a budget is never computed from a misread number.
 */
export function readMemoryBytes(cell: string | undefined, knownUnit: string): number | null {
  const quantity = readQuantity(cell);
  if (quantity === null) return null;
  const factor = MEMORY_UNITS[(quantity.unit === "" ? knownUnit : quantity.unit).toLowerCase()];
  if (factor === undefined) return null;
  const bytes = Math.round(quantity.value * factor);
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : null;
}
