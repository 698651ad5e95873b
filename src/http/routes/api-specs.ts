import type { Dialect } from "../../proxy/usage.js";

/** What a field the gateway reads must be; anything else is a 400 naming it. */
export type FieldType = "string" | "array" | "string-or-array" | "messages" | "positive-integer";

export interface FieldRule {
  readonly name: string;
  readonly type: FieldType;
  readonly required: boolean;
}

/** One POST route of the API surface, forwarded to the same-named llama-server route. */
export interface ApiSpec {
  readonly path: string;
  /** llama-server's path (server.cpp registers each of these). */
  readonly upstreamPath: string;
  /** How the answer reports usage and stream errors. */
  readonly dialect: Dialect;
  /** The input fields the gateway checks (besides model, stream and stream_options). */
  readonly fields: readonly FieldRule[];
  /** At least one of these must be present (rerank: `documents`, or TEI's `texts`). */
  readonly oneOf: readonly string[];
  /**
   * Streams of this route carry usage only when the client asks (chat completions): the
   * gateway asks anyway and drops the extra chunk when the client did not. /v1/completions,
   * /v1/messages and /v1/responses streams always end with usage.
   */
  readonly asksStreamUsage: boolean;
  /**
   * Fields that hold a batch: each entry is a separate input llama-server runs (a completion
   * per prompt, an embedding per input, a score per document). Bounded by
   * server.requestLimits.maxPrompts; a generating route's prompts count as requests.
   */
  readonly batch: readonly string[];
  /** Whether the route generates text (its work grows with n and max_tokens). */
  readonly generates: boolean;
}

const need = (name: string, type: FieldType): FieldRule => ({ name, type, required: true });
const may = (name: string, type: FieldType): FieldRule => ({ name, type, required: false });

function spec(
  path: string,
  dialect: Dialect,
  fields: readonly FieldRule[],
  options: {
    upstreamPath?: string;
    asksStreamUsage?: boolean;
    oneOf?: readonly string[];
    batch?: readonly string[];
    generates?: boolean;
  } = {},
): ApiSpec {
  return {
    path,
    upstreamPath: options.upstreamPath ?? path,
    dialect,
    fields,
    oneOf: options.oneOf ?? [],
    asksStreamUsage: options.asksStreamUsage ?? false,
    batch: options.batch ?? [],
    generates: options.generates ?? false,
  };
}

/** The POST routes, in the order README.md lists them. */
export function apiSpecs(): ApiSpec[] {
  const rerank = [need("query", "string"), may("documents", "array"), may("texts", "array")];
  const reranking = { oneOf: ["documents", "texts"], batch: ["documents", "texts"] };
  return [
    spec("/v1/chat/completions", "openai", [need("messages", "messages")], {
      asksStreamUsage: true,
      generates: true,
    }),
    spec("/v1/completions", "openai", [need("prompt", "string-or-array")], {
      batch: ["prompt"],
      generates: true,
    }),
    spec("/v1/embeddings", "openai", [need("input", "string-or-array")], { batch: ["input"] }),
    spec("/v1/rerank", "openai", rerank, reranking),
    spec("/rerank", "openai", rerank, { upstreamPath: "/v1/rerank", ...reranking }),
    spec("/v1/responses", "responses", [need("input", "string-or-array")], { generates: true }),
    // max_tokens is required, as in Anthropic's API: without it llama-server would generate
    // until the context is full.
    spec(
      "/v1/messages",
      "anthropic",
      [
        need("messages", "messages"),
        may("system", "string-or-array"),
        need("max_tokens", "positive-integer"),
      ],
      { generates: true },
    ),
    spec("/v1/messages/count_tokens", "none", [need("messages", "messages")]),
    spec(
      "/infill",
      "native",
      [
        need("input_prefix", "string"),
        need("input_suffix", "string"),
        may("prompt", "string"),
        may("input_extra", "array"),
      ],
      { generates: true },
    ),
    spec("/tokenize", "none", [need("content", "string-or-array")]),
    spec("/detokenize", "none", [need("tokens", "array")]),
  ];
}
