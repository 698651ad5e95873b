import { hash, timingSafeEqual } from "node:crypto";

/**
 * Keys are compared as SHA-256 digests: equal lengths for any two keys, so timingSafeEqual
 * applies and the comparison time says nothing about how much of a guess was right; and the
 * table of keys holds digests, not the keys themselves. One-shot `hash` (no Hash object): this
 * runs on every request of a gateway with keys.
 */
export function digestKey(key: string): Buffer {
  return hash("sha256", key, "buffer") as unknown as Buffer;
}

/** Constant-time equality of two digests (false for different lengths, which digests never have). */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
