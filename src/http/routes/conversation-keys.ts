import { hash } from "node:crypto";
import type { Conversation } from "../../scheduler/affinity-table.js";

type Body = Record<string, unknown>;

/** A text prompt is cut in blocks of this many characters: the next turn shares the whole blocks. */
export const PROMPT_BLOCK_CHARS = 1024;
/** Bytes per token, for the recompute prediction (the same rough ratio as the rate limiter's). */
const BYTES_PER_TOKEN = 4;
/** Key length in base64url characters (96 bits): collisions are not a concern at 4096 entries. */
const KEY_CHARS = 16;

/**
 * The request's conversation for affinity routing: a chain of SHA-1 keys, the first over what
 * comes first in the prompt (system text, instructions, tools: they precede the messages in
 * every chat template), then one key after each message (chat, Anthropic messages, Responses
 * input items), or after each whole PROMPT_BLOCK_CHARS block of a text prompt (completions),
 * each the digest of the previous key and the new part. The last key covers the whole request;
 * the next turn of the conversation (the same messages plus the answer and a new question) has
 * it among its own. Null for requests without a single prompt (batches; n > 1 still counts: it
 * shares the prompt). One-shot digests, no Hash objects: this runs on every request of a model
 * that routes by conversation.
 */
export function conversationOf(body: Body): Conversation | null {
  // Fields that come before the messages in the rendered prompt.
  let head = "";
  for (const field of ["system", "instructions", "tools"]) {
    const value = body[field];
    if (value !== undefined && value !== null) head += `${field}:${JSON.stringify(value)}\n`;
  }
  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : null;
  if (items !== null) return itemsConversation(head, items);
  const prompt =
    typeof body.prompt === "string" ? body.prompt : typeof body.input === "string" ? body.input : null;
  if (prompt !== null) return promptConversation(head, prompt);
  return null;
}

/** The key after `part`, chained to the key before it ("" for the first). */
function next(previous: string, part: string): string {
  return hash("sha1", `${previous}\n${part}`, "base64url").slice(0, KEY_CHARS);
}

function itemsConversation(head: string, items: readonly unknown[]): Conversation | null {
  if (items.length === 0) return null;
  const keys: string[] = [];
  let bytes = 0;
  let key = head;
  for (let i = 0; i < items.length; i++) {
    const text = JSON.stringify(items[i]) ?? "null";
    bytes += text.length;
    // The head rides with the first message: one digest fewer per request.
    key = next(key, text);
    keys.push(key);
  }
  return { keys, promptTokens: Math.ceil(bytes / BYTES_PER_TOKEN) };
}

function promptConversation(head: string, prompt: string): Conversation | null {
  const keys: string[] = [];
  const whole = Math.floor(prompt.length / PROMPT_BLOCK_CHARS);
  let key = head;
  for (let block = 0; block < whole; block++) {
    key = next(key, prompt.slice(block * PROMPT_BLOCK_CHARS, (block + 1) * PROMPT_BLOCK_CHARS));
    keys.push(key);
  }
  // A prompt shorter than one block has no key: there is little to recompute.
  if (keys.length === 0) return null;
  return { keys, promptTokens: Math.ceil(Buffer.byteLength(prompt) / BYTES_PER_TOKEN) };
}
