import assert from "node:assert/strict";
import { test } from "node:test";
import { escapeForLog } from "./escape.js";

test("control characters become \\uXXXX: no fake line breaks, no terminal escapes", () => {
  assert.equal(escapeForLog("a\nb"), "a\\u000ab");
  assert.equal(escapeForLog("a\r\nb"), "a\\u000d\\u000ab");
  assert.equal(escapeForLog("\u001b[31mred"), "\\u001b[31mred");
  assert.equal(escapeForLog("nul\u0000 del\u007f c1\u009b"), "nul\\u0000 del\\u007f c1\\u009b");
  assert.equal(escapeForLog("ls\u2028ps\u2029"), "ls\\u2028ps\\u2029");
  assert.equal(escapeForLog("tab\there"), "tab\\u0009here");
});

test("ordinary text, Unicode included, is left alone", () => {
  assert.equal(escapeForLog("gpt-4o-mini / qwen2.5 ÄÖ 模型 🙂"), "gpt-4o-mini / qwen2.5 ÄÖ 模型 🙂");
});

test("long text is cut at max characters, before escaping", () => {
  assert.equal(escapeForLog("x".repeat(300)), `${"x".repeat(256)}…`);
  assert.equal(escapeForLog("abcdef", 3), "abc…");
  assert.equal(escapeForLog("\n\n\n\n", 2), "\\u000a\\u000a…");
});
