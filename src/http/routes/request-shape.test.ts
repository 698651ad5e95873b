import assert from "node:assert/strict";
import { test } from "node:test";
import { type ApiSpec, apiSpecs } from "./api-specs.js";
import { checkRequestShape, countInputs, DEFAULT_REQUEST_LIMITS } from "./request-shape.js";

function specOf(path: string): ApiSpec {
  const found = apiSpecs().find((spec) => spec.path === path);
  assert.ok(found, path);
  return found;
}

const chat = specOf("/v1/chat/completions");
const completions = specOf("/v1/completions");
const limits = DEFAULT_REQUEST_LIMITS;
const refusedAs = (param: string) => ({ code: "request_limit_exceeded", status: 400, param });

test("prompts are counted as llama-server splits them: token arrays are one prompt", () => {
  assert.equal(countInputs("hello"), 1);
  assert.equal(countInputs(["a", "b", "c"]), 3);
  assert.equal(countInputs([1, 2, 3]), 1);
  assert.equal(countInputs([1, "mixed", 3]), 1);
  assert.equal(countInputs([[1, 2], [3], "c"]), 3);
  assert.equal(countInputs(undefined), 0);
});

test("a batch, n and tools up to their limits pass; one more is a 400 naming the field", () => {
  const prompts = (count: number) => Array.from({ length: count }, () => "p");
  checkRequestShape(completions, { prompt: prompts(limits.maxPrompts), n: limits.maxN }, limits);
  assert.throws(
    () => checkRequestShape(completions, { prompt: prompts(limits.maxPrompts + 1) }, limits),
    refusedAs("prompt"),
  );
  assert.throws(() => checkRequestShape(chat, { messages: [], n: limits.maxN + 1 }, limits), refusedAs("n"));
  const tools = (count: number) =>
    Array.from({ length: count }, () => ({ type: "function", function: { name: "f" } }));
  checkRequestShape(chat, { messages: [], tools: tools(limits.maxTools) }, limits);
  assert.throws(
    () => checkRequestShape(chat, { messages: [], tools: tools(limits.maxTools + 1) }, limits),
    refusedAs("tools"),
  );
  const embeddings = specOf("/v1/embeddings");
  assert.throws(
    () => checkRequestShape(embeddings, { input: prompts(limits.maxPrompts + 1) }, limits),
    refusedAs("input"),
  );
  const rerank = specOf("/v1/rerank");
  assert.throws(
    () => checkRequestShape(rerank, { query: "q", documents: prompts(limits.maxPrompts + 1) }, limits),
    refusedAs("documents"),
  );
  // A chat `messages` array is not a batch: one conversation, however long.
  checkRequestShape(chat, { messages: prompts(limits.maxPrompts + 1) }, limits);
});

test("every kind of JSON schema is bounded, and the param says which one", () => {
  const small = { maxJsonDepth: 64, maxPrompts: 10, maxN: 2, maxTools: 4, maxSchemaBytes: 100 };
  const big = { type: "object", description: "x".repeat(100) };
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      { response_format: { type: "json_schema", json_schema: { name: "a", schema: big } } },
      "response_format.json_schema.schema",
    ],
    [{ response_format: { type: "json_object", schema: big } }, "response_format.schema"],
    [{ json_schema: big }, "json_schema"],
    [
      {
        tools: [
          { type: "function", function: { name: "ok", parameters: {} } },
          { type: "function", function: { name: "f", parameters: big } },
        ],
      },
      "tools[1].function.parameters",
    ],
    [{ tools: [{ name: "f", input_schema: big }] }, "tools[0].input_schema"],
    [{ tools: [{ type: "function", name: "f", parameters: big }] }, "tools[0].parameters"],
  ];
  for (const [body, param] of cases) {
    assert.throws(() => checkRequestShape(chat, { messages: [], ...body }, small), refusedAs(param), param);
  }
  checkRequestShape(chat, { messages: [], json_schema: { type: "object" } }, small);
});
