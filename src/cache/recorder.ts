import { objectEnd } from "../proxy/json-bytes.js";
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

const EMBEDDING_LIST = Buffer.from('"object":"list"');
const EMBEDDING_DATA = Buffer.from('"data":[');

const TIMINGS = Buffer.from(',"timings":{');

/** The answer without llama-server's `timings` (they describe the original run), cut out byte-wise. */
function withoutTimings(body: Buffer): Buffer {
  const at = body.indexOf(TIMINGS);
  if (at === -1) return body;
  const end = objectEnd(body, at + TIMINGS.length - 1);
  return end === -1 ? body : Buffer.concat([body.subarray(0, at), body.subarray(end)]);
}

/**
 * An answer read whole, kept as llama-server wrote it less its `timings`: a completion is
 * parsed once to check it is one finished choice; an embedding list, whose vectors make parsing
 * costly, only by its keys (llama-server answered 200 with it as JSON).
 */
function wholeAnswer(kind: AnswerKind, whole: Buffer): CachedAnswer | null {
  const body = withoutTimings(whole);
  const json = body.toString("utf8");
  if (kind === "embedding") {
    const list = body[0] === OPEN_BRACE && body.includes(EMBEDDING_LIST) && body.includes(EMBEDDING_DATA);
    return list ? { kind, json } : null;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return null;
  const choices = (parsed as Record<string, unknown>).choices;
  if (!Array.isArray(choices) || choices.length !== 1) return null;
  const choice = choices[0] as Record<string, unknown> | null;
  if (choice === null || typeof choice !== "object" || !GOOD_FINISH.has(choice.finish_reason)) return null;
  return { kind, json };
}

const OPEN_BRACE = 0x7b;
