import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayError } from "../errors/gateway-error.js";
import { shapeJson } from "./shape-json.js";
import type { Shaping } from "./shaping.js";
import { SseRewriter } from "./sse-rewriter.js";

type Json = Record<string, unknown>;

// llama-server's Responses events, in its own bytes and key order (server-task.cpp,
// to_json_oaicompat_resp / _stream; format_oai_resp_sse), as the pinned build sends them.
const sse = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
const RESPONSE = { id: "resp_1", object: "response", status: "in_progress" };
const MSG = "msg_1";
const RS = "rs_1";
const FC = "fc_7";
const created = sse("response.created", { response: RESPONSE });
const inProgress = sse("response.in_progress", { response: RESPONSE });
const messageAdded = sse("response.output_item.added", {
  item: { content: [], id: MSG, role: "assistant", status: "in_progress", type: "message" },
});
const partAdded = sse("response.content_part.added", {
  item_id: MSG,
  part: { type: "output_text", text: "" },
});
const textDelta = (delta: string) => sse("response.output_text.delta", { item_id: MSG, delta });
const outputText = (text: string) => ({ type: "output_text", annotations: [], logprobs: [], text });
const message = (text: string) => ({
  type: "message",
  status: "completed",
  id: MSG,
  content: [outputText(text)],
  role: "assistant",
});
const messageDone = (text: string) =>
  sse("response.output_text.done", { item_id: MSG, text }) +
  sse("response.content_part.done", { item_id: MSG, part: outputText(text) }) +
  sse("response.output_item.done", { item: message(text) });
const usage = {
  input_tokens: 31,
  output_tokens: 2,
  total_tokens: 33,
  input_tokens_details: { cached_tokens: 30 },
};
const completed = (output: unknown[]) =>
  sse("response.completed", {
    response: {
      id: "resp_1",
      object: "response",
      created_at: 1700000100,
      status: "completed",
      model: "/models/tiny.gguf",
      output,
      usage,
    },
    timings: { cache_n: 30, predicted_n: 2 },
  });
const TEXT_STREAM =
  created +
  inProgress +
  messageAdded +
  partAdded +
  textDelta(" a") +
  textDelta(' "model":"x"') +
  messageDone(' a "model":"x"') +
  completed([message(' a "model":"x"')]);

// A reasoning model calling a tool: llama-server sends no content part and no done events for
// the reasoning text, and no function_call_arguments.done.
const reasoning = (text: string) => ({
  id: RS,
  summary: [],
  type: "reasoning",
  content: [{ text, type: "reasoning_text" }],
  encrypted_content: "",
});
const call = {
  id: FC,
  type: "function_call",
  status: "completed",
  arguments: '{"a":1}',
  call_id: "call_7",
  name: "f",
};
const TOOL_STREAM =
  created +
  inProgress +
  sse("response.output_item.added", {
    item: {
      id: RS,
      summary: [],
      type: "reasoning",
      content: [],
      encrypted_content: "",
      status: "in_progress",
    },
  }) +
  sse("response.reasoning_text.delta", { delta: "hm", item_id: RS }) +
  sse("response.reasoning_text.delta", { delta: "m", item_id: RS }) +
  sse("response.output_item.added", {
    item: {
      id: FC,
      arguments: "",
      call_id: "call_7",
      name: "f",
      type: "function_call",
      status: "in_progress",
    },
  }) +
  sse("response.function_call_arguments.delta", { delta: '{"a":', item_id: FC }) +
  sse("response.function_call_arguments.delta", { delta: "1}", item_id: FC }) +
  sse("response.output_item.done", { item: reasoning("hmm") }) +
  sse("response.output_item.done", { item: call }) +
  completed([reasoning("hmm"), call]);

function shaping(overrides: Partial<Shaping> = {}): Shaping {
  return {
    modelId: "tiny",
    modelName: "gpt-4o-mini",
    dialect: "responses",
    stripUsageChunk: false,
    ...overrides,
  };
}

function run(rewriter: SseRewriter, chunks: readonly string[]): string {
  let out = "";
  for (const chunk of chunks) out += rewriter.push(Buffer.from(chunk))?.toString() ?? "";
  return out + (rewriter.end()?.toString() ?? "");
}

/** The events written, as [event line, data]; every event's data must be one JSON object. */
function events(out: string): Array<[string, Json]> {
  assert.ok(out.endsWith("\n\n"), "the output ends with a whole event");
  return out
    .slice(0, -2)
    .split("\n\n")
    .map((event) => {
      const match = /^event: (.+)\ndata: (.+)$/.exec(event);
      assert.ok(match !== null, `not one event line and one data line: ${event}`);
      const data = JSON.parse(match[2] as string) as Json;
      assert.equal(data.type, match[1], "the event line names the data's type");
      return [match[1] as string, data];
    });
}

/** Each event's type with the fields of it that the row checks. */
function pick(list: Array<[string, Json]>, keys: readonly string[]): Json[] {
  return list.map(([type, data]) => {
    const picked: Json = { type };
    for (const key of keys) if (key in data) picked[key] = data[key];
    return picked;
  });
}

const INDICES = ["sequence_number", "output_index", "content_index"] as const;

const TABLE: ReadonlyArray<{ name: string; input: string; expected: Json[] }> = [
  {
    name: "a text stream: numbered from 0, indices added, llama-server's events kept in order",
    input: TEXT_STREAM,
    expected: [
      { type: "response.created", sequence_number: 0 },
      { type: "response.in_progress", sequence_number: 1 },
      { type: "response.output_item.added", sequence_number: 2, output_index: 0 },
      { type: "response.content_part.added", sequence_number: 3, output_index: 0, content_index: 0 },
      { type: "response.output_text.delta", sequence_number: 4, output_index: 0, content_index: 0 },
      { type: "response.output_text.delta", sequence_number: 5, output_index: 0, content_index: 0 },
      { type: "response.output_text.done", sequence_number: 6, output_index: 0, content_index: 0 },
      { type: "response.content_part.done", sequence_number: 7, output_index: 0, content_index: 0 },
      { type: "response.output_item.done", sequence_number: 8, output_index: 0 },
      { type: "response.completed", sequence_number: 9 },
    ],
  },
  {
    name: "reasoning and a tool call: the missing part and done events are added, indices by item",
    input: TOOL_STREAM,
    expected: [
      { type: "response.created", sequence_number: 0 },
      { type: "response.in_progress", sequence_number: 1 },
      { type: "response.output_item.added", sequence_number: 2, output_index: 0 },
      { type: "response.content_part.added", sequence_number: 3, output_index: 0, content_index: 0 },
      { type: "response.reasoning_text.delta", sequence_number: 4, output_index: 0, content_index: 0 },
      { type: "response.reasoning_text.delta", sequence_number: 5, output_index: 0, content_index: 0 },
      { type: "response.output_item.added", sequence_number: 6, output_index: 1 },
      { type: "response.function_call_arguments.delta", sequence_number: 7, output_index: 1 },
      { type: "response.function_call_arguments.delta", sequence_number: 8, output_index: 1 },
      { type: "response.reasoning_text.done", sequence_number: 9, output_index: 0, content_index: 0 },
      { type: "response.content_part.done", sequence_number: 10, output_index: 0, content_index: 0 },
      { type: "response.output_item.done", sequence_number: 11, output_index: 0 },
      { type: "response.function_call_arguments.done", sequence_number: 12, output_index: 1 },
      { type: "response.output_item.done", sequence_number: 13, output_index: 1 },
      { type: "response.completed", sequence_number: 14 },
    ],
  },
  {
    name: "nothing generated (llama-server sends only response.completed): created and in_progress first",
    input: completed([]),
    expected: [
      { type: "response.created", sequence_number: 0 },
      { type: "response.in_progress", sequence_number: 1 },
      { type: "response.completed", sequence_number: 2 },
    ],
  },
  {
    name: "text that only the final result carries (its diff never streamed): added and delta first",
    input: created + inProgress + messageDone("late") + completed([message("late")]),
    expected: [
      { type: "response.created", sequence_number: 0 },
      { type: "response.in_progress", sequence_number: 1 },
      { type: "response.output_item.added", sequence_number: 2, output_index: 0 },
      { type: "response.content_part.added", sequence_number: 3, output_index: 0, content_index: 0 },
      { type: "response.output_text.delta", sequence_number: 4, output_index: 0, content_index: 0 },
      { type: "response.output_text.done", sequence_number: 5, output_index: 0, content_index: 0 },
      { type: "response.content_part.done", sequence_number: 6, output_index: 0, content_index: 0 },
      { type: "response.output_item.done", sequence_number: 7, output_index: 0 },
      { type: "response.completed", sequence_number: 8 },
    ],
  },
];

for (const row of TABLE) {
  test(`responses stream: ${row.name}`, () => {
    const out = events(run(new SseRewriter(shaping()), [row.input]));
    assert.deepEqual(pick(out, INDICES), row.expected);
  });
}

test("responses stream: the response object is complete, with the asked model, in created and completed", () => {
  const rewriter = new SseRewriter(shaping());
  const out = events(run(rewriter, [TEXT_STREAM]));
  const first = out[0]?.[1].response as Json;
  const last = out.at(-1)?.[1] as Json;
  const final = last.response as Json;
  for (const response of [first, final]) {
    assert.equal(response.id, "resp_1");
    assert.equal(response.object, "response");
    assert.equal(response.model, "gpt-4o-mini");
    assert.equal(typeof response.created_at, "number");
    for (const [key, value] of Object.entries({
      error: null,
      incomplete_details: null,
      instructions: null,
      metadata: {},
      parallel_tool_calls: true,
      temperature: null,
      tool_choice: "auto",
      tools: [],
      top_p: null,
    }))
      assert.deepEqual(response[key], value, key);
  }
  assert.deepEqual([first.status, first.output, first.usage], ["in_progress", [], null]);
  assert.equal(final.status, "completed");
  assert.equal(final.created_at, first.created_at, "created_at is when the response was created");
  assert.equal(final.completed_at, 1700000100, "llama-server stamps its final object at completion");
  assert.deepEqual(final.output, [message(' a "model":"x"')]);
  assert.deepEqual(final.usage, usage);
  assert.deepEqual(last.timings, { cache_n: 30, predicted_n: 2 }, "llama-server's timings stay");
  assert.deepEqual(rewriter.usage(), { promptTokens: 31, completionTokens: 2, cachedTokens: 30 });
});

test("responses stream: text deltas carry logprobs and keep the user's text; items get status", () => {
  const out = events(run(new SseRewriter(shaping()), [TEXT_STREAM]));
  const deltas = out.filter(([type]) => type === "response.output_text.delta").map(([, data]) => data);
  assert.deepEqual(
    deltas.map((data) => [data.item_id, data.delta, data.logprobs]),
    [
      [MSG, " a", []],
      [MSG, ' "model":"x"', []],
    ],
  );
  const part = out[3]?.[1].part;
  assert.deepEqual(part, outputText(""), "the added part has the spec's annotations");
  const tool = events(run(new SseRewriter(shaping()), [TOOL_STREAM]));
  const items = tool
    .filter(([type]) => type === "response.output_item.done")
    .map(([, data]) => data.item as Json);
  assert.deepEqual(
    items.map((item) => item.status),
    ["completed", "completed"],
  );
  const done = tool.find(([type]) => type === "response.function_call_arguments.done")?.[1];
  assert.deepEqual([done?.item_id, done?.arguments], [FC, '{"a":1}']);
  const text = tool.find(([type]) => type === "response.reasoning_text.done")?.[1];
  assert.deepEqual([text?.item_id, text?.text], [RS, "hmm"]);
});

test("responses stream: the output is the same wherever the chunk boundaries fall, pings kept", () => {
  const normalize = (out: string) => out.replace(/"created_at":\d+/g, '"created_at":0');
  const ping = ":\n\n";
  for (const stream of [created + ping + TEXT_STREAM.slice(created.length), TOOL_STREAM]) {
    const whole = normalize(run(new SseRewriter(shaping()), [stream]));
    const numbers = events(whole.replace(ping, "")).map(([, data]) => data.sequence_number);
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => i),
    );
    if (stream !== TOOL_STREAM)
      assert.ok(whole.includes(`\n\n${ping}event: response.in_progress`), "ping kept");
    for (let cut = 1; cut < stream.length; cut += 3) {
      const split = run(new SseRewriter(shaping()), [stream.slice(0, cut), stream.slice(cut)]);
      assert.equal(normalize(split), whole, `cut at ${cut}`);
    }
  }
});

test("responses stream: the request's parameters are echoed when the caller passes the request", () => {
  const request = {
    instructions: "Be brief",
    temperature: 0,
    tools: [{ type: "function", name: "f" }],
    user: "u",
  };
  const out = events(run(new SseRewriter(shaping({ request })), [created]));
  const response = out[0]?.[1].response as Json;
  assert.deepEqual(
    [response.instructions, response.temperature, response.tools, response.user, response.top_p],
    ["Be brief", 0, request.tools, "u", null],
  );
});

test("responses stream: llama-server's in-stream error ends it with a numbered error event", () => {
  const rewriter = new SseRewriter(shaping());
  const error = 'data: {"error":{"code":500,"message":"boom","type":"server_error"}}\n\n';
  const out = events(
    run(rewriter, [created + inProgress + messageAdded + partAdded + textDelta("a") + error]),
  );
  assert.deepEqual(out.at(-1), [
    "error",
    { type: "error", sequence_number: 5, code: "backend_internal_error", message: "boom", param: null },
  ]);
  assert.equal(rewriter.failure?.code, "backend_internal_error");
  const cut = new GatewayError("backend_crashed", "gone");
  const ending = events(rewriter.failureEvent(cut));
  assert.equal(ending[0]?.[1].sequence_number, 6, "a later failure takes the next number");
});

test("responses JSON: llama-server's object is completed, model as asked, usage counted", () => {
  const raw = {
    completed_at: 1700000100,
    created_at: 1700000099,
    id: "resp_2",
    model: "/models/tiny.gguf",
    object: "response",
    output: [message("hi")],
    status: "completed",
    usage,
  };
  const shaped = shapeJson(Buffer.from(JSON.stringify(raw)), shaping());
  const body = JSON.parse(shaped.body.toString()) as Json;
  assert.deepEqual(body, {
    id: "resp_2",
    object: "response",
    created_at: 1700000099,
    status: "completed",
    completed_at: 1700000100,
    error: null,
    incomplete_details: null,
    model: "gpt-4o-mini",
    output: [message("hi")],
    instructions: null,
    max_output_tokens: null,
    metadata: {},
    parallel_tool_calls: true,
    previous_response_id: null,
    temperature: null,
    tool_choice: "auto",
    tools: [],
    top_p: null,
    usage,
  });
  assert.deepEqual(shaped.usage, { promptTokens: 31, completionTokens: 2, cachedTokens: 30 });
  const other = Buffer.from('{"object":"list","model":"tiny"}');
  assert.equal(shapeJson(other, shaping()).body.toString(), '{"object":"list","model":"gpt-4o-mini"}');
});
