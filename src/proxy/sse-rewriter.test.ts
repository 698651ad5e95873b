import assert from "node:assert/strict";
import { test } from "node:test";
import type { Shaping } from "./shaping.js";
import { SseRewriter } from "./sse-rewriter.js";

// Events in llama-server's own bytes (captured from the pinned build on the tiny model).
const TAIL =
  ',"created":1,"id":"chatcmpl-1","model":"tiny","system_fingerprint":"b1","object":"chat.completion.chunk"}';
const ROLE = `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}]${TAIL}\n\n`;
const token = (word: string) =>
  `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":${JSON.stringify(word)}}}]${TAIL}\n\n`;
const FINISH = `data: {"choices":[{"finish_reason":"length","index":0,"delta":{}}]${TAIL}\n\n`;
const USAGE =
  'data: {"choices":[],"created":1,"id":"chatcmpl-1","model":"tiny","system_fingerprint":"b1","object":"chat.completion.chunk",' +
  '"usage":{"completion_tokens":2,"prompt_tokens":29,"total_tokens":31,"prompt_tokens_details":{"cached_tokens":28}},' +
  '"timings":{"cache_n":28}}\n\n';
const DONE = "data: [DONE]\n\n";
const STREAM = ROLE + token(' "model":"tiny"') + token(" swift") + FINISH + USAGE + DONE;

function shaping(overrides: Partial<Shaping> = {}): Shaping {
  return {
    modelId: "tiny",
    modelName: "gpt-4o-mini",
    dialect: "openai",
    stripUsageChunk: false,
    ...overrides,
  };
}

function run(rewriter: SseRewriter, chunks: readonly string[]): string {
  let out = "";
  for (const chunk of chunks) out += rewriter.push(Buffer.from(chunk))?.toString() ?? "";
  return out + (rewriter.end()?.toString() ?? "");
}

function renamed(text: string): string {
  return text.replaceAll('"model":"tiny"', '"model":"gpt-4o-mini"');
}

test("model is rewritten in every event, and user text that looks like a model key is not", () => {
  const out = run(new SseRewriter(shaping()), [STREAM]);
  assert.equal(out, renamed(STREAM));
  assert.ok(out.includes('\\"model\\":\\"tiny\\"'), "the user's text is unchanged");
  assert.equal((out.match(/"model":"gpt-4o-mini"/g) ?? []).length, 5);
});

test("the output is the same wherever the chunk boundaries fall, including inside the model key", () => {
  const whole = run(new SseRewriter(shaping()), [STREAM]);
  for (let cut = 1; cut < STREAM.length; cut++) {
    const split = run(new SseRewriter(shaping()), [STREAM.slice(0, cut), STREAM.slice(cut)]);
    assert.equal(split, whole, `cut at ${cut}`);
  }
  for (let size = 1; size <= 7; size++) {
    const pieces: string[] = [];
    for (let i = 0; i < STREAM.length; i += size) pieces.push(STREAM.slice(i, i + size));
    assert.equal(run(new SseRewriter(shaping()), pieces), whole, `pieces of ${size}`);
  }
});

test("complete events are written at once; only an incomplete tail waits", () => {
  const rewriter = new SseRewriter(shaping());
  assert.equal(rewriter.push(Buffer.from(ROLE))?.toString(), renamed(ROLE));
  const next = token(" a");
  const half = Math.floor(next.length / 2);
  assert.equal(rewriter.push(Buffer.from(FINISH + next.slice(0, half)))?.toString(), renamed(FINISH));
  assert.equal(rewriter.push(Buffer.from(next.slice(half)))?.toString(), renamed(next));
  assert.equal(rewriter.end(), null);
});

test("usage is counted from the usage chunk, which is dropped only when the gateway asked for it", () => {
  const kept = new SseRewriter(shaping());
  assert.ok(run(kept, [STREAM]).includes('"usage"'));
  assert.deepEqual(kept.usage(), { promptTokens: 29, completionTokens: 2, cachedTokens: 28 });

  const stripped = new SseRewriter(shaping({ stripUsageChunk: true }));
  const out = run(stripped, [ROLE, FINISH + USAGE + DONE]);
  assert.equal(out, renamed(ROLE + FINISH) + DONE);
  assert.deepEqual(stripped.usage(), { promptTokens: 29, completionTokens: 2, cachedTokens: 28 });
});

test("a usage field inside an ordinary chunk (text completions) is never dropped", () => {
  const final = `data: {"choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}],"model":"tiny","usage":{"completion_tokens":2,"prompt_tokens":2}}\n\n`;
  const rewriter = new SseRewriter(shaping({ stripUsageChunk: true }));
  assert.equal(run(rewriter, [final + DONE]), renamed(final) + DONE);
  assert.deepEqual(rewriter.usage(), { promptTokens: 2, completionTokens: 2, cachedTokens: 0 });
});

test("llama-server's in-stream error becomes our error shape followed by [DONE], and nothing after it", () => {
  const rewriter = new SseRewriter(shaping());
  const error = 'data: {"error":{"code":500,"message":"boom","type":"server_error"}}\n\n';
  const out = rewriter.push(Buffer.from(ROLE + error))?.toString() ?? "";
  assert.ok(out.startsWith(renamed(ROLE)));
  const events = out.slice(renamed(ROLE).length).split("\n\n");
  assert.deepEqual(JSON.parse((events[0] as string).slice(6)), {
    error: { message: "boom", type: "server_error", param: null, code: "backend_internal_error" },
  });
  assert.equal(events[1], "data: [DONE]");
  assert.equal(rewriter.failure?.code, "backend_internal_error");
  assert.equal(rewriter.push(Buffer.from(FINISH)), null);
});

test("Anthropic usage is merged from message_start and message_delta, cached tokens included", () => {
  const start =
    'event: message_start\ndata: {"type":"message_start","message":{"id":"m","model":"tiny","usage":{"cache_read_input_tokens":28,"input_tokens":1,"output_tokens":0}}}\n\n';
  const delta =
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":2}}\n\n';
  const rewriter = new SseRewriter(shaping({ dialect: "anthropic" }));
  const out = run(rewriter, [start, delta]);
  assert.equal(out, renamed(start) + delta);
  assert.deepEqual(rewriter.usage(), { promptTokens: 29, completionTokens: 2, cachedTokens: 28 });
});

test("the native /infill stream reports usage on its final object", () => {
  const partial =
    'data: {"index":0,"content":"a","stop":false,"tokens_predicted":1,"tokens_evaluated":5}\n\n';
  const final =
    'data: {"index":0,"content":"","stop":true,"model":"tiny","tokens_predicted":3,"tokens_evaluated":5,"timings":{"cache_n":4}}\n\n';
  const rewriter = new SseRewriter(shaping({ dialect: "native" }));
  run(rewriter, [partial, final]);
  assert.deepEqual(rewriter.usage(), { promptTokens: 5, completionTokens: 3, cachedTokens: 4 });
});

test("CRLF-framed events are passed on at once too", () => {
  const rewriter = new SseRewriter(shaping());
  const event = 'data: {"model":"tiny"}\r\n\r\n';
  assert.equal(rewriter.push(Buffer.from(event))?.toString(), 'data: {"model":"gpt-4o-mini"}\r\n\r\n');
});

test("bytes that never form an event are passed on untouched past the buffering limit", () => {
  const rewriter = new SseRewriter(shaping());
  const blob = Buffer.alloc((1 << 20) + 1, 0x61);
  assert.equal(rewriter.push(blob), blob);
});
