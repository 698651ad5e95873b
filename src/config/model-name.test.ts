import assert from "node:assert/strict";
import { test } from "node:test";
import { MODEL_NAME_PATTERN, modelNameError } from "./model-name.js";

const valid = [
  "qwen",
  "gpt-4o-mini",
  "Qwen2.5-7B-Instruct",
  "org/model:q4_k_m",
  "a",
  "a..b",
  "a/.b",
  "x".repeat(128),
];
const invalid = [
  "",
  "x".repeat(129),
  "../../etc/passwd",
  "$(id)",
  "a b",
  "a;rm",
  ".hidden",
  "/abs",
  "a/../b",
  "a/..",
  "a/./b",
  "ünïcode",
  "a\nb",
  "__proto__",
];

test("modelNameError accepts plain model names", () => {
  for (const name of valid) assert.equal(modelNameError(name), null, name);
});

test("modelNameError rejects hostile and malformed names", () => {
  for (const name of invalid) assert.notEqual(modelNameError(name), null, JSON.stringify(name));
  assert.match(modelNameError("../../etc/passwd") ?? "", /must not start with "\." or "\/"/);
  assert.match(modelNameError("$(id)") ?? "", /may only contain/);
  assert.match(modelNameError("a/../b") ?? "", /path segment/);
});

test("the JSON-schema pattern agrees with modelNameError", () => {
  const pattern = new RegExp(MODEL_NAME_PATTERN, "u");
  for (const name of [...valid, ...invalid]) {
    assert.equal(pattern.test(name), modelNameError(name) === null, JSON.stringify(name));
  }
});
