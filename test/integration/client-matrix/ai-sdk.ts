import assert from "node:assert/strict";
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import {
  APICallError,
  type embed,
  embedMany,
  generateText,
  jsonSchema,
  type LanguageModel,
  type ModelMessage,
  Output,
  RetryError,
  streamText,
  type ToolSet,
  tool,
} from "ai";
import {
  assertAttempts,
  assertCancelled,
  assertFlagObject,
  assertStoppedEarly,
  assertWords,
  FLAG_SCHEMA,
  LONG_ANSWER_TOKENS,
  STRUCTURED_MAX_TOKENS,
  WEATHER_TOOL_PARAMETERS,
} from "../../support/client-matrix/checks.js";
import type { MatrixContext } from "../../support/client-matrix/context.js";
import type { CaseRun, ClientSuite, FeatureId } from "../../support/client-matrix/table.js";

/**
 * The Vercel AI SDK (v6) with its two OpenAI providers: `@ai-sdk/openai` (whose default model
 * speaks the Responses API; `.chat()` speaks chat completions) and `@ai-sdk/openai-compatible`
 * (chat, completions, embeddings).
 */

interface Connection {
  readonly baseURL?: string;
  readonly apiKey?: string;
  /** Replaces the provider's headers; `authorization: undefined` drops its Bearer header. */
  readonly headers?: Record<string, string | undefined>;
}

/** What the cases need from a provider, whichever package makes it. */
interface Provider {
  chat(model: string): LanguageModel;
  completion(model: string): LanguageModel;
  embedding(model: string): Parameters<typeof embed>[0]["model"];
}

type MakeProvider = (ctx: MatrixContext, connection?: Connection) => Provider;

/** The headers option, or nothing; undefined values drop headers (the SDK removes undefined entries). */
const headersOf = (connection: Connection): { headers?: Record<string, string> } =>
  connection.headers === undefined ? {} : { headers: connection.headers as Record<string, string> };

const openaiProvider = (ctx: MatrixContext, connection: Connection = {}) => {
  const provider = createOpenAI({
    baseURL: connection.baseURL ?? `${ctx.url}/v1`,
    apiKey: connection.apiKey ?? ctx.key,
    ...headersOf(connection),
  });
  return {
    responses: (model: string) => provider(model),
    chat: (model: string) => provider.chat(model),
    completion: (model: string) => provider.completion(model),
    embedding: (model: string) => provider.embedding(model),
  };
};

const compatibleProvider: MakeProvider = (ctx, connection = {}) => {
  const apiKey = "apiKey" in connection ? connection.apiKey : ctx.key;
  const provider = createOpenAICompatible({
    name: "llamawrapper",
    baseURL: connection.baseURL ?? `${ctx.url}/v1`,
    ...(apiKey === undefined ? {} : { apiKey }),
    ...headersOf(connection),
    includeUsage: true,
    supportsStructuredOutputs: true,
  });
  return {
    chat: (model) => provider.chatModel(model),
    completion: (model) => provider.completionModel(model),
    embedding: (model) => provider.embeddingModel(model),
  };
};

// A tool without execute: the SDK hands a call back instead of running it. (The cast: ai's
// ToolSet type does not accept a tool without execute under exactOptionalPropertyTypes.)
const tools = {
  get_weather: tool({
    description: "The weather",
    inputSchema: jsonSchema<{ unit: "c" | "f" }>(WEATHER_TOOL_PARAMETERS),
  }),
} as ToolSet;

const toolHistory: ModelMessage[] = [
  { role: "user", content: "Weather?" },
  {
    role: "assistant",
    content: [{ type: "tool-call", toolCallId: "call_1", toolName: "get_weather", input: { unit: "c" } }],
  },
  {
    role: "tool",
    content: [
      {
        type: "tool-result",
        toolCallId: "call_1",
        toolName: "get_weather",
        output: { type: "text", value: "sunny, 21" },
      },
    ],
  },
];

function isStatus(status: number) {
  return (error: unknown) => APICallError.isInstance(error) && error.statusCode === status;
}

async function chatWorks(model: LanguageModel): Promise<void> {
  const { text } = await generateText({ model, prompt: "Say something", maxOutputTokens: 4, maxRetries: 0 });
  assertWords(text);
}

/** The cases both providers share; `make` builds the provider under test. */
function sharedCases(make: MakeProvider, client: "ai-sdk-openai" | "ai-sdk-compatible") {
  const cases: Partial<Record<FeatureId, CaseRun>> = {
    chat: async (ctx) => {
      const result = await generateText({
        model: make(ctx).chat(ctx.chatModel),
        prompt: "Say something",
        maxOutputTokens: 8,
        maxRetries: 0,
      });
      assertWords(result.text);
      assert.equal(result.usage.outputTokens, 8);
      assert.equal(result.finishReason, "length");
      assert.equal(result.response.modelId, ctx.chatModel);
    },
    "chat-stream-usage": async (ctx) => {
      const result = streamText({
        model: make(ctx).chat(ctx.chatModel),
        prompt: "Say something",
        maxOutputTokens: 6,
        maxRetries: 0,
      });
      let parts = 0;
      let text = "";
      for await (const delta of result.textStream) {
        parts++;
        text += delta;
      }
      assert.ok(parts >= 2, `${parts} text parts`);
      assertWords(text);
      assert.equal((await result.usage).outputTokens, 6);
      assert.equal(await result.finishReason, "length");
    },
    completions: async (ctx) => {
      const result = await generateText({
        model: make(ctx).completion(ctx.textModel),
        prompt: "Once upon a time",
        maxOutputTokens: 5,
        maxRetries: 0,
      });
      assertWords(result.text);
      assert.equal(result.usage.outputTokens, 5);
    },
    "embeddings-float": async (ctx) => {
      const { embeddings } = await embedMany({
        model: make(ctx).embedding(ctx.embedModel),
        values: ["hello world", "bye"],
        maxRetries: 0,
      });
      assert.deepEqual(
        embeddings.map((e) => e.length),
        [64, 64],
      );
      assert.ok(embeddings.every((e) => e.every(Number.isFinite)));
    },
    tools: async (ctx) => {
      const model = make(ctx).chat(ctx.chatModel);
      const first = await generateText({
        model,
        prompt: "Weather?",
        tools,
        maxOutputTokens: 8,
        maxRetries: 0,
      });
      assert.ok(first.text !== "" || first.toolCalls.length > 0, "an answer or a tool call");
      const second = await generateText({
        model,
        messages: toolHistory,
        tools,
        maxOutputTokens: 8,
        maxRetries: 0,
      });
      assertWords(second.text);
    },
    "structured-output": async (ctx) => {
      const result = await generateText({
        model: make(ctx).chat(ctx.chatModel),
        prompt: "Say something",
        output: Output.object({ schema: jsonSchema<{ flag: boolean }>(FLAG_SCHEMA) }),
        maxOutputTokens: STRUCTURED_MAX_TOKENS,
        maxRetries: 0,
      });
      assertFlagObject(result.output);
    },
    cancel: async (ctx) => {
      const requestId = ctx.requestId(`${client}-cancel`);
      const controller = new AbortController();
      const result = streamText({
        model: make(ctx).chat(ctx.chatModel),
        prompt: "Say something",
        maxOutputTokens: LONG_ANSWER_TOKENS,
        maxRetries: 0,
        headers: { "x-request-id": requestId },
        abortSignal: controller.signal,
      });
      let parts = 0;
      try {
        for await (const _ of result.textStream) {
          parts++;
          controller.abort();
        }
      } catch (error) {
        assert.equal((error as Error).name, "AbortError", String(error));
      }
      assertStoppedEarly(parts);
      await assertCancelled(ctx, requestId);
    },
    "error-unknown-model": async (ctx) => {
      await assert.rejects(chatWorks(make(ctx).chat("no-such-model")), isStatus(404));
    },
    "error-bad-request": async (ctx) => {
      // A prompt longer than the context: llama-server's 400, through the gateway.
      await assert.rejects(
        generateText({
          model: make(ctx).chat(ctx.chatModel),
          prompt: "word ".repeat(3000),
          maxOutputTokens: 1,
          maxRetries: 0,
        }),
        isStatus(400),
      );
    },
    "error-bad-key": async (ctx) => {
      await assert.rejects(chatWorks(make(ctx, { apiKey: "sk-wrong" }).chat(ctx.chatModel)), isStatus(401));
    },
    "error-rate-limit": async (ctx) => {
      const model = make(ctx, { apiKey: ctx.rateLimitedKey(client) }).chat(ctx.chatModel);
      await chatWorks(model);
      await assert.rejects(
        chatWorks(model),
        (error: unknown) =>
          isStatus(429)(error) && Number((error as APICallError).responseHeaders?.["retry-after"]) > 0,
      );
    },
    "retry-503": async (ctx) => {
      const requestId = ctx.requestId(`${client}-retry`);
      await assert.rejects(
        generateText({
          model: make(ctx).chat(ctx.flakyModel),
          prompt: "hi",
          maxOutputTokens: 2,
          maxRetries: 1,
          headers: { "x-request-id": requestId },
        }),
        (error: unknown) =>
          RetryError.isInstance(error) &&
          error.reason === "maxRetriesExceeded" &&
          isStatus(503)(error.lastError),
      );
      await assertAttempts(ctx, requestId, 2);
    },
    "key-bearer": async (ctx) => {
      // The provider sends its apiKey as `Authorization: Bearer`.
      await chatWorks(make(ctx).chat(ctx.chatModel));
    },
    "key-x-api-key": async (ctx) => {
      const connection: Connection = {
        apiKey: "not-sent",
        headers: { authorization: undefined, Authorization: undefined, "x-api-key": ctx.key },
      };
      await chatWorks(make(ctx, connection).chat(ctx.chatModel));
    },
    "unversioned-base-url": async (ctx) => {
      await chatWorks(make(ctx, { baseURL: ctx.url }).chat(ctx.chatModel));
      await chatWorks(make(ctx, { baseURL: `${ctx.url}/v1/` }).chat(ctx.chatModel));
    },
  };
  return cases;
}

const noModelsCall = "the SDK has no call to list or retrieve models";
const noAnthropic = "an OpenAI provider: no Anthropic API";
const floatOnly = "the provider always asks for float";

export const aiSdkOpenaiSuite: ClientSuite = {
  client: "ai-sdk-openai",
  cases: {
    ...sharedCases(openaiProvider, "ai-sdk-openai"),
    "responses-create": async (ctx) => {
      // The provider's default model speaks the Responses API.
      const result = await generateText({
        model: openaiProvider(ctx).responses(ctx.chatModel),
        prompt: "Hello",
        maxOutputTokens: 4,
        maxRetries: 0,
      });
      assertWords(result.text);
      assert.equal(result.usage.outputTokens, 4);
      assert.equal(result.response.modelId, ctx.chatModel);
    },
    "responses-stream": async (ctx) => {
      const result = streamText({
        model: openaiProvider(ctx).responses(ctx.chatModel),
        prompt: "Hello",
        maxOutputTokens: 5,
        maxRetries: 0,
      });
      let text = "";
      for await (const delta of result.textStream) text += delta;
      assertWords(text);
      // "length" by OpenAI's spec (status incomplete); llama-server says completed: "stop".
      assert.ok(["length", "stop"].includes(await result.finishReason), await result.finishReason);
      assert.equal((await result.usage).outputTokens, 5);
    },
  },
  notApplicable: {
    "embeddings-base64": floatOnly,
    "models-list": noModelsCall,
    "models-retrieve": noModelsCall,
    "responses-stream-helper":
      "the `openai` SDK's helper; `streamText` is this SDK's stream (previous column)",
    "messages-create": noAnthropic,
    "messages-stream": noAnthropic,
    "messages-count-tokens": noAnthropic,
  },
};

const chatOnly = "the provider speaks chat completions only";

export const aiSdkCompatibleSuite: ClientSuite = {
  client: "ai-sdk-compatible",
  cases: sharedCases(compatibleProvider, "ai-sdk-compatible"),
  notApplicable: {
    "embeddings-base64": floatOnly,
    "models-list": noModelsCall,
    "models-retrieve": noModelsCall,
    "responses-create": chatOnly,
    "responses-stream": chatOnly,
    "responses-stream-helper": chatOnly,
    "messages-create": noAnthropic,
    "messages-stream": noAnthropic,
    "messages-count-tokens": noAnthropic,
  },
};
