import { createHash, type Hash } from "node:crypto";
import type { Conversation } from "../../scheduler/affinity-table.js";

type Body = Record<string, unknown>;

/** A text prompt is cut in blocks of this many characters: the next turn shares the whole blocks. */
export const PROMPT_BLOCK_CHARS = 1024;
/** Bytes per token, for the recompute prediction (the same rough ratio as the rate limiter's). */
const BYTES_PER_TOKEN = 4;
/** Key length in base64url characters (96 bits): collisions are not a concern at 4096 entries. */
const KEY_CHARS = 16;

/**
 * The request's conversation for affinity routing: a running SHA-1 over what comes first in the
 * prompt (system text, instructions, tools: they precede the messages in every chat template),
 * then one key after each message (chat, Anthropic messages, Responses input items), or after
 * each whole PROMPT_BLOCK_CHARS block of a text prompt (completions). The last key covers the
 * whole request; the next turn of the conversation (the same messages plus the answer and a new
 * question) has it among its own. Null for requests without a single prompt (batches, n > 1
 * still counts: it shares the prompt).
 */
export function conversationOf(body: Body): Conversation | null {
  const hash = createHash("sha1");
  // Fields that come before the messages in the rendered prompt.
  for (const field of ["system", "instructions", "tools"]) {
    const value = body[field];
    if (value !== undefined && value !== null) hash.update(`${field}:${JSON.stringify(value)}\n`);
  }
  const items = Array.isArray(body.messages) ? body.messages : Array.isArray(body.input) ? body.input : null;
  if (items !== null) return itemsConversation(hash, items);
  const prompt =
    typeof body.prompt === "string" ? body.prompt : typeof body.input === "string" ? body.input : null;
  if (prompt !== null) return promptConversation(hash, prompt);
  return null;
}

/** The key of what `hash` has seen so far; `last`: digest it itself (no copy: it is not used again). */
function key(hash: Hash, last: boolean): string {
  return (last ? hash : hash.copy()).digest("base64url").slice(0, KEY_CHARS);
}

function itemsConversation(hash: Hash, items: readonly unknown[]): Conversation | null {
  if (items.length === 0) return null;
  const keys: string[] = [];
  let bytes = 0;
  for (let i = 0; i < items.length; i++) {
    const text = JSON.stringify(items[i]) ?? "null";
    bytes += text.length;
    hash.update(text);
    hash.update("\n");
    keys.push(key(hash, i === items.length - 1));
  }
  return { keys, promptTokens: Math.ceil(bytes / BYTES_PER_TOKEN) };
}

function promptConversation(hash: Hash, prompt: string): Conversation | null {
  const keys: string[] = [];
  const whole = Math.floor(prompt.length / PROMPT_BLOCK_CHARS);
  for (let block = 0; block < whole; block++) {
    hash.update(prompt.slice(block * PROMPT_BLOCK_CHARS, (block + 1) * PROMPT_BLOCK_CHARS));
    keys.push(key(hash, block === whole - 1));
  }
  // A prompt shorter than one block has no key: there is little to recompute.
  if (keys.length === 0) return null;
  return { keys, promptTokens: Math.ceil(Buffer.byteLength(prompt) / BYTES_PER_TOKEN) };
}
