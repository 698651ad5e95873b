import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApiSpec, apiSpecs } from "./api-specs.js";
import { estimateWork, UNSET_COMPLETION_TOKENS } from "./request-work.js";

function specOf(path: string): ApiSpec {
  const found = apiSpecs().find((spec) => spec.path === path);
  assert.ok(found, path);
  return found;
}

const completions = specOf("/v1/completions");
const chat = specOf("/v1/chat/completions");

test("prompts × n × max_tokens: 200 prompts with n 4 are 800 completions, not one", () => {
  const body = { prompt: Array.from({ length: 200 }, () => "hi"), n: 4, max_tokens: 16 };
  assert.deepEqual(estimateWork(completions, body, 1_000), { tokens: 250 + 800 * 16, requests: 800 });
});

test("one prompt: its bytes / 4 plus max_tokens (or the chat names of the limit)", () => {
  assert.deepEqual(estimateWork(completions, { prompt: "hi", max_tokens: 100 }, 40), {
    tokens: 110,
    requests: 1,
  });
  assert.deepEqual(estimateWork(completions, { prompt: [1, 2, 3], max_tokens: 10 }, 40), {
    tokens: 20,
    requests: 1,
  });
  assert.deepEqual(estimateWork(chat, { messages: [], max_completion_tokens: 50, n: 2 }, 4), {
    tokens: 101,
    requests: 2,
  });
  assert.deepEqual(estimateWork(specOf("/v1/responses"), { input: "x", max_output_tokens: 7 }, 4), {
    tokens: 8,
    requests: 1,
  });
  assert.deepEqual(estimateWork(specOf("/infill"), { input_prefix: "", input_suffix: "", n_predict: 9 }, 4), {
    tokens: 10,
    requests: 1,
  });
});

test("without a limit each completion reserves a nominal answer; nonsense n and max_tokens count as unset", () => {
  assert.deepEqual(estimateWork(chat, { messages: [] }, 400), {
    tokens: 100 + UNSET_COMPLETION_TOKENS,
    requests: 1,
  });
  assert.deepEqual(estimateWork(chat, { messages: [], n: -3, max_tokens: "lots" }, 400), {
    tokens: 100 + UNSET_COMPLETION_TOKENS,
    requests: 1,
  });
});

test("routes that generate nothing count their body and one request, however large the batch", () => {
  const body = { input: Array.from({ length: 2048 }, () => "text"), n: 16, max_tokens: 100 };
  assert.deepEqual(estimateWork(specOf("/v1/embeddings"), body, 20_000), { tokens: 5_000, requests: 1 });
  assert.deepEqual(estimateWork(specOf("/tokenize"), { content: "x" }, 4), { tokens: 1, requests: 1 });
});
