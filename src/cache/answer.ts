/** Which API shape a cached answer has: the route it answered. */
export type AnswerKind = "chat" | "text" | "embedding";

/**
 * What the cache keeps for one answer: the answer as a non-streamed JSON object of its route
 * (chat.completion, text_completion, an embedding list), `timings` removed. A streamed answer is
 * assembled into this form before it is stored (stream-assembler.ts), so a streamed and a
 * non-streamed request share one entry; replay.ts turns it back into either shape.
 */
export interface CachedAnswer {
  readonly kind: AnswerKind;
  /** The JSON text of the answer object. */
  readonly json: string;
}

/** The bytes an entry takes against cache.maxBytes (its JSON text, UTF-8). */
export function answerBytes(answer: CachedAnswer): number {
  return Buffer.byteLength(answer.json, "utf8") + answer.kind.length;
}
