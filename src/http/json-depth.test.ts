import assert from "node:assert/strict";
import { test } from "node:test";
import { findTooDeep } from "./json-depth.js";
import { parseJsonObject } from "./read-body.js";

const nested = (depth: number) => `${"[".repeat(depth)}${"]".repeat(depth)}`;

test("nesting up to the limit passes; one level more is found, under its top-level key", () => {
  const at = (depth: number) => Buffer.from(`{"model":"m","tools":${nested(depth - 1)}}`);
  assert.equal(findTooDeep(at(64), 64), null);
  assert.deepEqual(findTooDeep(at(65), 64), { key: "tools" });
  assert.deepEqual(findTooDeep(Buffer.from(nested(3)), 2), { key: null }, "a top-level array has no key");
});

test("brackets inside strings, escaped quotes included, do not count", () => {
  const text = JSON.stringify({ a: `"[[[[{{{{\\"[[[`, b: ["x\\", "[["], c: { d: "]]]]" } });
  assert.equal(findTooDeep(Buffer.from(text), 3), null);
  assert.deepEqual(findTooDeep(Buffer.from(`{"a":"\\"","k\\"ey":[[[]]]}`), 3), { key: 'k"ey' });
});

test("the key named is the one the deep value belongs to, not a string value before it", () => {
  const body = Buffer.from(`{"model":"tools","messages":[],"response_format":{"a":{"b":{"c":{}}}}}`);
  assert.deepEqual(findTooDeep(body, 4), { key: "response_format" });
});

test("a 100,000-deep tools array is refused before parsing, as a 400 naming tools", () => {
  const body = Buffer.from(`{"model":"m","messages":[],"tools":${nested(100_000)}}`);
  const started = performance.now();
  assert.throws(() => parseJsonObject(body, 64), {
    code: "request_limit_exceeded",
    status: 400,
    param: "tools",
    message: /deeper than 64 levels/,
  });
  assert.ok(performance.now() - started < 500, "the scan is cheap");
});

test("malformed JSON is left to JSON.parse", () => {
  assert.equal(findTooDeep(Buffer.from('{"a":"never closed'.padEnd(200, "[")), 4), null);
  assert.throws(() => parseJsonObject(Buffer.from('{"a":"never closed')), { code: "invalid_json" });
});
