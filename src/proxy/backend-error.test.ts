import assert from "node:assert/strict";
import { test } from "node:test";
import { renderError } from "../errors/render.js";
import { backendError } from "./backend-error.js";

const llama = (code: number, message: string, type: string) =>
  Buffer.from(JSON.stringify({ error: { code, message, type } }));

test("llama-server's error answers keep their status and message, with a code from our table", () => {
  const cases: Array<[number, string, string, number]> = [
    [400, "invalid_request_error", "invalid_request", 400],
    [400, "exceed_context_size_error", "context_length_exceeded", 400],
    [404, "not_found_error", "not_found", 404],
    [500, "server_error", "backend_internal_error", 500],
    [501, "not_supported_error", "not_supported", 501],
    [503, "unavailable_error", "backend_unavailable", 503],
  ];
  for (const [status, type, code, expected] of cases) {
    const error = backendError(status, llama(status, `why ${status}`, type), "tiny");
    assert.deepEqual([error.code, error.status, error.message], [code, expected, `why ${status}`], type);
  }
});

test("llama-server refusing the gateway's own key is a 502, never an auth error for the client", () => {
  const error = backendError(401, llama(401, "Invalid API Key", "authentication_error"), "tiny");
  assert.equal(error.code, "backend_error");
  assert.equal(error.status, 502);
  assert.match(error.message, /model tiny: llama-server answered 401: Invalid API Key/);
});

test("a body that is not llama-server's JSON is passed on as text, cut to a sane length", () => {
  const error = backendError(500, Buffer.from(`<html>${"x".repeat(5000)}</html>`), "tiny");
  assert.equal(error.code, "backend_internal_error");
  assert.ok(error.message.startsWith("<html>") && error.message.length <= 1000);
  assert.equal(backendError(500, Buffer.alloc(0), "tiny").message, "HTTP 500");
});

test("a 503 from llama-server is retryable with Retry-After", () => {
  const rendered = renderError(backendError(503, llama(503, "Loading model", "unavailable_error"), "tiny"));
  assert.equal(rendered.status, 503);
  assert.equal(rendered.headers["retry-after"], "1");
});

test("an error answer too large to parse: message from its start, type from its end, the rest never decoded", () => {
  const echo = "[".repeat(200_000);
  const body = Buffer.from(
    `{"error":{"code":400,"message":"Failed to parse tools: \\"x\\" ${echo}","type":"exceed_context_size_error"}}`,
  );
  const error = backendError(400, body, "m");
  assert.equal(error.code, "context_length_exceeded");
  assert.ok(error.message.startsWith('Failed to parse tools: "x" [[['), error.message.slice(0, 40));
  assert.equal(error.message.length, 1000);
  const cut = backendError(400, Buffer.from(`{"error":{"message":"abc\\u00e9${echo}`), "m");
  assert.equal(cut.code, "invalid_request");
  assert.ok(cut.message.startsWith("abcé["));
});
