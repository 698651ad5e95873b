import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { StreamAssembler } from "./stream-assembler.js";

// The sections of llama-server's real answers, by their `### ` headers.
const FIXTURE = readFileSync(
  new URL("../../test/fixtures/llama-server-answers.txt", import.meta.url),
  "utf8",
);
function section(header: string): string {
  for (const part of FIXTURE.split(/^### /m).slice(1)) {
    const nl = part.indexOf("\n");
    if (part.slice(0, nl) === header) return part.slice(nl + 1);
  }
  throw new Error(`no fixture section ${header}`);
}
const CHAT = JSON.parse(section(FIXTURE.slice(4, FIXTURE.indexOf("\n")))) as Record<string, unknown>;
const CHAT_STREAM = section("POST /v1/chat/completions stream with include_usage");
const CHAT_STREAM_NO_USAGE = section("POST /v1/chat/completions stream without include_usage");
const TEXT = JSON.parse(section("POST /v1/completions")) as Record<string, unknown>;
const TEXT_STREAM = section("POST /v1/completions stream");

const events = (stream: string) => stream.split("\n\n").filter((e) => e !== "");
const dataOf = (event: string) => JSON.parse(event.slice("data: ".length)) as Record<string, unknown>;
const STREAM_ID = dataOf(events(CHAT_STREAM)[0] as string).id;
const USAGE = dataOf(events(CHAT_STREAM).at(-2) as string).usage;
const MAX = 1 << 20;

function assemble(
  kind: "chat" | "text",
  pieces: readonly (string | Buffer)[],
  maxBytes = MAX,
): string | null {
  const assembler = new StreamAssembler(kind, maxBytes);
  for (const piece of pieces) assembler.push(typeof piece === "string" ? Buffer.from(piece) : piece);
  const answer = assembler.finish();
  if (answer !== null) assert.equal(answer.kind, kind);
  return answer?.json ?? null;
}

/** The non-streamed answer with the given overrides, `timings` dropped, keys in its order. */
function like(base: Record<string, unknown>, overrides: Record<string, unknown>): string {
  const out: Record<string, unknown> = { ...base, ...overrides };
  delete out.timings;
  return JSON.stringify(out);
}
const chatWith = (message: Record<string, unknown>, finish: string, extra: Record<string, unknown> = {}) =>
  like(CHAT, { choices: [{ finish_reason: finish, index: 0, message }], id: STREAM_ID, ...extra });
const CHAT_EXPECTED = chatWith(
  { role: "assistant", content: " prediction prediction prediction" },
  "length",
  {
    usage: USAGE,
  },
);

/** A chat chunk in llama-server's bytes around `choice`. */
const chunk = (choice: Record<string, unknown>) =>
  `data: ${JSON.stringify({ choices: [{ finish_reason: null, index: 0, ...choice }], created: 1, id: "c", model: "m", object: "chat.completion.chunk" })}\n\n`;
const FINISH = (reason: string) => chunk({ finish_reason: reason, delta: {} });

test("the real chat stream assembles into llama-server's non-streamed object, usage from the usage chunk", () => {
  assert.equal(assemble("chat", [CHAT_STREAM]), CHAT_EXPECTED);
});

test("without include_usage the answer has no usage key and still no timings", () => {
  const json = assemble("chat", [CHAT_STREAM_NO_USAGE]) as string;
  const id = dataOf(events(CHAT_STREAM_NO_USAGE)[0] as string).id;
  const expected = chatWith({ role: "assistant", content: " prediction prediction prediction" }, "length", {
    id,
  });
  assert.equal(
    json,
    JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(expected)).filter(([k]) => k !== "usage"))),
  );
  assert.ok(!json.includes("timings"));
});

test("the real completions stream assembles into exactly the real non-streamed answer", () => {
  const id = dataOf(events(TEXT_STREAM)[0] as string).id;
  assert.equal(assemble("text", [TEXT_STREAM]), like(TEXT, { id }));
});

test("the result is the same wherever the chunks are cut, inside multi-byte characters too", () => {
  const utf8 = `: a comment\n\n${chunk({ delta: { role: "assistant", content: null } })}${chunk({ delta: { content: "héllo 🌍 " } })}${chunk({ delta: { content: "日本" } })}${FINISH("stop")}data: [DONE]\n\n`;
  for (const [kind, stream] of [
    ["chat", CHAT_STREAM],
    ["text", TEXT_STREAM],
    ["chat", utf8],
  ] as const) {
    const bytes = Buffer.from(stream);
    const whole = assemble(kind, [bytes]);
    assert.notEqual(whole, null);
    for (let cut = 1; cut < bytes.length; cut++) {
      assert.equal(assemble(kind, [bytes.subarray(0, cut), bytes.subarray(cut)]), whole, `cut at ${cut}`);
    }
    for (let size = 1; size <= 7; size++) {
      const pieces: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
      assert.equal(assemble(kind, pieces), whole, `pieces of ${size}`);
    }
  }
  assert.equal(JSON.parse(assemble("chat", [utf8]) as string).choices[0].message.content, "héllo 🌍 日本");
});

test("CRLF-framed events give the same answer, whole and cut anywhere", () => {
  const crlf = Buffer.from(CHAT_STREAM.replaceAll("\n", "\r\n"));
  assert.equal(assemble("chat", [crlf]), CHAT_EXPECTED);
  for (let cut = 1; cut < crlf.length; cut++) {
    assert.equal(
      assemble("chat", [crlf.subarray(0, cut), crlf.subarray(cut)]),
      CHAT_EXPECTED,
      `cut at ${cut}`,
    );
  }
});

test("an error event anywhere makes the stream uncacheable", () => {
  const error = 'data: {"error":{"code":500,"message":"boom","type":"server_error"}}\n\n';
  const all = events(CHAT_STREAM).map((e) => `${e}\n\n`);
  assert.equal(assemble("chat", [all[0] as string, error, ...all.slice(1)]), null);
  assert.equal(assemble("chat", [CHAT_STREAM.replace("data: [DONE]", error.trim())]), null);
});

test("a stream that never finishes, or finishes for another reason, gives null", () => {
  const unfinished = events(CHAT_STREAM)
    .filter((e) => !e.includes('"finish_reason":"length"'))
    .map((e) => `${e}\n\n`);
  assert.equal(assemble("chat", unfinished), null);
  assert.equal(
    assemble("chat", [CHAT_STREAM.replace('"finish_reason":"length"', '"finish_reason":"abort"')]),
    null,
  );
  assert.notEqual(assemble("chat", [chunk({ delta: { content: "a" } }), FINISH("tool_calls")]), null);
  assert.equal(
    assemble("text", [TEXT_STREAM.replace('"finish_reason":"length"', '"finish_reason":null')]),
    null,
  );
});

test("an event that is not JSON gives null; comments, [DONE] and null events are ignored", () => {
  assert.equal(assemble("chat", [CHAT_STREAM.replace("data: [DONE]", "data: [DONE")]), null);
  assert.equal(assemble("chat", [`data: {"choices":\n\n${CHAT_STREAM}`]), null);
  const noisy = `: ping\n\ndata: null\n\n${CHAT_STREAM.replace("data: [DONE]", ": keep-alive\ndata: [DONE]")}`;
  assert.equal(assemble("chat", [noisy]), CHAT_EXPECTED);
});

test("a stream cut inside its last event gives null, but one missing only the final blank line does not", () => {
  const cut = CHAT_STREAM.slice(0, CHAT_STREAM.indexOf('"usage"') + 20);
  assert.equal(assemble("chat", [cut]), null);
  assert.equal(assemble("chat", [CHAT_STREAM.trimEnd()]), CHAT_EXPECTED);
});

test("text over maxBytes gives null; text of exactly maxBytes does not", () => {
  const bytes = Buffer.byteLength(" prediction prediction prediction");
  assert.equal(assemble("chat", [CHAT_STREAM], bytes), CHAT_EXPECTED);
  assert.equal(assemble("chat", [CHAT_STREAM], bytes - 1), null);
  assert.equal(assemble("text", [TEXT_STREAM], bytes - 1), null);
  // Multi-byte text is counted in UTF-8 bytes, not characters.
  assert.equal(assemble("chat", [chunk({ delta: { content: "é" } }), FINISH("stop")], 1), null);
  // A line far longer than any answer under maxBytes is not buffered without bound.
  const padded = (size: number) => {
    const assembler = new StreamAssembler("chat", 10);
    assembler.push(Buffer.from('data: {"pad":"'));
    assembler.push(Buffer.alloc(size, 0x61));
    assembler.push(Buffer.from(`"}\n\n${chunk({ delta: { content: "a" } })}${FINISH("stop")}`));
    return assembler.finish();
  };
  assert.notEqual(padded(1024), null);
  assert.equal(padded(128 * 1024), null);
});

test("a second choice index (n > 1) gives null", () => {
  const second = CHAT_STREAM.replace('"index":0,"delta":{"content"', '"index":1,"delta":{"content"');
  assert.equal(assemble("chat", [second]), null);
  assert.equal(assemble("text", [TEXT_STREAM.replace('"index":0', '"index":1')]), null);
});

test("tool-call deltas accumulate per index; content is null when only tools were called", () => {
  const stream = [
    chunk({ delta: { role: "assistant", content: null } }),
    chunk({
      delta: {
        tool_calls: [
          { index: 0, id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"ci' } },
        ],
      },
    }),
    chunk({ delta: { tool_calls: [{ index: 0, function: { arguments: 'ty":"Paris"}' } }] } }),
    chunk({
      delta: {
        tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "now", arguments: "" } }],
      },
    }),
    chunk({ delta: { tool_calls: [{ index: 1, type: "function", function: { arguments: "{}" } }] } }),
    FINISH("tool_calls"),
    "data: [DONE]\n\n",
  ];
  const json = assemble("chat", stream) as string;
  assert.equal(
    JSON.stringify(JSON.parse(json).choices[0]),
    JSON.stringify({
      finish_reason: "tool_calls",
      index: 0,
      message: {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Paris"}' },
            id: "call_a",
          },
          { type: "function", function: { name: "now", arguments: "{}" }, id: "call_b" },
        ],
      },
    }),
  );
  // Text alongside the calls stays a string; a call that never got a name is not an answer.
  const withText = [chunk({ delta: { content: "Let me look." } }), ...stream];
  assert.equal(JSON.parse(assemble("chat", withText) as string).choices[0].message.content, "Let me look.");
  const nameless = [
    chunk({ delta: { tool_calls: [{ index: 0, function: { arguments: "{}" } }] } }),
    FINISH("tool_calls"),
  ];
  assert.equal(assemble("chat", nameless), null);
});

test("reasoning_content is concatenated and kept after content, only when a delta had it", () => {
  const stream = [
    chunk({ delta: { role: "assistant", content: null } }),
    chunk({ delta: { reasoning_content: "Think" } }),
    chunk({ delta: { reasoning_content: "ing." } }),
    chunk({ delta: { content: "Answer" } }),
    FINISH("stop"),
  ];
  const message = JSON.parse(assemble("chat", stream) as string).choices[0].message;
  assert.equal(
    JSON.stringify(message),
    '{"role":"assistant","content":"Answer","reasoning_content":"Thinking."}',
  );
  const plain = JSON.parse(assemble("chat", [chunk({ delta: {} }), FINISH("stop")]) as string).choices[0]
    .message;
  assert.equal(JSON.stringify(plain), '{"role":"assistant","content":""}');
});

test("a choice with logprobs is not cached (they are not assembled)", () => {
  const stream = [chunk({ delta: { content: "a" }, logprobs: { content: [] } }), FINISH("stop")];
  assert.equal(assemble("chat", stream), null);
});
