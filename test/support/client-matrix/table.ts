import type { MatrixContext } from "./context.js";

/**
 * The client matrix as data: which clients, which features, and for each client either a case
 * (a function that throws when the client and the gateway do not work together) or the reason
 * the client has no such call. The tests and scripts/write-compatibility.ts read the same
 * table, so docs/compatibility.md lists exactly what the tests exercise.
 */

export type ClientId =
  | "openai"
  | "ai-sdk-openai"
  | "ai-sdk-compatible"
  | "langchain"
  | "anthropic-1"
  | "anthropic-0"
  | "curl";

export interface ClientInfo {
  readonly id: ClientId;
  readonly title: string;
  /** npm packages whose installed versions the doc names; curl names its own. */
  readonly packages: readonly { readonly name: string; readonly dir: string }[];
}

export const CLIENTS: readonly ClientInfo[] = [
  { id: "openai", title: "OpenAI SDK", packages: [{ name: "openai", dir: "openai" }] },
  {
    id: "ai-sdk-openai",
    title: "Vercel AI SDK, `@ai-sdk/openai`",
    packages: [
      { name: "ai", dir: "ai" },
      { name: "@ai-sdk/openai", dir: "@ai-sdk/openai" },
    ],
  },
  {
    id: "ai-sdk-compatible",
    title: "Vercel AI SDK, `@ai-sdk/openai-compatible`",
    packages: [
      { name: "ai", dir: "ai" },
      { name: "@ai-sdk/openai-compatible", dir: "@ai-sdk/openai-compatible" },
    ],
  },
  {
    id: "langchain",
    title: "LangChain JS",
    packages: [
      { name: "@langchain/openai", dir: "@langchain/openai" },
      { name: "@langchain/core", dir: "@langchain/core" },
    ],
  },
  {
    id: "anthropic-1",
    title: "Anthropic SDK 1.x",
    packages: [{ name: "@anthropic-ai/sdk", dir: "@anthropic-ai/sdk" }],
  },
  {
    id: "anthropic-0",
    title: "Anthropic SDK 0.x",
    packages: [{ name: "@anthropic-ai/sdk", dir: "anthropic-sdk-0" }],
  },
  { id: "curl", title: "curl", packages: [] },
];

export type FeatureId =
  | "chat"
  | "chat-stream-usage"
  | "completions"
  | "embeddings-float"
  | "embeddings-base64"
  | "models-list"
  | "models-retrieve"
  | "responses-create"
  | "responses-stream"
  | "responses-stream-helper"
  | "messages-create"
  | "messages-stream"
  | "messages-count-tokens"
  | "tools"
  | "structured-output"
  | "cancel"
  | "error-unknown-model"
  | "error-bad-request"
  | "error-bad-key"
  | "error-rate-limit"
  | "retry-503"
  | "key-bearer"
  | "key-x-api-key"
  | "unversioned-base-url";

export interface FeatureInfo {
  readonly id: FeatureId;
  readonly title: string;
  /** What a passing case shows, for the doc. */
  readonly what: string;
}

export const FEATURES: readonly FeatureInfo[] = [
  { id: "chat", title: "chat", what: "a chat completion through an alias; the answer names the alias" },
  {
    id: "chat-stream-usage",
    title: "chat, streamed, with usage",
    what: "a streamed chat; text arrives in chunks and the usage at the end",
  },
  { id: "completions", title: "completions", what: "a plain (legacy) completion" },
  {
    id: "embeddings-float",
    title: "embeddings, float",
    what: "`encoding_format: float`: 64 numbers per input",
  },
  {
    id: "embeddings-base64",
    title: "embeddings, base64",
    what: "base64, the `openai` SDK's default (it asks for base64 and decodes it; LangChain goes through it), decoded equal to the float answer; curl asks with `encoding_format: base64`",
  },
  { id: "models-list", title: "models list", what: "`GET /v1/models` lists ids and aliases" },
  { id: "models-retrieve", title: "model retrieve", what: "`GET /v1/models/{id}` of an alias" },
  { id: "responses-create", title: "Responses create", what: "`POST /v1/responses`, not streamed" },
  {
    id: "responses-stream",
    title: "Responses stream",
    what: "`POST /v1/responses` streamed; the client sees text deltas and a completed response",
  },
  {
    id: "responses-stream-helper",
    title: "Responses stream helper",
    what: "the SDK's `responses.stream()` helper and its `finalResponse()`",
  },
  { id: "messages-create", title: "Anthropic messages", what: "`POST /v1/messages`, not streamed" },
  {
    id: "messages-stream",
    title: "Anthropic messages, streamed",
    what: "`POST /v1/messages` streamed, through the SDK's stream helper",
  },
  { id: "messages-count-tokens", title: "Anthropic count tokens", what: "`POST /v1/messages/count_tokens`" },
  {
    id: "tools",
    title: "tools in the request",
    what: "tool definitions, then a tool call and its result in the history, are accepted and answered",
  },
  {
    id: "structured-output",
    title: "structured output",
    what: "a JSON schema response format; the answer parses and fits the schema",
  },
  {
    id: "cancel",
    title: "cancellation",
    what: "aborting a streamed answer after its first chunk: the client stops (or raises its abort error) and the gateway logs 499",
  },
  { id: "error-unknown-model", title: "error: unknown model", what: "404, the client's not-found error" },
  { id: "error-bad-request", title: "error: bad request", what: "400, the client's bad-request error" },
  { id: "error-bad-key", title: "error: bad key", what: "401, the client's authentication error" },
  {
    id: "error-rate-limit",
    title: "error: rate limit",
    what: "429 with `Retry-After`, the client's rate-limit error",
  },
  {
    id: "retry-503",
    title: "retries on 503",
    what: "a backend 503 is retried by the client (the gateway sees each attempt), then raised",
  },
  { id: "key-bearer", title: "key as Bearer", what: "`Authorization: Bearer KEY` on a gateway with keys" },
  { id: "key-x-api-key", title: "key as x-api-key", what: "`x-api-key: KEY` (and no Authorization)" },
  {
    id: "unversioned-base-url",
    title: "base URL without /v1",
    what: "a base URL without `/v1` (`POST /chat/completions`), and one with a trailing slash",
  },
];

export type CaseRun = (ctx: MatrixContext) => Promise<void>;

/** One client's row: a case or a reason for every feature (checked by compatibility-doc.test.ts). */
export interface ClientSuite {
  readonly client: ClientId;
  readonly cases: Partial<Record<FeatureId, CaseRun>>;
  /** Features the client has no call for, with the reason the doc shows. */
  readonly notApplicable: Partial<Record<FeatureId, string>>;
}

export interface MatrixCase {
  readonly client: ClientId;
  readonly feature: FeatureId;
  readonly run: CaseRun;
}

/** The suite's cases in the order of FEATURES. */
export function casesOf(suite: ClientSuite): MatrixCase[] {
  return FEATURES.flatMap(({ id }) => {
    const run = suite.cases[id];
    return run === undefined ? [] : [{ client: suite.client, feature: id, run }];
  });
}

/**
 * What llama-server (at the pinned commit) cannot do, so the matrix cannot show it; the doc
 * lists these under the table.
 */
export const LLAMA_SERVER_LIMITS: readonly string[] = [
  'The tiny test model has random weights: it never decides to call a tool, so the `tools` cases check that tool definitions, tool calls and tool results in the history pass through every client and are answered, not that a tool call comes back. With the test model\'s template llama-server answers as plain content even for `tool_choice: "required"`.',
  "llama-server builds every grammar (JSON schema, tool calls) starting with the chat template's generation prompt; with a vocabulary that has no special tokens for the template's markers (the tiny model's SentencePiece vocabulary and ChatML) it answers 400 \"Failed to initialize samplers\". The matrix therefore runs chat on a tiny model whose template has no generation prompt (`test/support/client-matrix/templated-model.ts`); with real models and their own templates structured output works.",
  "Embeddings need a model started with `--embeddings`; llama-server encodes base64 itself when asked (`encoding_format: base64`).",
  "The Responses API is llama-server's own: a response cut short by `max_output_tokens` is reported `completed`, where OpenAI reports `incomplete` (`incomplete_details.reason: max_output_tokens`), so the AI SDK's `streamText` on it finishes with `stop` rather than `length`.",
  "`/v1/messages/count_tokens` counts with the model's own tokenizer and template, so counts differ from Anthropic's.",
];
