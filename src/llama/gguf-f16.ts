/**
 * IEEE 754 half-precision conversion for F16 tensors. Node 20 has neither Float16Array nor
 * Math.f16round, so this is done on the bit patterns, rounding to nearest-even like ggml's
 * GGML_FP32_TO_FP16.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Rounds `mantissa` right by `shift` bits to nearest, ties to even. */
function roundShift(mantissa: number, shift: number): number {
  const kept = mantissa >>> shift;
  const rest = mantissa & ((1 << shift) - 1);
  const halfway = 1 << (shift - 1);
  return rest > halfway || (rest === halfway && (kept & 1) === 1) ? kept + 1 : kept;
}

export function f32ToF16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Below the smallest normal half: a subnormal (m × 2^-24) or zero.
    if (e < -10) return sign;
    return sign | roundShift(mantissa | 0x800000, 14 - e);
  }
  // A carry out of the mantissa correctly bumps the exponent (and the largest value to infinity).
  return sign | (((e << 10) | (mantissa >>> 13)) + (roundShift(mantissa, 13) - (mantissa >>> 13)));
}

export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
