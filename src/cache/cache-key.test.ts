import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheKey, canonicalJson } from "./cache-key.js";

const body = {
  model: "alias-a",
  messages: [
    { role: "system", content: "be brief" },
    { role: "user", content: "hi" },
  ],
  temperature: 0,
  max_tokens: 8,
};

test("canonical JSON sorts keys at every depth and keeps array order", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  assert.equal(canonicalJson({ a: undefined, b: "x" }), '{"b":"x"}');
  assert.notEqual(canonicalJson([1, 2]), canonicalJson([2, 1]));
});

test("key order, model name, user, metadata, stream and stream_options do not change the key", () => {
  const key = cacheKey("/v1/chat/completions", "m", "fp", body);
  const reordered = { max_tokens: 8, temperature: 0, messages: body.messages, model: "m" };
  assert.equal(cacheKey("/v1/chat/completions", "m", "fp", reordered), key);
  const delivery = {
    ...body,
    model: "alias-b",
    user: "u1",
    metadata: { x: 1 },
    stream: true,
    stream_options: { include_usage: true },
  };
  assert.equal(cacheKey("/v1/chat/completions", "m", "fp", delivery), key);
  assert.match(key, /^[0-9a-f]{64}$/);
});

test("what changes the answer changes the key", () => {
  const key = cacheKey("/v1/chat/completions", "m", "fp", body);
  const variants: Array<[string, string, string, Record<string, unknown>]> = [
    ["another model", "/v1/chat/completions", "n", body],
    ["another launch", "/v1/chat/completions", "m", body],
    ["another route", "/v1/completions", "m", body],
    ["max_tokens", "/v1/chat/completions", "m", { ...body, max_tokens: 9 }],
    ["a message", "/v1/chat/completions", "m", { ...body, messages: [{ role: "user", content: "hi" }] }],
    ["seed", "/v1/chat/completions", "m", { ...body, seed: 1 }],
    ["tools", "/v1/chat/completions", "m", { ...body, tools: [] }],
  ];
  for (const [name, route, model, changed] of variants) {
    const fingerprint = name === "another launch" ? "fp2" : "fp";
    assert.notEqual(cacheKey(route, model, fingerprint, changed), key, name);
  }
});
