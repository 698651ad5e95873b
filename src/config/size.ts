import { type ParseResult, snapToInteger } from "./parse-result.js";

/** SI units are powers of 1000 (disk vendors' GB), IEC units powers of 1024 (what RAM is sold in). */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const SIZE = /^(\d+(?:\.\d+)?)\s*([A-Za-z]*)$/;
const HINT =
  "use a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 10MiB, or a bare number of bytes";

/** Parses "24GiB", "10MiB", "1GB", "1024" (bytes) into bytes. Units are case-insensitive. */
export function parseSize(input: string | number): ParseResult {
  const text = typeof input === "number" ? String(input) : input.trim();
  const match = SIZE.exec(text);
  if (match === null) return { ok: false, error: `invalid size "${input}": ${HINT}` };
  const amount = Number(match[1]);
  const unit = (match[2] ?? "").toLowerCase();
  const factor = unit === "" ? 1 : UNIT_BYTES[unit];
  if (factor === undefined)
    return { ok: false, error: `invalid size "${input}": unknown unit "${match[2]}"; ${HINT}` };
  const bytes = snapToInteger(amount * factor);
  if (!Number.isInteger(bytes)) return { ok: false, error: `invalid size "${input}": must be whole bytes` };
  if (!Number.isSafeInteger(bytes)) return { ok: false, error: `invalid size "${input}": too large` };
  return { ok: true, value: bytes };
}
