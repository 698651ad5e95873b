/**
 * The closed table of error codes the gateway can answer with. Every error a client sees
 * comes from this table; docs/errors.md documents each row and a test keeps both in step.
 * Status and type follow the error contract in docs/errors.md.
 */
export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error";

export interface ErrorSpec {
  readonly status: number;
  readonly type: ErrorType;
  /** Whether the answer carries `Retry-After` (the condition is expected to pass). */
  readonly retryable: boolean;
  /** Overrides the default retry advice (see GatewayError.shouldRetry). */
  readonly shouldRetry?: boolean;
  readonly summary: string;
}

export const ERROR_CODES = {
  invalid_json: {
    status: 400,
    type: "invalid_request_error",
    retryable: false,
    summary: "The body is not valid JSON or not valid UTF-8.",
  },
  invalid_request: {
    status: 400,
    type: "invalid_request_error",
    retryable: false,
    summary: "A field has the wrong type or a required field is missing.",
  },
  param_not_allowed: {
    status: 400,
    type: "invalid_request_error",
    retryable: false,
    summary: "The body sets a llama-server-internal field that the request policy refuses.",
  },
  request_limit_exceeded: {
    status: 400,
    type: "invalid_request_error",
    retryable: false,
    summary:
      "The body is past a shape limit (nesting depth, prompts, n, tools, schema size); param names the field.",
  },
  context_length_exceeded: {
    status: 400,
    type: "invalid_request_error",
    retryable: false,
    summary: "The prompt does not fit the model's context (llama-server's exceed_context_size_error).",
  },
  model_required: {
    status: 400,
    type: "invalid_request_error",
    retryable: false,
    summary: "The request names no model and no defaultModel is configured.",
  },
  invalid_api_key: {
    status: 401,
    type: "authentication_error",
    retryable: false,
    summary: "The API key is missing or wrong.",
  },
  forbidden: {
    status: 403,
    type: "permission_error",
    retryable: false,
    summary: "The key may not use this model or route.",
  },
  not_found: { status: 404, type: "invalid_request_error", retryable: false, summary: "No such route." },
  model_not_found: {
    status: 404,
    type: "invalid_request_error",
    retryable: false,
    summary: "No model or alias of that name is configured.",
  },
  method_not_allowed: {
    status: 405,
    type: "invalid_request_error",
    retryable: false,
    summary: "The route exists but not for this HTTP method.",
  },
  request_timeout: {
    status: 408,
    type: "invalid_request_error",
    retryable: false,
    summary: "The request headers or body did not arrive in time.",
  },
  model_busy: {
    status: 409,
    type: "invalid_request_error",
    retryable: false,
    summary:
      "An admin unload waited for the model's requests longer than its drain timeout; nothing was stopped.",
  },
  config_invalid: {
    status: 400,
    type: "invalid_request_error",
    retryable: false,
    summary: "An admin reload found problems in the config file; the running config is kept.",
  },
  body_too_large: {
    status: 413,
    type: "invalid_request_error",
    retryable: false,
    summary: "The request body is larger than the configured limit.",
  },
  unsupported_media_type: {
    status: 415,
    type: "invalid_request_error",
    retryable: false,
    summary: "The body is not application/json.",
  },
  expectation_failed: {
    status: 417,
    type: "invalid_request_error",
    retryable: false,
    summary: "The request has an Expect header other than 100-continue.",
  },
  rate_limited: {
    status: 429,
    type: "rate_limit_error",
    retryable: true,
    summary: "Too many requests or tokens for this key or address.",
  },
  headers_too_large: {
    status: 431,
    type: "invalid_request_error",
    retryable: false,
    summary: "The request headers are larger than server.maxHeaderSize.",
  },
  internal_error: {
    status: 500,
    type: "server_error",
    retryable: false,
    summary: "A bug in the gateway; the message says what failed.",
  },
  backend_internal_error: {
    status: 500,
    type: "server_error",
    retryable: false,
    summary: "llama-server answered 500; its message is passed on.",
  },
  not_supported: {
    status: 501,
    type: "invalid_request_error",
    retryable: false,
    summary: "The model's llama-server cannot serve this route (e.g. embeddings without --embeddings).",
  },
  backend_crashed: {
    status: 502,
    type: "server_error",
    retryable: false,
    // The instance restarts, or another one takes the retry: worth it, without a wait to name.
    shouldRetry: true,
    summary: "llama-server died or dropped the connection before answering.",
  },
  backend_error: {
    status: 502,
    type: "server_error",
    retryable: false,
    summary: "llama-server answered with something the gateway could not use.",
  },
  backend_response_too_large: {
    status: 502,
    type: "server_error",
    retryable: false,
    summary: "llama-server's non-streamed or error answer was larger than server.maxResponseBuffer.",
  },
  backend_unavailable: {
    status: 503,
    type: "server_error",
    retryable: true,
    summary: "llama-server answered 503 (busy loading or unavailable).",
  },
  model_load_failed: {
    status: 503,
    type: "server_error",
    retryable: true,
    summary: "llama-server exited or failed while loading the model; the message has its last stderr lines.",
  },
  model_load_timeout: {
    status: 503,
    type: "server_error",
    retryable: true,
    summary: "llama-server did not become healthy within the startup budget.",
  },
  model_failed: {
    status: 503,
    type: "server_error",
    retryable: true,
    summary:
      "The model crashed or failed to load too often and is parked until its cool-down ends, an admin reset, or a reload that changes it.",
  },
  queue_full: {
    status: 503,
    type: "server_error",
    retryable: true,
    summary: "Too many requests are already waiting for this model.",
  },
  queue_timeout: {
    status: 503,
    type: "server_error",
    retryable: true,
    summary: "The request waited in the queue longer than the configured maximum.",
  },
  shutting_down: {
    status: 503,
    type: "server_error",
    retryable: true,
    summary: "The gateway is draining for shutdown and takes no new work.",
  },
  upstream_timeout: {
    status: 504,
    type: "server_error",
    retryable: false,
    summary: "llama-server sent no first byte within the per-model deadline.",
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}
