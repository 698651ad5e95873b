import assert from "node:assert/strict";
import { test } from "node:test";
import { answerKindOf, clientDirectives, notDeterministic } from "./cacheable.js";

test("only chat, text completions and embeddings have a cache", () => {
  assert.equal(answerKindOf("/v1/chat/completions"), "chat");
  assert.equal(answerKindOf("/v1/completions"), "text");
  assert.equal(answerKindOf("/v1/embeddings"), "embedding");
  for (const route of ["/v1/messages", "/v1/responses", "/infill", "/tokenize", "/v1/rerank"])
    assert.equal(answerKindOf(route), null, route);
});

const cases: Array<[string, "chat" | "text" | "embedding", Record<string, unknown>, boolean]> = [
  ["temperature 0", "chat", { temperature: 0 }, true],
  ["top_k 1 at any temperature", "chat", { temperature: 0.9, top_k: 1 }, true],
  ["no temperature (llama-server samples at 0.8)", "chat", {}, false],
  ["temperature 0.2", "chat", { temperature: 0.2 }, false],
  ["temperature as a string", "chat", { temperature: "0" }, false],
  ["n 1", "chat", { temperature: 0, n: 1 }, true],
  ["n 2", "chat", { temperature: 0, n: 2 }, false],
  ["logprobs true", "chat", { temperature: 0, logprobs: true }, false],
  ["logprobs false", "chat", { temperature: 0, logprobs: false }, true],
  ["top_logprobs", "chat", { temperature: 0, top_logprobs: 2 }, false],
  ["completions logprobs count", "text", { temperature: 0, logprobs: 3, prompt: "a" }, false],
  ["n_probs", "text", { temperature: 0, n_probs: 1, prompt: "a" }, false],
  ["one prompt", "text", { temperature: 0, prompt: "a" }, true],
  ["one prompt in an array", "text", { temperature: 0, prompt: ["a"] }, true],
  ["one prompt as token ids", "text", { temperature: 0, prompt: [1, 2, 3] }, true],
  ["several prompts", "text", { temperature: 0, prompt: ["a", "b"] }, false],
  ["embeddings at any setting", "embedding", { input: ["a", "b"], temperature: 1 }, true],
];

for (const [name, kind, body, cacheable] of cases) {
  test(`deterministic: ${name}`, () => {
    const why = notDeterministic(kind, body);
    assert.equal(why === null, cacheable, why ?? "cacheable");
  });
}

test("Cache-Control: no-cache and no-store, any case, among other directives", () => {
  assert.deepEqual(clientDirectives(undefined), { noCache: false, noStore: false });
  assert.deepEqual(clientDirectives("max-age=0"), { noCache: false, noStore: false });
  assert.deepEqual(clientDirectives("No-Cache"), { noCache: true, noStore: false });
  assert.deepEqual(clientDirectives("private, no-store"), { noCache: false, noStore: true });
  assert.deepEqual(clientDirectives("no-cache,no-store"), { noCache: true, noStore: true });
});
