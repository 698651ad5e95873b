import assert from "node:assert/strict";
import { test } from "node:test";
import { anyGlob, globToRegExp } from "./glob.js";

test("* and ? are wildcards, everything else is literal", () => {
  const models = anyGlob(["qwen", "gpt-*", "llama-?b"]);
  assert.equal(models("qwen"), true);
  assert.equal(models("qwen2"), false);
  assert.equal(models("gpt-4o-mini"), true);
  assert.equal(models("gpt-"), true);
  assert.equal(models("llama-7b"), true);
  assert.equal(models("llama-13b"), false);
  assert.equal(globToRegExp("a.b").test("axb"), false, "a dot is literal");
  assert.equal(globToRegExp("(x)+").test("(x)+"), true);
});

test("a stop character keeps * from crossing it", () => {
  const origin = anyGlob(["https://*.example.com"], "/");
  assert.equal(origin("https://app.example.com"), true);
  assert.equal(origin("https://a.b.example.com"), true);
  assert.equal(origin("https://evil.com/x.example.com"), false);
  assert.equal(origin("http://app.example.com"), false);
});
