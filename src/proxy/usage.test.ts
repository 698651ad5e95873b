import assert from "node:assert/strict";
import { test } from "node:test";
import { UsageTally } from "./usage.js";

test("each dialect's usage object gives prompt, completion and cached tokens", () => {
  const openai = new UsageTally("openai");
  openai.add({ completion_tokens: 3, prompt_tokens: 29, prompt_tokens_details: { cached_tokens: 28 } });
  assert.deepEqual(openai.result(), { promptTokens: 29, completionTokens: 3, cachedTokens: 28 });

  const responses = new UsageTally("responses");
  responses.add({ input_tokens: 29, output_tokens: 2, input_tokens_details: { cached_tokens: 28 } });
  assert.deepEqual(responses.result(), { promptTokens: 29, completionTokens: 2, cachedTokens: 28 });

  // llama-server's Anthropic input_tokens leaves the cached part out (server-task.cpp).
  const anthropic = new UsageTally("anthropic");
  anthropic.add({ cache_read_input_tokens: 28, input_tokens: 1, output_tokens: 3 });
  assert.deepEqual(anthropic.result(), { promptTokens: 29, completionTokens: 3, cachedTokens: 28 });

  const embeddings = new UsageTally("openai");
  embeddings.add({ prompt_tokens: 7, total_tokens: 7 });
  assert.deepEqual(embeddings.result(), { promptTokens: 7, completionTokens: 0, cachedTokens: 0 });
});

test("no usage reported is null, and scan finds usage objects in raw bytes", () => {
  assert.equal(new UsageTally("openai").result(), null);
  const tally = new UsageTally("openai");
  const body = Buffer.from(
    '{"choices":[{"text":"\\"usage\\":{}"}],"usage":{"prompt_tokens":4,"completion_tokens":5}}',
  );
  assert.equal(tally.scan(body).length, 1);
  assert.deepEqual(tally.result(), { promptTokens: 4, completionTokens: 5, cachedTokens: 0 });
});

test("the generation speed comes from llama-server's timings, when it generated tokens", () => {
  const answer = Buffer.from(
    '{"usage":{"completion_tokens":5,"prompt_tokens":19},"timings":{"prompt_n":19,"predicted_n":5,"predicted_per_second":1246.88}}',
  );
  const tally = new UsageTally("openai");
  tally.scan(answer);
  assert.equal(tally.speed(), 1246.88);
  const none = new UsageTally("openai");
  none.scan(
    Buffer.from('{"usage":{"prompt_tokens":2},"timings":{"predicted_n":0,"predicted_per_second":0}}'),
  );
  assert.equal(none.speed(), null);
  const native = new UsageTally("native");
  native.add({ tokens_predicted: 3, timings: { predicted_n: 3, predicted_per_second: 50 } });
  assert.equal(native.speed(), 50);
});
