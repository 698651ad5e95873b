import assert from "node:assert/strict";
import Anthropic1 from "@anthropic-ai/sdk";
import Anthropic0 from "anthropic-sdk-0";
import {
  assertAttempts,
  assertCancelled,
  assertStoppedEarly,
  assertWords,
  LONG_ANSWER_TOKENS,
  WEATHER_TOOL_PARAMETERS,
} from "../../support/client-matrix/checks.js";
import type { MatrixContext } from "../../support/client-matrix/context.js";
import type { ClientSuite } from "../../support/client-matrix/table.js";

/**
 * The Anthropic SDK, 1.x and 0.x, on the gateway's `/v1/messages`. Both versions run the same
 * cases through the small surface below (their own types differ from version to version).
 */

// biome-ignore lint/suspicious/noExplicitAny: answers are checked by assertions, not by the SDK's types
type Json = Record<string, any>;

interface MessageStreamLike extends AsyncIterable<Json> {
  on(event: "text", listener: (delta: string) => void): unknown;
  finalMessage(): Promise<Json>;
}

interface AnthropicLike {
  messages: {
    create(body: Json, options?: Json): Promise<Json>;
    stream(body: Json, options?: Json): MessageStreamLike;
    countTokens(body: Json): Promise<Json>;
  };
  models: {
    list(): AsyncIterable<Json>;
    retrieve(id: string): Promise<Json>;
  };
}

type ErrorClass = abstract new (...args: never[]) => Error;

interface AnthropicSdk {
  new (options: Json): AnthropicLike;
  NotFoundError: ErrorClass;
  BadRequestError: ErrorClass;
  AuthenticationError: ErrorClass;
  RateLimitError: ErrorClass;
  InternalServerError: ErrorClass;
  APIUserAbortError: ErrorClass;
}

/** What an APIError of either version carries. */
interface ApiErrorLike {
  status?: number;
  error?: Json;
  headers?: Headers | Record<string, string>;
  requestID?: string | null;
}

function header(error: ApiErrorLike, name: string): string | null | undefined {
  const headers = error.headers;
  if (headers === undefined) return undefined;
  return headers instanceof Headers ? headers.get(name) : headers[name];
}

/** Anthropic's error shape (finding 5 of issue 16): `{type: "error", error: {type, message}}` and a request-id. */
function isAnthropicError(cls: ErrorClass, type: string) {
  return (error: unknown) => {
    if (!(error instanceof cls)) return false;
    const e = error as ApiErrorLike;
    assert.equal(e.error?.type, "error", JSON.stringify(e.error));
    assert.equal(e.error?.error?.type, type, JSON.stringify(e.error));
    assert.equal(typeof e.error?.error?.message, "string");
    assert.ok(e.requestID, "the request-id header");
    return true;
  };
}

const messages = [{ role: "user", content: "Say something" }];

function anthropicSuite(client: "anthropic-1" | "anthropic-0", sdk: AnthropicSdk): ClientSuite {
  const make = (ctx: MatrixContext, options: Json = {}): AnthropicLike =>
    new sdk({ baseURL: ctx.url, apiKey: ctx.key, maxRetries: 0, ...options });

  const messageWorks = async (anthropic: AnthropicLike, model: string) => {
    const message = await anthropic.messages.create({ model, max_tokens: 4, messages });
    assert.equal(message.model, model);
    assertWords(message.content[0]?.text);
  };

  return {
    client,
    cases: {
      "models-list": async (ctx) => {
        const ids: string[] = [];
        for await (const model of make(ctx).models.list()) ids.push(model.id);
        for (const id of [ctx.textModel, ctx.chatModel, ctx.embedModel]) assert.ok(ids.includes(id), id);
      },
      "models-retrieve": async (ctx) => {
        assert.equal((await make(ctx).models.retrieve(ctx.chatModel)).id, ctx.chatModel);
      },
      "messages-create": async (ctx) => {
        const message = await make(ctx).messages.create({ model: ctx.chatModel, max_tokens: 5, messages });
        assert.deepEqual(
          [message.type, message.role, message.model],
          ["message", "assistant", ctx.chatModel],
        );
        assertWords(message.content[0]?.text);
        assert.equal(message.stop_reason, "max_tokens");
        assert.equal(message.usage.output_tokens, 5);
      },
      "messages-stream": async (ctx) => {
        const stream = make(ctx).messages.stream({ model: ctx.chatModel, max_tokens: 5, messages });
        let text = "";
        stream.on("text", (delta) => {
          text += delta;
        });
        const final = await stream.finalMessage();
        assertWords(text);
        assert.equal(final.content[0]?.text, text);
        assert.equal(final.model, ctx.chatModel);
        assert.equal(final.usage.output_tokens, 5);
      },
      "messages-count-tokens": async (ctx) => {
        const count = await make(ctx).messages.countTokens({ model: ctx.chatModel, messages });
        assert.ok(count.input_tokens > 0, JSON.stringify(count));
      },
      tools: async (ctx) => {
        const anthropic = make(ctx);
        const tools = [
          { name: "get_weather", description: "The weather", input_schema: WEATHER_TOOL_PARAMETERS },
        ];
        const first = await anthropic.messages.create({
          model: ctx.chatModel,
          max_tokens: 8,
          tools,
          messages: [{ role: "user", content: "Weather?" }],
        });
        assert.ok(first.content.length > 0, "an answer or a tool call");
        const second = await anthropic.messages.create({
          model: ctx.chatModel,
          max_tokens: 8,
          tools,
          messages: [
            { role: "user", content: "Weather?" },
            {
              role: "assistant",
              content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { unit: "c" } }],
            },
            {
              role: "user",
              content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "sunny, 21" }],
            },
          ],
        });
        assertWords(second.content[0]?.text);
      },
      cancel: async (ctx) => {
        const requestId = ctx.requestId(`${client}-cancel`);
        const controller = new AbortController();
        const stream = make(ctx).messages.stream(
          { model: ctx.chatModel, max_tokens: LONG_ANSWER_TOKENS, messages },
          { signal: controller.signal, headers: { "x-request-id": requestId } },
        );
        let deltas = 0;
        await assert.rejects(async () => {
          for await (const event of stream) {
            if (event.type !== "content_block_delta") continue;
            deltas++;
            controller.abort();
          }
        }, sdk.APIUserAbortError);
        assertStoppedEarly(deltas);
        await assertCancelled(ctx, requestId);
      },
      "error-unknown-model": async (ctx) => {
        await assert.rejects(
          messageWorks(make(ctx), "no-such-model"),
          isAnthropicError(sdk.NotFoundError, "not_found_error"),
        );
      },
      "error-bad-request": async (ctx) => {
        // Anthropic's API requires max_tokens.
        await assert.rejects(
          make(ctx).messages.create({ model: ctx.chatModel, messages }),
          isAnthropicError(sdk.BadRequestError, "invalid_request_error"),
        );
      },
      "error-bad-key": async (ctx) => {
        await assert.rejects(
          messageWorks(make(ctx, { apiKey: "sk-wrong" }), ctx.chatModel),
          isAnthropicError(sdk.AuthenticationError, "authentication_error"),
        );
      },
      "error-rate-limit": async (ctx) => {
        const anthropic = make(ctx, { apiKey: ctx.rateLimitedKey(client) });
        await messageWorks(anthropic, ctx.chatModel);
        await assert.rejects(messageWorks(anthropic, ctx.chatModel), (error: unknown) => {
          assert.ok(isAnthropicError(sdk.RateLimitError, "rate_limit_error")(error), String(error));
          assert.ok(Number(header(error as ApiErrorLike, "retry-after")) > 0, "Retry-After");
          return true;
        });
      },
      "retry-503": async (ctx) => {
        const requestId = ctx.requestId(`${client}-retry`);
        const anthropic = make(ctx, { maxRetries: 1, defaultHeaders: { "x-request-id": requestId } });
        await assert.rejects(
          anthropic.messages.create({ model: ctx.flakyModel, max_tokens: 2, messages }),
          (error: unknown) =>
            error instanceof sdk.InternalServerError && (error as ApiErrorLike).status === 503,
        );
        await assertAttempts(ctx, requestId, 2);
      },
      "key-bearer": async (ctx) => {
        // authToken is sent as `Authorization: Bearer`; apiKey null sends no x-api-key.
        await messageWorks(make(ctx, { apiKey: null, authToken: ctx.key }), ctx.chatModel);
      },
      "key-x-api-key": async (ctx) => {
        // The SDK's default: apiKey as `x-api-key`.
        await messageWorks(make(ctx), ctx.chatModel);
      },
    },
    notApplicable: {
      chat: "the Messages API is this SDK's chat (messages columns)",
      "chat-stream-usage": "the Messages API is this SDK's chat (messages columns)",
      completions: "no OpenAI completions in this SDK",
      "embeddings-float": "no embeddings in this SDK",
      "embeddings-base64": "no embeddings in this SDK",
      "responses-create": "no Responses API in this SDK",
      "responses-stream": "no Responses API in this SDK",
      "responses-stream-helper": "no Responses API in this SDK",
      "structured-output": "no JSON-schema output in the Messages API as llama-server implements it",
      "unversioned-base-url": "the SDK's base URL never has `/v1`: it always calls `/v1/messages`",
    },
  };
}

export const anthropic1Suite = anthropicSuite("anthropic-1", Anthropic1 as unknown as AnthropicSdk);
export const anthropic0Suite = anthropicSuite("anthropic-0", Anthropic0 as unknown as AnthropicSdk);
