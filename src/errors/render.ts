import { ERROR_CODES } from "./codes.js";
import type { GatewayError } from "./gateway-error.js";

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

/** The whole HTTP answer for an error, before any byte of a response was sent. */
export function renderError(error: GatewayError): RenderedError {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (error.retryAfterSeconds !== undefined)
    headers["retry-after"] = String(Math.ceil(error.retryAfterSeconds));
  return { status: error.status, headers, body: JSON.stringify(errorBody(error)) };
}

/** The in-band SSE ending for a stream that failed after its headers went out (docs/architecture.md, "Promises"). */
export function renderStreamError(error: GatewayError): string {
  return `data: ${JSON.stringify(errorBody(error))}\n\ndata: [DONE]\n\n`;
}
