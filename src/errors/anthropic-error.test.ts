import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { ANTHROPIC_ERROR_TYPES, type AnthropicErrorType } from "./anthropic-error.js";
import { ERROR_CODES, type ErrorCode } from "./codes.js";
import { GatewayError } from "./gateway-error.js";
import { renderError, renderStreamError } from "./render.js";

/**
 * Every code of the closed table as Anthropic's API would answer it: [status, type]. Written out
 * here, not derived, so a change of the mapping is a deliberate change of this table too.
 */
const EXPECTED: Record<ErrorCode, [number, AnthropicErrorType]> = {
  invalid_json: [400, "invalid_request_error"],
  invalid_request: [400, "invalid_request_error"],
  param_not_allowed: [400, "invalid_request_error"],
  request_limit_exceeded: [400, "invalid_request_error"],
  context_length_exceeded: [400, "invalid_request_error"],
  model_required: [400, "invalid_request_error"],
  invalid_api_key: [401, "authentication_error"],
  forbidden: [403, "permission_error"],
  not_found: [404, "not_found_error"],
  model_not_found: [404, "not_found_error"],
  method_not_allowed: [405, "invalid_request_error"],
  request_timeout: [408, "invalid_request_error"],
  model_busy: [409, "invalid_request_error"],
  config_invalid: [400, "invalid_request_error"],
  body_too_large: [413, "request_too_large"],
  unsupported_media_type: [415, "invalid_request_error"],
  expectation_failed: [417, "invalid_request_error"],
  rate_limited: [429, "rate_limit_error"],
  headers_too_large: [431, "request_too_large"],
  internal_error: [500, "api_error"],
  backend_internal_error: [500, "api_error"],
  not_supported: [501, "invalid_request_error"],
  backend_crashed: [502, "api_error"],
  backend_error: [502, "api_error"],
  backend_response_too_large: [502, "api_error"],
  backend_unavailable: [503, "overloaded_error"],
  model_load_failed: [503, "api_error"],
  model_load_timeout: [503, "overloaded_error"],
  model_failed: [503, "api_error"],
  queue_full: [503, "overloaded_error"],
  queue_timeout: [503, "overloaded_error"],
  shutting_down: [503, "overloaded_error"],
  upstream_timeout: [504, "timeout_error"],
};

const CODES = Object.keys(ERROR_CODES) as ErrorCode[];

test("every code renders in Anthropic's shape with its Anthropic type and our status", () => {
  assert.deepEqual(Object.keys(EXPECTED).sort(), [...CODES].sort());
  for (const code of CODES) {
    const [status, type] = EXPECTED[code];
    const error = new GatewayError(code, `message of ${code}`, { param: "model" });
    const rendered = renderError(error, "anthropic", "req-1");
    assert.equal(rendered.status, status, code);
    assert.equal(rendered.status, ERROR_CODES[code].status, `${code}: the status is the table's`);
    assert.deepEqual(
      JSON.parse(rendered.body),
      { type: "error", error: { type, message: `message of ${code}` }, request_id: "req-1" },
      code,
    );
  }
});

test("the dialect changes only the body: status, Retry-After and x-should-retry stay as they are", () => {
  const samples = [
    new GatewayError("rate_limited", "slow down", { retryAfterSeconds: 12.2 }),
    new GatewayError("queue_full", "too many waiting", { retryAfterSeconds: 2 }),
    new GatewayError("backend_crashed", "llama-server died"),
    new GatewayError("upstream_timeout", "no first byte"),
    new GatewayError("model_not_found", "no such model"),
  ];
  for (const error of samples) {
    const openai = renderError(error);
    const anthropic = renderError(error, "anthropic");
    assert.equal(anthropic.status, openai.status, error.code);
    assert.deepEqual(anthropic.headers, openai.headers, error.code);
  }
  assert.equal(renderError(samples[0] as GatewayError, "anthropic").headers["retry-after"], "13");
});

test("without a request id the Anthropic body has none; OpenAI's shape is the default", () => {
  const error = new GatewayError("model_not_found", "no such model", { param: "model" });
  assert.deepEqual(JSON.parse(renderError(error, "anthropic").body), {
    type: "error",
    error: { type: "not_found_error", message: "no such model" },
  });
  assert.deepEqual(JSON.parse(renderError(error).body), JSON.parse(renderError(error, "openai", "r").body));
  assert.equal(JSON.parse(renderError(error).body).error.code, "model_not_found");
});

test("an Anthropic stream error is one `event: error` with the mapped type, and no [DONE]", () => {
  const text = renderStreamError(new GatewayError("model_load_timeout", "still loading"), "anthropic");
  assert.equal(
    text,
    'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"still loading"}}\n\n',
  );
  assert.match(renderStreamError(new GatewayError("backend_crashed", "x")), /data: \[DONE\]\n\n$/);
});

/** The rows of docs/errors.md's Anthropic table: code → type. */
function docRows(): Map<string, string> {
  const text = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
  const start = text.indexOf("## On the Anthropic routes");
  assert.notEqual(start, -1, "docs/errors.md has the section");
  const end = text.indexOf("\n## ", start + 1);
  const rows = new Map<string, string>();
  for (const line of text.slice(start, end === -1 ? undefined : end).split("\n")) {
    const match = /^\|\s*`([a-z_]+)`\s*\|\s*([a-z_]+)\s*\|/.exec(line);
    if (match) rows.set(match[1] as string, match[2] as string);
  }
  return rows;
}

test("docs/errors.md lists every code with the Anthropic type the renderer uses, both ways", () => {
  const rows = docRows();
  assert.deepEqual([...rows.keys()].sort(), [...CODES].sort());
  for (const code of CODES) assert.equal(rows.get(code), ANTHROPIC_ERROR_TYPES[code], code);
});
