import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { CachedAnswer } from "./answer.js";
import { newAnswerId, type ReplayShape, replayJson, replayStream } from "./replay.js";
import { StreamAssembler } from "./stream-assembler.js";

// The sections of llama-server's real answers, by their `### ` headers.
const SECTIONS = readFileSync(
  new URL("../../test/fixtures/llama-server-answers.txt", import.meta.url),
  "utf8",
)
  .split(/^### /m)
  .slice(1)
  .map((part) => [part.slice(0, part.indexOf("\n")), part.slice(part.indexOf("\n") + 1)] as const);
function section(prefix: string): string {
  const found = SECTIONS.find(([header]) => header === prefix || header.startsWith(`${prefix} {`));
  if (found === undefined) throw new Error(`no fixture section ${prefix}`);
  return found[1];
}

type Json = Record<string, unknown>;
const withoutTimings = (text: string): string => {
  const { timings: _, ...rest } = JSON.parse(text) as Json;
  return JSON.stringify(rest);
};
const CHAT: CachedAnswer = { kind: "chat", json: withoutTimings(section("POST /v1/chat/completions")) };
const TEXT: CachedAnswer = { kind: "text", json: withoutTimings(section("POST /v1/completions")) };
const EMBEDDING_JSON = section("POST /v1/embeddings (vector cut to 3 numbers here)").trim();
const CHAT_STREAM = section("POST /v1/chat/completions stream with include_usage");
const TEXT_STREAM = section("POST /v1/completions stream");

const SHAPE: ReplayShape = { modelName: "gpt-4o-mini", created: 1700000000, id: "chatcmpl-fresh" };
const events = (body: Buffer | string) =>
  body
    .toString()
    .split("\n\n")
    .filter((e) => e !== "")
    .map((e) => {
      assert.ok(e.startsWith("data: "), e);
      return e.slice("data: ".length);
    });

/** A real streamed event as it would read under SHAPE, `timings` dropped. */
function reshaped(event: string): string {
  const out: Json = { ...(JSON.parse(event) as Json) };
  if ("id" in out) out.id = SHAPE.id;
  if ("created" in out) out.created = SHAPE.created;
  out.model = SHAPE.modelName;
  delete out.timings;
  return JSON.stringify(out);
}

test("newAnswerId is llama-server's form and does not repeat", () => {
  const ids = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const id = newAnswerId();
    assert.match(id, /^chatcmpl-[A-Za-z0-9]{32}$/);
    ids.add(id);
  }
  assert.equal(ids.size, 5000);
  const chars = new Set([...ids].join("").replaceAll("chatcmpl-", ""));
  assert.equal(chars.size, 62, "every alphanumeric is drawn");
});

test("replayJson gives fresh id, created and model in the stored key order, and nothing else changed", () => {
  for (const answer of [CHAT, TEXT]) {
    const stored = JSON.parse(answer.json) as Json;
    const out = replayJson(answer, SHAPE).toString();
    const replayed = JSON.parse(out) as Json;
    assert.deepEqual(Object.keys(replayed), Object.keys(stored));
    assert.equal(replayed.id, SHAPE.id);
    assert.equal(replayed.created, SHAPE.created);
    assert.equal(replayed.model, SHAPE.modelName);
    assert.equal(
      out,
      JSON.stringify({ ...stored, id: SHAPE.id, created: SHAPE.created, model: SHAPE.modelName }),
    );
  }
  const withTimings: CachedAnswer = { kind: "chat", json: section("POST /v1/chat/completions").trim() };
  assert.equal(replayJson(withTimings, SHAPE).toString(), replayJson(CHAT, SHAPE).toString());
});

test("an embedding is replayed on bytes: the vector text is kept exactly, no id or created added", () => {
  const out = replayJson({ kind: "embedding", json: EMBEDDING_JSON }, SHAPE).toString();
  assert.equal(out, EMBEDDING_JSON.replace(/"model":"[^"]*"/, '"model":"gpt-4o-mini"'));
  assert.ok(out.includes("[0.10563351958990097,0.13843505084514618,-0.12131960690021515]"));
  assert.ok(!out.includes('"id"') && !out.includes('"created"'));
  // Numbers that a parse and stringify would rewrite survive as written.
  const odd = EMBEDDING_JSON.replace("0.10563351958990097", "1.50").replace("-0.12131960690021515", "1E-7");
  assert.ok(
    replayJson({ kind: "embedding", json: odd }, SHAPE)
      .toString()
      .includes("[1.50,0.13843505084514618,1E-7]"),
  );
});

test("replayStream of a chat answer has a live stream's events, byte for byte where they match", () => {
  const live = events(CHAT_STREAM);
  const body = replayStream(CHAT, SHAPE, true);
  const out = events(body);
  const content = (JSON.parse(CHAT.json) as { choices: { message: { content: string } }[] }).choices[0]
    ?.message.content;
  assert.equal(out.length, 5);
  assert.equal(out[0], reshaped(live[0] as string), "the role chunk");
  assert.equal(out[1], reshaped((live[1] as string).replace('" prediction"', JSON.stringify(content))));
  assert.equal(out[2], reshaped(live.at(-3) as string), "the finish chunk");
  const usage = JSON.parse(out[3] as string) as Json;
  assert.equal(
    out[3],
    reshaped(live.at(-2) as string).replace(/"usage":\{.*\}\}$/, `"usage":${JSON.stringify(usage.usage)}}`),
  );
  assert.deepEqual(usage.usage, (JSON.parse(CHAT.json) as Json).usage);
  assert.equal(out[4], "[DONE]");
  assert.ok(body.toString().endsWith("data: [DONE]\n\n"));
});

test("replayStream without includeUsage has no usage chunk", () => {
  const out = events(replayStream(CHAT, SHAPE, false));
  assert.equal(out.length, 4);
  assert.ok(out.every((e) => !e.includes('"usage"')));
  assert.equal(out.at(-1), "[DONE]");
});

test("replayStream of a completion puts the text in one chunk and usage on the final one, as live", () => {
  const live = events(TEXT_STREAM);
  for (const includeUsage of [true, false]) {
    const out = events(replayStream(TEXT, SHAPE, includeUsage));
    assert.equal(out.length, 3);
    const text = (JSON.parse(TEXT.json) as { choices: { text: string }[] }).choices[0]?.text;
    assert.equal(out[0], reshaped((live[0] as string).replace('" prediction"', JSON.stringify(text))));
    assert.equal(out[1], reshaped(live.at(-2) as string), "the final chunk, usage included");
    assert.equal(out[2], "[DONE]");
  }
});

test("an embedding answer cannot be streamed", () => {
  assert.throws(() => replayStream({ kind: "embedding", json: EMBEDDING_JSON }, SHAPE, true), /embedding/);
});

/** A chat answer in llama-server's non-streamed form with this message. */
function chatAnswer(message: Json, finish: string): CachedAnswer {
  const stored = JSON.parse(CHAT.json) as Json;
  return {
    kind: "chat",
    json: JSON.stringify({ ...stored, choices: [{ finish_reason: finish, index: 0, message }] }),
  };
}

test("tool calls are replayed one chunk each, in llama-server's delta form, after the text", () => {
  const calls = [
    { type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' }, id: "call_1" },
    { type: "function", function: { name: "now", arguments: "{}" } },
  ];
  const out = events(
    replayStream(
      chatAnswer({ role: "assistant", content: null, tool_calls: calls }, "tool_calls"),
      SHAPE,
      false,
    ),
  );
  const deltas = out
    .slice(0, -1)
    .map((e) => JSON.stringify((JSON.parse(e) as { choices: Json[] }).choices[0]?.delta));
  assert.deepEqual(deltas, [
    '{"role":"assistant","content":null}',
    '{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]}',
    '{"tool_calls":[{"index":1,"type":"function","function":{"name":"now","arguments":"{}"}}]}',
    "{}",
  ]);
  assert.equal(
    (JSON.parse(out.at(-2) as string) as { choices: Json[] }).choices[0]?.finish_reason,
    "tool_calls",
  );
});

test("a replayed stream assembles back into the stored answer (round trip), under the new id and name", () => {
  const answers = [
    CHAT,
    TEXT,
    chatAnswer({ role: "assistant", content: "" }, "stop"),
    chatAnswer(
      { role: "assistant", content: "Yes.\n\n¿Sí? 🌍", reasoning_content: "The user asks." },
      "stop",
    ),
    chatAnswer(
      {
        role: "assistant",
        content: null,
        reasoning_content: "Need weather.",
        tool_calls: [
          {
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            id: "call_1",
          },
          { type: "function", function: { name: "now", arguments: "{}" }, id: "call_2" },
        ],
      },
      "tool_calls",
    ),
  ];
  for (const answer of answers) {
    const kind = answer.kind as "chat" | "text";
    const assembler = new StreamAssembler(kind, 1 << 20);
    assembler.push(replayStream(answer, SHAPE, true));
    const back = assembler.finish();
    assert.deepEqual(back, { kind, json: replayJson(answer, SHAPE).toString() }, answer.json);
  }
});
