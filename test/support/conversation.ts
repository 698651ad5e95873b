import assert from "node:assert/strict";
import type { Json } from "../fixtures/fake/client.js";
import type { RunningGateway } from "./gateway-process.js";

/** One chat turn as the routing tests read it. */
export interface Turn {
  /** X-Gateway-Route. */
  readonly route: string | null;
  /** Prompt tokens llama-server took from its KV cache (timings.cache_n). */
  readonly cached: number;
  readonly promptTokens: number;
  readonly reply: string;
}

/** A long first message of `words` word pairs, distinct per conversation, so a cache hit is unmistakable. */
export function opening(name: string, words: number): string {
  const text = Array.from({ length: words }, (_, i) => `${name}${(i * 7) % 31} w${i % 13}`);
  return `Conversation ${name}: ${text.join(" ")}`;
}

/** A non-streamed temperature-0 chat turn of 4 tokens; fails the test unless it is a 200. */
export async function chatTurn(
  g: RunningGateway,
  key: string,
  model: string,
  messages: Json[],
): Promise<Turn> {
  const res = await fetch(`${g.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
    body: JSON.stringify({ model, messages, max_tokens: 4, temperature: 0 }),
  });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const json = JSON.parse(text) as Json;
  return {
    route: res.headers.get("x-gateway-route"),
    cached: json.timings?.cache_n ?? 0,
    promptTokens: json.usage.prompt_tokens,
    reply: json.choices[0].message.content,
  };
}
