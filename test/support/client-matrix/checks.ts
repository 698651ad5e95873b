import assert from "node:assert/strict";
import type { MatrixContext } from "./context.js";

/** Checks several client families share; each throws with a message that names what is wrong. */

/** The tiny model answers in lowercase ASCII words. */
export function assertWords(text: string | null | undefined, what = "the answer"): void {
  assert.match(text ?? "", /[a-z]{3,}/, `${what} has no words: ${JSON.stringify(text)}`);
}

/** Two embeddings of the same text, one decoded from base64 and one sent as floats, agree. */
export function assertSameVector(decoded: ArrayLike<number>, float: ArrayLike<number>): void {
  assert.equal(decoded.length, 64);
  assert.equal(float.length, 64);
  for (let i = 0; i < decoded.length; i++) {
    assert.ok(Math.abs((decoded[i] ?? 0) - (float[i] ?? Number.NaN)) < 1e-6, `component ${i}`);
  }
}

/** The JSON schema every structured-output case asks for: one boolean, so the grammar always ends. */
export const FLAG_SCHEMA = {
  type: "object",
  properties: { flag: { type: "boolean" } },
  required: ["flag"],
  additionalProperties: false,
} as const;

/**
 * Room for a whole object: the grammar allows up to ~22 whitespace characters around each
 * token, and the random-weight model samples whitespace as often as anything else it may.
 */
export const STRUCTURED_MAX_TOKENS = 200;

export function assertFlagObject(value: unknown): void {
  assert.equal(typeof (value as { flag?: unknown } | null)?.flag, "boolean", JSON.stringify(value));
}

/** A tool whose only argument is an enum, so a forced call would always be complete. */
export const WEATHER_TOOL_PARAMETERS = {
  type: "object",
  properties: { unit: { type: "string", enum: ["c", "f"] } },
  required: ["unit"],
} as const;

/** After a cancelled stream: the gateway noticed the client leave (499 in its access log). */
export async function assertCancelled(ctx: MatrixContext, requestId: string): Promise<void> {
  const line = await ctx.accessLine(requestId);
  assert.equal(line.status, 499, `access log: ${JSON.stringify(line)}`);
}

/** After a client gave up on a 503: the gateway saw `attempts` requests with that id. */
export async function assertAttempts(ctx: MatrixContext, requestId: string, attempts: number): Promise<void> {
  const lines = await ctx.accessLines(requestId);
  assert.deepEqual(
    lines.map((l) => l.status),
    Array.from({ length: attempts }, () => 503),
    "each attempt is one 503 in the access log",
  );
}

/**
 * The client stopped soon after it aborted: what it had already received and parsed may still
 * come out of its iterator (the tiny model writes hundreds of tokens a second), but not the
 * rest of a LONG_ANSWER_TOKENS answer. That the request was cut is the gateway's 499.
 */
export function assertStoppedEarly(parts: number): void {
  assert.ok(parts >= 1 && parts < LONG_ANSWER_TOKENS / 2, `${parts} parts after the abort`);
}

/** A streamed chat long enough to be cancelled: as many tokens as the slot's context holds. */
export const LONG_ANSWER_TOKENS = 2000;
