import assert from "node:assert/strict";
import { AIMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { ChatOpenAI, OpenAI, OpenAIEmbeddings } from "@langchain/openai";
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

/** LangChain JS: `@langchain/openai` (ChatOpenAI, OpenAI, OpenAIEmbeddings) on `@langchain/core`. */

interface Connection {
  readonly model?: string;
  readonly apiKey?: string;
  readonly baseURL?: string;
  readonly headers?: Record<string, string | null>;
  readonly maxRetries?: number;
  readonly maxTokens?: number;
  readonly useResponsesApi?: boolean;
}

function chat(ctx: MatrixContext, c: Connection = {}): ChatOpenAI {
  return new ChatOpenAI({
    model: c.model ?? ctx.chatModel,
    apiKey: c.apiKey ?? ctx.key,
    maxRetries: c.maxRetries ?? 0,
    maxTokens: c.maxTokens ?? 8,
    ...(c.useResponsesApi === undefined ? {} : { useResponsesApi: c.useResponsesApi }),
    configuration: {
      baseURL: c.baseURL ?? `${ctx.url}/v1`,
      ...(c.headers === undefined ? {} : { defaultHeaders: c.headers }),
    },
  });
}

async function chatWorks(model: ChatOpenAI): Promise<void> {
  const answer = await model.invoke("Say something");
  assertWords(answer.text);
}

/** LangChain rethrows the openai SDK's errors, which carry the HTTP status. */
function isStatus(status: number) {
  return (error: unknown) => (error as { status?: unknown } | null)?.status === status;
}

/** Usage as LangChain reports it (its type resolves to never through the Runnable generics). */
function outputTokensOf(message: unknown): number | undefined {
  return (message as { usage_metadata?: { output_tokens?: number } }).usage_metadata?.output_tokens;
}

const weatherTool = {
  type: "function" as const,
  function: { name: "get_weather", description: "The weather", parameters: WEATHER_TOOL_PARAMETERS },
};

function embeddings(ctx: MatrixContext, encodingFormat?: "float" | "base64"): OpenAIEmbeddings {
  return new OpenAIEmbeddings({
    model: ctx.embedModel,
    apiKey: ctx.key,
    maxRetries: 0,
    ...(encodingFormat === undefined ? {} : { encodingFormat }),
    configuration: { baseURL: `${ctx.url}/v1` },
  });
}

export const langchainSuite: ClientSuite = {
  client: "langchain",
  cases: {
    chat: async (ctx) => {
      const answer = await chat(ctx).invoke("Say something");
      assertWords(answer.text);
      assert.equal(outputTokensOf(answer), 8);
      assert.equal(answer.response_metadata.model_name, ctx.chatModel);
    },
    "chat-stream-usage": async (ctx) => {
      const stream = await new ChatOpenAI({
        model: ctx.chatModel,
        apiKey: ctx.key,
        maxRetries: 0,
        maxTokens: 6,
        streamUsage: true,
        configuration: { baseURL: `${ctx.url}/v1` },
      }).stream("Say something");
      let text = "";
      let outputTokens: number | undefined;
      for await (const chunk of stream) {
        text += chunk.text;
        outputTokens = outputTokensOf(chunk) ?? outputTokens;
      }
      assertWords(text);
      assert.equal(outputTokens, 6);
    },
    completions: async (ctx) => {
      const llm = new OpenAI({
        model: ctx.textModel,
        apiKey: ctx.key,
        maxRetries: 0,
        maxTokens: 5,
        configuration: { baseURL: `${ctx.url}/v1` },
      });
      assertWords(await llm.invoke("Once upon a time"));
    },
    "embeddings-float": async (ctx) => {
      const vectors = await embeddings(ctx, "float").embedDocuments(["hello world", "bye"]);
      assert.deepEqual(
        vectors.map((v) => v.length),
        [64, 64],
      );
    },
    "embeddings-base64": async (ctx) => {
      // No encodingFormat: the openai SDK underneath asks for base64 and decodes it.
      const [decoded, float] = await Promise.all([
        embeddings(ctx).embedQuery("hello world"),
        embeddings(ctx, "float").embedQuery("hello world"),
      ]);
      assertSameVector(decoded, float);
    },
    "responses-create": async (ctx) => {
      const answer = await chat(ctx, { useResponsesApi: true, maxTokens: 4 }).invoke("Hello");
      assertWords(answer.text);
      assert.equal(outputTokensOf(answer), 4);
    },
    "responses-stream": async (ctx) => {
      const stream = await chat(ctx, { useResponsesApi: true, maxTokens: 5 }).stream("Hello");
      let text = "";
      let outputTokens: number | undefined;
      for await (const chunk of stream) {
        text += chunk.text;
        outputTokens = outputTokensOf(chunk) ?? outputTokens;
      }
      assertWords(text);
      assert.equal(outputTokens, 5);
    },
    tools: async (ctx) => {
      const model = chat(ctx).bindTools([weatherTool]);
      const first = await model.invoke("Weather?");
      assert.ok(first.text !== "" || (first.tool_calls?.length ?? 0) > 0, "an answer or a tool call");
      const second = await model.invoke([
        new HumanMessage("Weather?"),
        new AIMessage({
          content: "",
          tool_calls: [{ id: "call_1", name: "get_weather", args: { unit: "c" }, type: "tool_call" }],
        }),
        new ToolMessage({ tool_call_id: "call_1", content: "sunny, 21" }),
      ]);
      assertWords(second.text);
    },
    "structured-output": async (ctx) => {
      const model = chat(ctx, { maxTokens: STRUCTURED_MAX_TOKENS }).withStructuredOutput(
        { title: "flag", ...FLAG_SCHEMA },
        { method: "jsonSchema" },
      );
      assertFlagObject(await model.invoke("Say something"));
    },
    cancel: async (ctx) => {
      const requestId = ctx.requestId("langchain-cancel");
      const controller = new AbortController();
      const stream = await chat(ctx, {
        maxTokens: LONG_ANSWER_TOKENS,
        headers: { "x-request-id": requestId },
      }).stream("Say something", { signal: controller.signal });
      let chunks = 0;
      try {
        for await (const _ of stream) {
          chunks++;
          controller.abort();
        }
      } catch (error) {
        assert.match(String((error as Error).message), /abort/i, String(error));
      }
      assertStoppedEarly(chunks);
      await assertCancelled(ctx, requestId);
    },
    "error-unknown-model": async (ctx) => {
      await assert.rejects(chatWorks(chat(ctx, { model: "no-such-model" })), isStatus(404));
    },
    "error-bad-request": async (ctx) => {
      // A prompt longer than the context: llama-server's 400, through the gateway.
      await assert.rejects(chat(ctx, { maxTokens: 1 }).invoke("word ".repeat(3000)), isStatus(400));
    },
    "error-bad-key": async (ctx) => {
      await assert.rejects(chatWorks(chat(ctx, { apiKey: "sk-wrong" })), isStatus(401));
    },
    "error-rate-limit": async (ctx) => {
      const model = chat(ctx, { apiKey: ctx.rateLimitedKey("langchain") });
      await chatWorks(model);
      await assert.rejects(chatWorks(model), isStatus(429));
    },
    "retry-503": async (ctx) => {
      const requestId = ctx.requestId("langchain-retry");
      const model = chat(ctx, {
        model: ctx.flakyModel,
        maxRetries: 1,
        headers: { "x-request-id": requestId },
      });
      await assert.rejects(model.invoke("hi"), isStatus(503));
      await assertAttempts(ctx, requestId, 2);
    },
    "key-bearer": async (ctx) => {
      await chatWorks(chat(ctx));
    },
    "unversioned-base-url": async (ctx) => {
      await chatWorks(chat(ctx, { baseURL: ctx.url }));
      await chatWorks(chat(ctx, { baseURL: `${ctx.url}/v1/` }));
    },
  },
  notApplicable: {
    "key-x-api-key":
      "`ChatOpenAI` always sends its key as `Authorization: Bearer` (a null `authorization` in `defaultHeaders` does not remove it)",
    "models-list": "no call to list or retrieve models",
    "models-retrieve": "no call to list or retrieve models",
    "responses-stream-helper":
      "the `openai` SDK's helper; `.stream()` with `useResponsesApi` is this SDK's stream",
    "messages-create": "`@langchain/openai` speaks the OpenAI APIs only",
    "messages-stream": "`@langchain/openai` speaks the OpenAI APIs only",
    "messages-count-tokens": "`@langchain/openai` speaks the OpenAI APIs only",
  },
};
