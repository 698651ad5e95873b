import { randomFillSync } from "node:crypto";
import { replaceModelValues } from "../proxy/json-bytes.js";
import type { CachedAnswer } from "./answer.js";

/** What a replayed answer says about itself: it is a new answer, under the name the client used. */
export interface ReplayShape {
  readonly modelName: string;
  /** unix seconds */
  readonly created: number;
  readonly id: string;
}

type Json = Record<string, unknown>;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ID_LENGTH = 32;
/** Random bytes are drawn for many ids at once: one call into the CSPRNG per 128 answers. */
const POOL = Buffer.alloc(ID_LENGTH * 128);
let poolAt = POOL.length;

/**
 * A fresh id in llama-server's form, "chatcmpl-" and 32 alphanumerics. Byte % 62 favours the
 * first 8 letters slightly; an id only has to be unique, not uniform.
 */
export function newAnswerId(): string {
  if (poolAt + ID_LENGTH > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  let id = "chatcmpl-";
  for (let i = 0; i < ID_LENGTH; i++) id += ALPHABET[(POOL[poolAt + i] as number) % ALPHABET.length];
  poolAt += ID_LENGTH;
  return id;
}

/**
 * The stored answer as a non-streamed body: fresh id and created where the object has them (an
 * embedding list has neither), and the model name the client asked by. Embeddings are rewritten
 * on bytes, since re-stringifying a large vector costs far more than one search for "model".
 */
export function replayJson(answer: CachedAnswer, shape: ReplayShape): Buffer {
  const nameJson = JSON.stringify(shape.modelName);
  if (answer.kind === "embedding") return replaceModelValues(Buffer.from(answer.json), Buffer.from(nameJson));
  const stored = JSON.parse(answer.json) as Json;
  // Assigning to keys that exist keeps their place, so the body keeps llama-server's key order.
  const out: Json = { ...stored };
  if ("id" in out) out.id = shape.id;
  if ("created" in out) out.created = shape.created;
  out.model = shape.modelName;
  delete out.timings;
  return Buffer.from(JSON.stringify(out));
}

/**
 * The stored answer as the SSE body a live llama-server stream of the same request would have
 * sent: the text arrives in one delta instead of one per token, everything else is in the same
 * events, with the same keys in the same order, ending with `data: [DONE]`.
 */
export function replayStream(answer: CachedAnswer, shape: ReplayShape, includeUsage: boolean): Buffer {
  if (answer.kind === "embedding") throw new Error("an embedding answer cannot be streamed");
  const stored = JSON.parse(answer.json) as Json;
  const choice = (Array.isArray(stored.choices) ? stored.choices[0] : undefined) as Json | undefined;
  if (choice === undefined) throw new Error("a cached answer without a choice cannot be replayed");
  const events =
    answer.kind === "chat"
      ? chatEvents(stored, choice, shape, includeUsage)
      : textEvents(stored, choice, shape);
  events.push("[DONE]");
  return Buffer.from(`data: ${events.join("\n\ndata: ")}\n\n`);
}

/** The events of a chat stream, each as the JSON text after `data: `. */
function chatEvents(stored: Json, choice: Json, shape: ReplayShape, includeUsage: boolean): string[] {
  // Every chunk ends in the same keys; they are written once and reused.
  let tail = `,"created":${shape.created},"id":${JSON.stringify(shape.id)},"model":${JSON.stringify(shape.modelName)}`;
  if (typeof stored.system_fingerprint === "string") {
    tail += `,"system_fingerprint":${JSON.stringify(stored.system_fingerprint)}`;
  }
  tail += ',"object":"chat.completion.chunk"';
  const chunk = (delta: Json, finishReason: unknown = null) =>
    `{"choices":[${JSON.stringify({ finish_reason: finishReason, index: 0, delta })}]${tail}}`;

  const message = (choice.message ?? {}) as Json;
  const events = [chunk({ role: "assistant", content: null })];
  if (typeof message.reasoning_content === "string" && message.reasoning_content !== "") {
    events.push(chunk({ reasoning_content: message.reasoning_content }));
  }
  if (typeof message.content === "string" && message.content !== "") {
    events.push(chunk({ content: message.content }));
  }
  if (Array.isArray(message.tool_calls)) {
    message.tool_calls.forEach((call: Json, index: number) => {
      const fn = (call.function ?? {}) as Json;
      const delta: Json = { index };
      if (call.id !== undefined) delta.id = call.id;
      delta.type = "function";
      delta.function = { name: fn.name, arguments: fn.arguments };
      events.push(chunk({ tool_calls: [delta] }));
    });
  }
  events.push(chunk({}, choice.finish_reason));
  if (includeUsage && stored.usage !== undefined) {
    events.push(`{"choices":[]${tail},"usage":${JSON.stringify(stored.usage)}}`);
  }
  return events;
}

/** The events of a /v1/completions stream: llama-server always puts usage on its final chunk. */
function textEvents(stored: Json, choice: Json, shape: ReplayShape): string[] {
  let head = `,"created":${shape.created},"model":${JSON.stringify(shape.modelName)}`;
  if (typeof stored.system_fingerprint === "string") {
    head += `,"system_fingerprint":${JSON.stringify(stored.system_fingerprint)}`;
  }
  head += ',"object":"text_completion"';
  const id = `,"id":${JSON.stringify(shape.id)}}`;
  const chunk = (text: string, finishReason: unknown, usage: string) =>
    `{"choices":[${JSON.stringify({ text, index: 0, logprobs: null, finish_reason: finishReason })}]${head}${usage}${id}`;

  const events: string[] = [];
  if (typeof choice.text === "string" && choice.text !== "") events.push(chunk(choice.text, null, ""));
  const usage = stored.usage === undefined ? "" : `,"usage":${JSON.stringify(stored.usage)}`;
  events.push(chunk("", choice.finish_reason, usage));
  return events;
}
