import { anthropicErrorBody } from "./anthropic-error.js";
import { ERROR_CODES } from "./codes.js";
import type { GatewayError } from "./gateway-error.js";

/**
 * Which API's error shape an answer uses: Anthropic's on the Anthropic routes (/v1/messages…),
 * so its SDKs read type and message; OpenAI's everywhere else. Status and headers are the same.
 */
export type ErrorDialect = "openai" | "anthropic";

/** OpenAI's error body: `{"error":{"message","type","param","code"}}`. */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string };
}

export function errorBody(error: GatewayError): OpenAIErrorBody {
  return {
    error: {
      message: error.message,
      type: ERROR_CODES[error.code].type,
      param: error.param,
      code: error.code,
    },
  };
}

export interface RenderedError {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * The whole HTTP answer for an error, before any byte of a response was sent. `requestId` goes
 * into an Anthropic body as its `request_id`, as Anthropic's API does.
 */
export function renderError(
  error: GatewayError,
  dialect: ErrorDialect = "openai",
  requestId?: string,
): RenderedError {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (error.retryAfterSeconds !== undefined)
    headers["retry-after"] = String(Math.ceil(error.retryAfterSeconds));
  if (error.shouldRetry !== undefined) headers["x-should-retry"] = String(error.shouldRetry);
  const body = dialect === "anthropic" ? anthropicErrorBody(error, requestId) : errorBody(error);
  return { status: error.status, headers, body: JSON.stringify(body) };
}

/**
 * The in-band SSE ending for a stream that failed after its headers went out (docs/architecture.md,
 * "Promises"): OpenAI's `data: {"error":…}` + `data: [DONE]`; Anthropic's `event: error`, which
 * its SDKs raise as an APIError with the type (its streams have no [DONE]).
 */
export function renderStreamError(error: GatewayError, dialect: ErrorDialect = "openai"): string {
  if (dialect === "anthropic") return `event: error\ndata: ${JSON.stringify(anthropicErrorBody(error))}\n\n`;
  return `data: ${JSON.stringify(errorBody(error))}\n\ndata: [DONE]\n\n`;
}
