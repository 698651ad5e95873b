import type { ErrorCode } from "./codes.js";
import type { GatewayError } from "./gateway-error.js";

/**
 * Anthropic's error types (docs.claude.com/en/api/errors, and `ErrorType` in @anthropic-ai/sdk).
 * The SDKs pick their error class by HTTP status, not by this type: the status stays ours, the
 * type says what kind of failure it was for clients that branch on `error.type`.
 */
export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "timeout_error"
  | "overloaded_error";

/**
 * Every code of the closed table in Anthropic's words (docs/errors.md, "On the Anthropic
 * routes"; a test keeps both in step). Anthropic uses invalid_request_error for any 4xx it has no
 * own type for. A 503 the client can wait out (a load, a full line, a drain) is
 * overloaded_error, its 529's type; a model whose llama-server keeps failing is api_error,
 * since more load is not what is wrong with it.
 */
export const ANTHROPIC_ERROR_TYPES: Readonly<Record<ErrorCode, AnthropicErrorType>> = {
  invalid_json: "invalid_request_error",
  invalid_request: "invalid_request_error",
  param_not_allowed: "invalid_request_error",
  request_limit_exceeded: "invalid_request_error",
  context_length_exceeded: "invalid_request_error",
  model_required: "invalid_request_error",
  invalid_api_key: "authentication_error",
  forbidden: "permission_error",
  not_found: "not_found_error",
  model_not_found: "not_found_error",
  method_not_allowed: "invalid_request_error",
  request_timeout: "invalid_request_error",
  model_busy: "invalid_request_error",
  config_invalid: "invalid_request_error",
  body_too_large: "request_too_large",
  unsupported_media_type: "invalid_request_error",
  expectation_failed: "invalid_request_error",
  rate_limited: "rate_limit_error",
  headers_too_large: "request_too_large",
  internal_error: "api_error",
  backend_internal_error: "api_error",
  not_supported: "invalid_request_error",
  backend_crashed: "api_error",
  backend_error: "api_error",
  backend_response_too_large: "api_error",
  backend_unavailable: "overloaded_error",
  model_load_failed: "api_error",
  model_load_timeout: "overloaded_error",
  model_failed: "api_error",
  queue_full: "overloaded_error",
  queue_timeout: "overloaded_error",
  shutting_down: "overloaded_error",
  upstream_timeout: "timeout_error",
};

/** Anthropic's error body: `{"type":"error","error":{"type","message"},"request_id"}`. */
export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType; message: string };
  request_id?: string;
}

/**
 * The body Anthropic's API answers an error with. `request_id` is in the API's HTTP error bodies
 * (the SDKs read the `request-id` header); its in-stream `event: error` has none.
 */
export function anthropicErrorBody(error: GatewayError, requestId?: string): AnthropicErrorBody {
  const body: AnthropicErrorBody = {
    type: "error",
    error: { type: ANTHROPIC_ERROR_TYPES[error.code], message: error.message },
  };
  if (requestId !== undefined) body.request_id = requestId;
  return body;
}
