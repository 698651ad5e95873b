// Small, pure formatting helpers. Every value may be null/undefined or of the wrong type:
// they answer "—" rather than throw.

export const DASH = "—";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);

export function fmtMs(ms) {
  if (!isNum(ms)) return DASH;
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return fmtDuration(ms / 1000);
}

/** Seconds as "2d 3h", "4h 05m", "6m 07s", "8s". */
export function fmtDuration(seconds) {
  if (!isNum(seconds)) return DASH;
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${two(m)}m`;
  if (m > 0) return `${m}m ${two(sec)}s`;
  return `${sec}s`;
}

export function fmtBytes(bytes) {
  if (!isNum(bytes)) return DASH;
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${v.toFixed(i === 0 || v >= 100 ? 0 : 1)} ${units[i]}`;
}

/** A ratio (0..1) as a percentage. */
export function fmtPct(ratio, digits = 1) {
  if (!isNum(ratio)) return DASH;
  return `${(ratio * 100).toFixed(digits)}%`;
}

// Intl formatters are costly to build: one each, reused (the request table formats a lot).
const numberFormats = new Map();
export function fmtNum(v, digits = 0) {
  if (!isNum(v)) return DASH;
  let format = numberFormats.get(digits);
  if (!format) {
    format = new Intl.NumberFormat(undefined, {
      maximumFractionDigits: digits,
      minimumFractionDigits: digits,
    });
    numberFormats.set(digits, format);
  }
  return format.format(v);
}

const two = (n) => String(n).padStart(2, "0");

/** HH:MM:SS, local time. */
export function fmtTime(ms) {
  if (!isNum(ms)) return DASH;
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

/** YYYY-MM-DD HH:MM:SS.mmm, local time. */
export function fmtDateTime(ms) {
  if (!isNum(ms)) return DASH;
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${fmtTime(ms)}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** An ISO date (or ms) to ms since epoch, or null. */
export function toMs(value) {
  if (isNum(value)) return value;
  if (typeof value !== "string") return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** "2xx", "4xx", … for a status code; "499" is its own class (the client left). */
export function statusClass(status) {
  if (!isNum(status)) return "other";
  if (status === 499) return "499";
  return `${Math.floor(status / 100)}xx`;
}

/** Any value as display text: strings as they are, the rest as JSON. */
export function asText(value) {
  if (value === null || value === undefined) return DASH;
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

export { isNum };
