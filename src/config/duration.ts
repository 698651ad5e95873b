import { type ParseResult, snapToInteger } from "./parse-result.js";

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof UNIT_MS;

/**
 * The largest delay Node's timers accept: setTimeout silently turns anything above 2^31-1 ms
 * into 1 ms, so a too-large timeout would fire at once instead of "never".
 */
export const MAX_DURATION_MS = 2_147_483_647;

const WHOLE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const BARE = /^\d+$/;

const HINT =
  "use a number with a unit (ms, s, m, h, d), e.g. 500ms, 30s, 10m, 1h30m, or a bare number of milliseconds";

/**
 * Parses "500ms", "30s", "10m", "1h30m", "1.5s" into milliseconds. A bare number (YAML number
 * or digits-only string) is milliseconds, the unit every timer in Node takes; seconds would be
 * a guess the reader has to remember.
 */
export function parseDuration(input: string | number): ParseResult {
  if (typeof input === "number") return checkMs(input, String(input));
  const text = input.trim();
  if (BARE.test(text)) return checkMs(Number(text), input);
  if (!WHOLE.test(text)) return { ok: false, error: `invalid duration "${input}": ${HINT}` };
  let total = 0;
  for (const match of text.matchAll(PART)) {
    const unit = match[2] as DurationUnit;
    total += Number(match[1]) * UNIT_MS[unit];
  }
  return checkMs(snapToInteger(total), input);
}

function checkMs(ms: number, shown: string): ParseResult {
  if (!Number.isFinite(ms) || ms < 0)
    return { ok: false, error: `invalid duration "${shown}": must not be negative` };
  if (!Number.isInteger(ms))
    return { ok: false, error: `invalid duration "${shown}": must be whole milliseconds` };
  if (ms > MAX_DURATION_MS) {
    return {
      ok: false,
      error: `invalid duration "${shown}": at most ${MAX_DURATION_MS} ms (about 24.8 days)`,
    };
  }
  return { ok: true, value: ms };
}
