/** What the small value parsers (durations, sizes) return: a value or a message for the user. */
export type ParseResult =
  | { readonly ok: true; readonly value: number }
  | { readonly ok: false; readonly error: string };

/**
 * Decimal amounts times a unit are binary floats (1.1 * 1000 = 1100.0000000000002): snap
 * results within float noise to the integer, and leave real fractions (0.5 ms) for the caller
 * to reject.
 */
export function snapToInteger(value: number): number {
  const nearest = Math.round(value);
  return Math.abs(value - nearest) < 1e-6 ? nearest : value;
}
