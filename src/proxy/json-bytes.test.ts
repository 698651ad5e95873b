import assert from "node:assert/strict";
import { test } from "node:test";
import { objectEnd, replaceModelValues, stringEnd } from "./json-bytes.js";

const name = (value: string) => Buffer.from(JSON.stringify(value));

test("stringEnd skips escaped quotes, and an even run of backslashes does not escape", () => {
  assert.equal(stringEnd(Buffer.from('"a\\"b" tail'), 0), 6);
  assert.equal(stringEnd(Buffer.from('"a\\\\" tail'), 0), 5);
  assert.equal(stringEnd(Buffer.from('"never ends'), 0), -1);
});

test("objectEnd finds the matching brace past nested objects and braces inside strings", () => {
  const text = '{"a":{"b":"}{"},"c":1} rest';
  assert.equal(objectEnd(Buffer.from(text), 0), text.indexOf(" rest"));
  assert.equal(objectEnd(Buffer.from('{"a":{"b":1}'), 0), -1);
  assert.equal(objectEnd(Buffer.from("[1]"), 0), -1);
});

test("replaceModelValues rewrites every model key and leaves the rest byte for byte", () => {
  const body = Buffer.from('{"model":"tiny","message":{"model":"tiny"},"x":"\\"model\\":\\"tiny\\""}');
  const out = replaceModelValues(body, name("gpt-4o-mini")).toString();
  assert.equal(out, '{"model":"gpt-4o-mini","message":{"model":"gpt-4o-mini"},"x":"\\"model\\":\\"tiny\\""}');
});

test("replaceModelValues returns the same buffer when the name already matches or is absent", () => {
  const same = Buffer.from('{"model":"tiny","a":1}');
  assert.equal(replaceModelValues(same, name("tiny")), same);
  const none = Buffer.from('{"tokens":[1,2]}');
  assert.equal(replaceModelValues(none, name("tiny")), none);
});

test("replaceModelValues handles values with escapes and names that need escaping", () => {
  const body = Buffer.from('{"model":"we\\"ird","b":2}');
  assert.equal(replaceModelValues(body, name('a"b')).toString(), '{"model":"a\\"b","b":2}');
});
