import type { AnswerKind, CachedAnswer } from "./answer.js";
import { StreamAssembler } from "./stream-assembler.js";

/** finish_reason values of a complete answer; anything else (an error, none) is not kept. */
const GOOD_FINISH: ReadonlySet<unknown> = new Set(["stop", "length", "tool_calls"]);

/** Watches one answer from llama-server as it passes (forward's tap) and makes it an entry. */
export interface Recorder {
  readonly tap: (chunk: Buffer) => void;
  /** The answer to keep once the forward completed, or null when it is not one to keep. */
  finish(): CachedAnswer | null;
}

/**
 * A recorder for one answer: a stream is assembled into the non-streamed shape as it passes
 * (so both kinds of request share the entry); an answer read whole is checked and kept without
 * its `timings` (the original request's, not the replay's). Past maxBytes it gives up.
 */
export function recorder(kind: AnswerKind, streamed: boolean, maxBytes: number): Recorder {
  if (streamed && kind !== "embedding") {
    const assembler = new StreamAssembler(kind, maxBytes);
    return { tap: (chunk) => assembler.push(chunk), finish: () => assembler.finish() };
  }
  let body: Buffer | null = null;
  let tooLarge = false;
  return {
    tap: (chunk) => {
      if (tooLarge) return;
      body = body === null ? chunk : Buffer.concat([body, chunk]);
      if (body.length > maxBytes) {
        tooLarge = true;
        body = null;
      }
    },
    finish: () => (body === null ? null : wholeAnswer(kind, body)),
  };
}

function wholeAnswer(kind: AnswerKind, body: Buffer): CachedAnswer | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const answer = parsed as Record<string, unknown>;
  if (kind === "embedding") {
    return Array.isArray(answer.data) ? { kind, json: body.toString("utf8") } : null;
  }
  const choices = answer.choices;
  if (!Array.isArray(choices) || choices.length !== 1) return null;
  const choice = choices[0] as Record<string, unknown> | null;
  if (choice === null || typeof choice !== "object" || !GOOD_FINISH.has(choice.finish_reason)) return null;
  delete answer.timings;
  return { kind, json: JSON.stringify(answer) };
}
