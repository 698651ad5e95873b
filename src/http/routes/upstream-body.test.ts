import assert from "node:assert/strict";
import { test } from "node:test";
import { apiSpecs } from "./api-specs.js";
import { upstreamBody } from "./upstream-body.js";

const specs = apiSpecs();
const chat = specs.find((s) => s.path === "/v1/chat/completions");
const completions = specs.find((s) => s.path === "/v1/completions");

function shaped(path: "chat" | "completions", text: string) {
  const spec = path === "chat" ? chat : completions;
  assert.ok(spec);
  const result = upstreamBody(spec, Buffer.from(text), JSON.parse(text));
  return {
    body: JSON.parse(result.body.toString()),
    same: result.body.toString() === text,
    strip: result.stripUsageChunk,
  };
}

test("a chat stream without usage asked gets include_usage added, and the chunk is then dropped", () => {
  const result = shaped("chat", ' {"stream":true,"messages":[{"role":"user","content":"{"}]}');
  assert.deepEqual(result.body, {
    stream_options: { include_usage: true },
    stream: true,
    messages: [{ role: "user", content: "{" }],
  });
  assert.equal(result.strip, true);
});

test("the client's own stream_options are kept when include_usage is added", () => {
  const result = shaped(
    "chat",
    '{"stream":true,"stream_options":{"x":1,"include_usage":false},"messages":[]}',
  );
  assert.deepEqual(result.body.stream_options, { x: 1, include_usage: true });
  assert.equal(result.strip, true);
});

test("bodies that need nothing are forwarded as the same bytes", () => {
  for (const [path, text] of [
    ["chat", '{"messages":[] , "stream":false}'],
    ["chat", '{"stream":true,"stream_options":{"include_usage":true},"messages":[]}'],
    ["completions", '{"stream":true,"prompt":"a"}'],
  ] as const) {
    const result = shaped(path, text);
    assert.equal(result.same, true, text);
    assert.equal(result.strip, false, text);
  }
});
