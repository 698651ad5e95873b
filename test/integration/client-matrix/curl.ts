import assert from "node:assert/strict";
import { execFile, execFileSync, spawn } from "node:child_process";
import {
  assertAttempts,
  assertCancelled,
  assertFlagObject,
  assertSameVector,
  assertWords,
  FLAG_SCHEMA,
  LONG_ANSWER_TOKENS,
  STRUCTURED_MAX_TOKENS,
  WEATHER_TOOL_PARAMETERS,
} from "../../support/client-matrix/checks.js";
import type { MatrixContext } from "../../support/client-matrix/context.js";
import type { ClientSuite } from "../../support/client-matrix/table.js";

/** curl, as the README's examples use it: JSON bodies, `-N` for streams. */

// biome-ignore lint/suspicious/noExplicitAny: answers are checked by assertions
type Json = Record<string, any>;

/** The installed curl's version, or null when there is no curl to run. */
export function curlVersion(): string | null {
  try {
    return /^curl (\S+)/.exec(execFileSync("curl", ["--version"], { encoding: "utf8" }))?.[1] ?? null;
  } catch {
    return null;
  }
}

interface CurlAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
  json(): Json;
}

interface CurlOptions {
  readonly body?: unknown;
  readonly key?: string | null;
  readonly keyAs?: "bearer" | "x-api-key";
  readonly args?: readonly string[];
}

/** Runs curl; the answer's last head (after any 1xx or retried ones) and body. */
function curl(ctx: MatrixContext, path: string, options: CurlOptions = {}): Promise<CurlAnswer> {
  const key = options.key === undefined ? ctx.key : options.key;
  const args = ["-s", "-S", "-i", "--max-time", "30", ...(options.args ?? [])];
  if (key !== null) {
    args.push("-H", options.keyAs === "x-api-key" ? `x-api-key: ${key}` : `Authorization: Bearer ${key}`);
  }
  if (options.body !== undefined) {
    args.push("-H", "Content-Type: application/json", "-d", JSON.stringify(options.body));
  }
  args.push(`${ctx.url}${path}`);
  return new Promise((resolve, reject) => {
    execFile("curl", args, { encoding: "utf8", maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`curl ${args.join(" ")}: ${stderr || error.message}`));
      // Each head ends with an empty line; the body follows the last one.
      let rest = stdout;
      let head = "";
      while (/^HTTP\/\S+ \d{3}/.test(rest)) {
        const end = rest.indexOf("\r\n\r\n");
        head = rest.slice(0, end);
        rest = rest.slice(end + 4);
      }
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      resolve({
        status: Number(statusLine.split(" ")[1]),
        headers,
        body: rest,
        json: () => JSON.parse(rest) as Json,
      });
    });
  });
}

/** The `data:` payloads of an SSE body. */
function sseData(body: string): string[] {
  return body
    .split("\n")
    .filter((line) => line.startsWith("data: "))
    .map((line) => line.slice("data: ".length));
}

const messages = [{ role: "user", content: "Say something" }];

async function ok(answer: Promise<CurlAnswer>): Promise<Json> {
  const res = await answer;
  assert.equal(res.status, 200, res.body);
  return res.json();
}

async function chatWorks(ctx: MatrixContext, path: string, options: CurlOptions = {}): Promise<void> {
  const answer = await ok(
    curl(ctx, path, { ...options, body: { model: ctx.chatModel, messages, max_tokens: 4 } }),
  );
  assertWords(answer.choices[0].message.content);
}

/** An OpenAI-shaped error answer with this status and code. */
async function assertError(answer: Promise<CurlAnswer>, status: number, code?: string): Promise<CurlAnswer> {
  const res = await answer;
  assert.equal(res.status, status, res.body);
  const error = res.json().error;
  assert.equal(typeof error?.message, "string", res.body);
  if (code !== undefined) assert.equal(error.code, code, res.body);
  return res;
}

export const curlSuite: ClientSuite = {
  client: "curl",
  cases: {
    chat: async (ctx) => {
      const answer = await ok(
        curl(ctx, "/v1/chat/completions", { body: { model: ctx.chatModel, messages, max_tokens: 8 } }),
      );
      assert.equal(answer.model, ctx.chatModel);
      assertWords(answer.choices[0].message.content);
      assert.equal(answer.usage.completion_tokens, 8);
    },
    "chat-stream-usage": async (ctx) => {
      const res = await curl(ctx, "/v1/chat/completions", {
        args: ["-N"],
        body: {
          model: ctx.chatModel,
          messages,
          max_tokens: 6,
          stream: true,
          stream_options: { include_usage: true },
        },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers["content-type"] ?? "", /^text\/event-stream/);
      const data = sseData(res.body);
      assert.equal(data.at(-1), "[DONE]");
      const chunks = data.slice(0, -1).map((d) => JSON.parse(d) as Json);
      assertWords(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join(""));
      assert.equal(chunks.at(-1)?.usage?.completion_tokens, 6);
    },
    completions: async (ctx) => {
      const answer = await ok(
        curl(ctx, "/v1/completions", {
          body: { model: ctx.textModel, prompt: "Once upon a time", max_tokens: 5 },
        }),
      );
      assertWords(answer.choices[0].text);
    },
    "embeddings-float": async (ctx) => {
      const answer = await ok(
        curl(ctx, "/v1/embeddings", { body: { model: ctx.embedModel, input: ["hello world", "bye"] } }),
      );
      assert.deepEqual(
        answer.data.map((d: Json) => d.embedding.length),
        [64, 64],
      );
    },
    "embeddings-base64": async (ctx) => {
      const body = { model: ctx.embedModel, input: "hello world" };
      const [encoded, float] = await Promise.all([
        ok(curl(ctx, "/v1/embeddings", { body: { ...body, encoding_format: "base64" } })),
        ok(curl(ctx, "/v1/embeddings", { body })),
      ]);
      const bytes = Buffer.from(encoded.data[0].embedding as string, "base64");
      const decoded = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      assertSameVector(decoded, float.data[0].embedding);
    },
    "models-list": async (ctx) => {
      const list = await ok(curl(ctx, "/v1/models"));
      const ids = list.data.map((m: Json) => m.id);
      for (const id of [ctx.textModel, ctx.chatModel, ctx.embedModel]) assert.ok(ids.includes(id), id);
    },
    "models-retrieve": async (ctx) => {
      const model = await ok(curl(ctx, `/v1/models/${ctx.chatModel}`));
      assert.deepEqual([model.id, model.alias_of], [ctx.chatModel, ctx.textModel]);
    },
    "responses-create": async (ctx) => {
      const response = await ok(
        curl(ctx, "/v1/responses", { body: { model: ctx.chatModel, input: "Hello", max_output_tokens: 4 } }),
      );
      assert.deepEqual([response.object, response.model], ["response", ctx.chatModel]);
      assertWords(response.output.find((o: Json) => o.type === "message")?.content[0]?.text);
    },
    "responses-stream": async (ctx) => {
      const res = await curl(ctx, "/v1/responses", {
        args: ["-N"],
        body: { model: ctx.chatModel, input: "Hello", max_output_tokens: 5, stream: true },
      });
      assert.equal(res.status, 200, res.body);
      const events = sseData(res.body)
        .filter((d) => d !== "[DONE]")
        .map((d) => JSON.parse(d) as Json);
      assert.equal(events[0]?.type, "response.created");
      assert.equal(events.at(-1)?.type, "response.completed");
      assertWords(
        events
          .filter((e) => e.type === "response.output_text.delta")
          .map((e) => e.delta)
          .join(""),
      );
    },
    "messages-create": async (ctx) => {
      const message = await ok(
        curl(ctx, "/v1/messages", {
          keyAs: "x-api-key",
          body: { model: ctx.chatModel, max_tokens: 5, messages },
        }),
      );
      assert.deepEqual([message.type, message.model], ["message", ctx.chatModel]);
      assertWords(message.content[0]?.text);
    },
    "messages-stream": async (ctx) => {
      const res = await curl(ctx, "/v1/messages", {
        keyAs: "x-api-key",
        args: ["-N"],
        body: { model: ctx.chatModel, max_tokens: 5, messages, stream: true },
      });
      assert.equal(res.status, 200, res.body);
      assert.match(res.body, /^event: message_start\n/);
      assert.match(res.body, /event: message_stop\n/);
    },
    "messages-count-tokens": async (ctx) => {
      const count = await ok(
        curl(ctx, "/v1/messages/count_tokens", {
          keyAs: "x-api-key",
          body: { model: ctx.chatModel, messages },
        }),
      );
      assert.ok(count.input_tokens > 0);
    },
    tools: async (ctx) => {
      const tools = [
        {
          type: "function",
          function: { name: "get_weather", description: "w", parameters: WEATHER_TOOL_PARAMETERS },
        },
      ];
      const answer = await ok(
        curl(ctx, "/v1/chat/completions", {
          body: {
            model: ctx.chatModel,
            max_tokens: 8,
            tools,
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
          },
        }),
      );
      assertWords(answer.choices[0].message.content);
    },
    "structured-output": async (ctx) => {
      const answer = await ok(
        curl(ctx, "/v1/chat/completions", {
          body: {
            model: ctx.chatModel,
            messages,
            max_tokens: STRUCTURED_MAX_TOKENS,
            response_format: { type: "json_schema", json_schema: { name: "flag", schema: FLAG_SCHEMA } },
          },
        }),
      );
      assertFlagObject(JSON.parse(answer.choices[0].message.content));
    },
    cancel: async (ctx) => {
      // curl killed mid-stream, as Ctrl-C does.
      const requestId = ctx.requestId("curl-cancel");
      const child = spawn("curl", [
        "-s",
        "-N",
        "-H",
        `Authorization: Bearer ${ctx.key}`,
        "-H",
        `x-request-id: ${requestId}`,
        "-H",
        "Content-Type: application/json",
        "-d",
        JSON.stringify({ model: ctx.chatModel, messages, max_tokens: LONG_ANSWER_TOKENS, stream: true }),
        `${ctx.url}/v1/chat/completions`,
      ]);
      const exited = new Promise((resolve) => child.once("exit", resolve));
      await new Promise<void>((resolve, reject) => {
        child.stdout.once("data", () => resolve());
        child.once("exit", () => reject(new Error("curl ended before the first chunk")));
      });
      child.kill("SIGINT");
      await exited;
      await assertCancelled(ctx, requestId);
    },
    "error-unknown-model": async (ctx) => {
      await assertError(
        curl(ctx, "/v1/chat/completions", { body: { model: "no-such-model", messages } }),
        404,
        "model_not_found",
      );
    },
    "error-bad-request": async (ctx) => {
      const res = await assertError(
        curl(ctx, "/v1/chat/completions", { body: { model: ctx.chatModel, messages: "hello" } }),
        400,
      );
      assert.equal(res.json().error.param, "messages");
    },
    "error-bad-key": async (ctx) => {
      await assertError(curl(ctx, "/v1/models", { key: "sk-wrong" }), 401);
      await assertError(curl(ctx, "/v1/models", { key: null }), 401);
    },
    "error-rate-limit": async (ctx) => {
      const key = ctx.rateLimitedKey("curl");
      await ok(curl(ctx, "/v1/models", { key }));
      const res = await assertError(curl(ctx, "/v1/models", { key }), 429);
      assert.ok(Number(res.headers["retry-after"]) > 0, JSON.stringify(res.headers));
    },
    "retry-503": async (ctx) => {
      // `--retry` retries a 503; the gateway sees both attempts.
      const requestId = ctx.requestId("curl-retry");
      const res = await curl(ctx, "/v1/chat/completions", {
        args: ["--retry", "1", "--retry-delay", "1", "-H", `x-request-id: ${requestId}`],
        body: { model: ctx.flakyModel, messages, max_tokens: 2 },
      });
      assert.equal(res.status, 503);
      await assertAttempts(ctx, requestId, 2);
    },
    "key-bearer": async (ctx) => {
      await chatWorks(ctx, "/v1/chat/completions", { keyAs: "bearer" });
    },
    "key-x-api-key": async (ctx) => {
      await chatWorks(ctx, "/v1/chat/completions", { keyAs: "x-api-key" });
    },
    "unversioned-base-url": async (ctx) => {
      await chatWorks(ctx, "/chat/completions");
      await chatWorks(ctx, "/v1/chat/completions/");
      await ok(curl(ctx, "/models"));
    },
  },
  notApplicable: {
    "responses-stream-helper": "an SDK helper; the Responses stream column is curl's",
  },
};
