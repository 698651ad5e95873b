import assert from "node:assert/strict";
import OpenAI from "openai";
import {
  assertAttempts,
  assertCancelled,
  assertFlagObject,
  assertSameVector,
  assertStoppedEarly,
  assertWords,
  FLAG_SCHEMA,
  LONG_ANSWER_TOKENS,
  STRUCTURED_MAX_TOKENS,
  WEATHER_TOOL_PARAMETERS,
} from "../../support/client-matrix/checks.js";
import type { MatrixContext } from "../../support/client-matrix/context.js";
import type { ClientSuite } from "../../support/client-matrix/table.js";

/** The official `openai` SDK (v6). */

type Options = ConstructorParameters<typeof OpenAI>[0];

function client(ctx: MatrixContext, options: Options = {}): OpenAI {
  return new OpenAI({ baseURL: `${ctx.url}/v1`, apiKey: ctx.key, maxRetries: 0, ...options });
}

const messages = [{ role: "user" as const, content: "Say something" }];

const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "The weather", parameters: WEATHER_TOOL_PARAMETERS },
};

async function chatWorks(openai: OpenAI, model: string): Promise<void> {
  const answer = await openai.chat.completions.create({ model, messages, max_tokens: 4 });
  assert.equal(answer.model, model);
  assertWords(answer.choices[0]?.message.content);
}

export const openaiSuite: ClientSuite = {
  client: "openai",
  cases: {
    chat: async (ctx) => {
      const answer = await client(ctx).chat.completions.create({
        model: ctx.chatModel,
        messages,
        max_tokens: 8,
        temperature: 0,
      });
      assert.equal(answer.model, ctx.chatModel);
      assert.equal(answer.object, "chat.completion");
      assertWords(answer.choices[0]?.message.content);
      assert.equal(answer.usage?.completion_tokens, 8);
    },
    "chat-stream-usage": async (ctx) => {
      const stream = await client(ctx).chat.completions.create({
        model: ctx.chatModel,
        messages,
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = "";
      let usage: OpenAI.CompletionUsage | null | undefined;
      let chunks = 0;
      for await (const chunk of stream) {
        chunks++;
        assert.equal(chunk.model, ctx.chatModel);
        text += chunk.choices[0]?.delta.content ?? "";
        usage = chunk.usage ?? usage;
      }
      assert.ok(chunks >= 6, `${chunks} chunks`);
      assertWords(text);
      assert.equal(usage?.completion_tokens, 6);
    },
    completions: async (ctx) => {
      const completion = await client(ctx).completions.create({
        model: ctx.textModel,
        prompt: "Once upon a time",
        max_tokens: 5,
      });
      assert.equal(completion.model, ctx.textModel);
      assertWords(completion.choices[0]?.text);
      assert.equal(completion.usage?.completion_tokens, 5);
    },
    "embeddings-float": async (ctx) => {
      const result = await client(ctx).embeddings.create({
        model: ctx.embedModel,
        input: ["hello world", "bye"],
        encoding_format: "float",
      });
      assert.equal(result.model, ctx.embedModel);
      assert.deepEqual(
        result.data.map((d) => d.embedding.length),
        [64, 64],
      );
      assert.ok(result.data.every((d) => d.embedding.every(Number.isFinite)));
    },
    "embeddings-base64": async (ctx) => {
      // No encoding_format: the SDK asks for base64 and decodes it into numbers.
      const openai = client(ctx);
      const input = "hello world";
      const [decoded, float] = await Promise.all([
        openai.embeddings.create({ model: ctx.embedModel, input }),
        openai.embeddings.create({ model: ctx.embedModel, input, encoding_format: "float" }),
      ]);
      assertSameVector(decoded.data[0]?.embedding ?? [], float.data[0]?.embedding ?? []);
    },
    "models-list": async (ctx) => {
      const ids: string[] = [];
      for await (const model of client(ctx).models.list()) ids.push(model.id);
      for (const id of [ctx.textModel, ctx.chatModel, ctx.embedModel]) assert.ok(ids.includes(id), id);
    },
    "models-retrieve": async (ctx) => {
      const model = await client(ctx).models.retrieve(ctx.chatModel);
      assert.deepEqual([model.id, model.object], [ctx.chatModel, "model"]);
      assert.equal((model as unknown as { alias_of?: string }).alias_of, ctx.textModel);
    },
    "responses-create": async (ctx) => {
      const response = await client(ctx).responses.create({
        model: ctx.chatModel,
        input: "Hello",
        max_output_tokens: 4,
      });
      assert.equal(response.object, "response");
      assert.equal(response.model, ctx.chatModel);
      assert.equal(response.status, "completed");
      assertWords(response.output_text);
      assert.equal(response.usage?.output_tokens, 4);
    },
    "responses-stream": async (ctx) => {
      const stream = await client(ctx).responses.create({
        model: ctx.chatModel,
        input: "Hello",
        max_output_tokens: 5,
        stream: true,
      });
      const types: string[] = [];
      const sequence: number[] = [];
      let text = "";
      let completed: OpenAI.Responses.Response | undefined;
      for await (const event of stream) {
        types.push(event.type);
        sequence.push(event.sequence_number);
        if (event.type === "response.output_text.delta") text += event.delta;
        if (event.type === "response.completed") completed = event.response;
      }
      assert.equal(types[0], "response.created");
      assert.equal(types.at(-1), "response.completed");
      assert.ok(types.includes("response.output_text.delta"), types.join(", "));
      assert.deepEqual(
        sequence,
        sequence.map((_, i) => i),
        "sequence_number counts from 0",
      );
      assertWords(text);
      assert.equal(completed?.model, ctx.chatModel);
      assert.equal(completed?.status, "completed");
      assert.equal(completed?.output_text ?? text, text);
    },
    "responses-stream-helper": async (ctx) => {
      const stream = client(ctx).responses.stream({
        model: ctx.chatModel,
        input: "Hello",
        max_output_tokens: 5,
      });
      let text = "";
      for await (const event of stream) if (event.type === "response.output_text.delta") text += event.delta;
      const final = await stream.finalResponse();
      assertWords(text);
      // The helper's final response is its snapshot of the events (it sets no output_text).
      const message = final.output.find((item) => item.type === "message");
      const part = message?.type === "message" ? message.content[0] : undefined;
      assert.equal(part?.type === "output_text" ? part.text : undefined, text);
      assert.equal(final.model, ctx.chatModel);
    },
    tools: async (ctx) => {
      const openai = client(ctx);
      const first = await openai.chat.completions.create({
        model: ctx.chatModel,
        messages: [{ role: "user", content: "Weather?" }],
        tools: [weatherTool],
        tool_choice: "auto",
        max_tokens: 8,
      });
      const choice = first.choices[0];
      assert.ok(choice?.message.content || choice?.message.tool_calls?.length, "an answer or a tool call");
      const second = await openai.chat.completions.create({
        model: ctx.chatModel,
        messages: [
          { role: "user", content: "Weather?" },
          {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_1",
                type: "function",
                function: { name: "get_weather", arguments: '{"unit":"c"}' },
              },
            ],
          },
          { role: "tool", tool_call_id: "call_1", content: "sunny, 21" },
        ],
        tools: [weatherTool],
        max_tokens: 8,
      });
      assertWords(second.choices[0]?.message.content);
    },
    "structured-output": async (ctx) => {
      const answer = await client(ctx).chat.completions.create({
        model: ctx.chatModel,
        messages,
        max_tokens: STRUCTURED_MAX_TOKENS,
        response_format: {
          type: "json_schema",
          json_schema: { name: "flag", schema: FLAG_SCHEMA, strict: true },
        },
      });
      assertFlagObject(JSON.parse(answer.choices[0]?.message.content ?? ""));
    },
    cancel: async (ctx) => {
      const requestId = ctx.requestId("openai-cancel");
      const controller = new AbortController();
      const stream = await client(ctx).chat.completions.create(
        { model: ctx.chatModel, messages, max_tokens: LONG_ANSWER_TOKENS, stream: true },
        { signal: controller.signal, headers: { "x-request-id": requestId } },
      );
      // The SDK's stream iterator ends quietly when its signal aborts.
      let chunks = 0;
      for await (const _ of stream) {
        chunks++;
        controller.abort();
      }
      assertStoppedEarly(chunks);
      await assertCancelled(ctx, requestId);
    },
    "error-unknown-model": async (ctx) => {
      await assert.rejects(
        client(ctx).chat.completions.create({ model: "no-such-model", messages }),
        (error: unknown) =>
          error instanceof OpenAI.NotFoundError && error.status === 404 && error.code === "model_not_found",
      );
    },
    "error-bad-request": async (ctx) => {
      await assert.rejects(
        client(ctx).chat.completions.create({
          model: ctx.chatModel,
          messages: "hello" as unknown as typeof messages,
        }),
        (error: unknown) => error instanceof OpenAI.BadRequestError && error.param === "messages",
      );
    },
    "error-bad-key": async (ctx) => {
      await assert.rejects(client(ctx, { apiKey: "sk-wrong" }).models.list(), OpenAI.AuthenticationError);
    },
    "error-rate-limit": async (ctx) => {
      const openai = client(ctx, { apiKey: ctx.rateLimitedKey("openai") });
      await openai.models.retrieve(ctx.chatModel);
      await assert.rejects(
        openai.models.retrieve(ctx.chatModel),
        (error: unknown) =>
          error instanceof OpenAI.RateLimitError && Number(error.headers?.get("retry-after")) > 0,
      );
    },
    "retry-503": async (ctx) => {
      const requestId = ctx.requestId("openai-retry");
      const openai = client(ctx, { maxRetries: 1, defaultHeaders: { "x-request-id": requestId } });
      await assert.rejects(
        openai.chat.completions.create({ model: ctx.flakyModel, messages, max_tokens: 2 }),
        (error: unknown) => error instanceof OpenAI.InternalServerError && error.status === 503,
      );
      await assertAttempts(ctx, requestId, 2);
    },
    "key-bearer": async (ctx) => {
      // The SDK sends its apiKey as `Authorization: Bearer`.
      await chatWorks(client(ctx), ctx.chatModel);
    },
    "key-x-api-key": async (ctx) => {
      const openai = client(ctx, {
        apiKey: "not-sent",
        defaultHeaders: { authorization: null, "x-api-key": ctx.key },
      });
      await chatWorks(openai, ctx.chatModel);
    },
    "unversioned-base-url": async (ctx) => {
      await chatWorks(client(ctx, { baseURL: ctx.url }), ctx.chatModel);
      await chatWorks(client(ctx, { baseURL: `${ctx.url}/v1/` }), ctx.chatModel);
    },
  },
  notApplicable: {
    "messages-create": "no Anthropic API in this SDK",
    "messages-stream": "no Anthropic API in this SDK",
    "messages-count-tokens": "no Anthropic API in this SDK",
  },
};
