import assert from "node:assert/strict";
import { test } from "node:test";
import { recorder } from "./recorder.js";

const chat = (finish: unknown, choices = 1) =>
  Buffer.from(
    JSON.stringify({
      choices: Array.from({ length: choices }, (_, index) => ({
        finish_reason: finish,
        index,
        message: { role: "assistant", content: "hi" },
      })),
      created: 1,
      model: "m",
      object: "chat.completion",
      usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
      id: "chatcmpl-1",
      timings: { predicted_n: 1 },
    }),
  );

test("a whole answer is kept as llama-server wrote it but for its timings, split over several taps", () => {
  const body = chat("stop");
  const recording = recorder("chat", false, 1 << 20);
  recording.tap(body.subarray(0, 10));
  recording.tap(body.subarray(10));
  const answer = recording.finish();
  assert.ok(answer);
  assert.equal(answer.kind, "chat");
  const kept = JSON.parse(answer.json) as Record<string, unknown>;
  assert.equal(kept.timings, undefined);
  const { timings: _, ...rest } = JSON.parse(body.toString("utf8")) as Record<string, unknown>;
  assert.deepEqual(kept, rest);
});

test("answers not to keep: an error finish, several choices, not JSON, too large, nothing", () => {
  for (const [name, body, max] of [
    ["finish error", chat("error"), 1 << 20],
    ["no finish", chat(null), 1 << 20],
    ["two choices", chat("stop", 2), 1 << 20],
    ["not JSON", Buffer.from("<html>"), 1 << 20],
    ["too large", chat("stop"), 50],
  ] as const) {
    const recording = recorder("chat", false, max);
    recording.tap(body);
    assert.equal(recording.finish(), null, name);
  }
  assert.equal(recorder("chat", false, 100).finish(), null, "no bytes");
});

test("embeddings are kept as llama-server wrote them", () => {
  const json =
    '{"model":"m","object":"list","usage":{"prompt_tokens":2,"total_tokens":2},"data":[{"embedding":[0.10563351958990097],"index":0,"object":"embedding"}]}';
  const recording = recorder("embedding", false, 1 << 20);
  recording.tap(Buffer.from(json));
  assert.deepEqual(recording.finish(), { kind: "embedding", json });
});

test("a streamed answer is assembled into the non-streamed shape", () => {
  const recording = recorder("chat", true, 1 << 20);
  const base = '"created":1,"id":"chatcmpl-1","model":"m","object":"chat.completion.chunk"';
  recording.tap(
    Buffer.from(
      `data: {"choices":[{"finish_reason":null,"index":0,"delta":{"content":"he"}}],${base}}\n\n` +
        `data: {"choices":[{"finish_reason":"stop","index":0,"delta":{"content":"llo"}}],${base}}\n\ndata: [DONE]\n\n`,
    ),
  );
  const answer = recording.finish();
  assert.ok(answer);
  const kept = JSON.parse(answer.json) as { choices: Array<{ message: { content: string } }> };
  assert.equal(kept.choices[0]?.message.content, "hello");
});
