import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayError } from "../../errors/gateway-error.js";
import { type ApiSpec, apiSpecs } from "./api-specs.js";
import { validateRequest } from "./validate-request.js";

function specFor(path: string): ApiSpec {
  const spec = apiSpecs().find((s) => s.path === path);
  assert.ok(spec, path);
  return spec;
}

/** The code and param of the 400 a body gets, or "ok". */
function verdict(path: string, body: Record<string, unknown>): string {
  try {
    validateRequest(specFor(path), body);
    return "ok";
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    assert.equal(error.status, 400);
    return `${error.code} ${error.param}`;
  }
}

const CHAT = "/v1/chat/completions";
const messages = [{ role: "user", content: "hi" }];

test("the fields the gateway reads must have the right type; the error names the param", () => {
  assert.equal(verdict(CHAT, { messages }), "ok");
  assert.equal(verdict(CHAT, { model: 3, messages }), "invalid_request model");
  assert.equal(verdict(CHAT, { model: "", messages }), "invalid_request model");
  assert.equal(verdict(CHAT, { stream: "yes", messages }), "invalid_request stream");
  assert.equal(verdict(CHAT, { stream_options: "x", messages }), "invalid_request stream_options");
  assert.equal(
    verdict(CHAT, { stream_options: { include_usage: 1 }, messages }),
    "invalid_request stream_options.include_usage",
  );
  assert.equal(verdict(CHAT, {}), "invalid_request messages");
  assert.equal(verdict(CHAT, { messages: "hi" }), "invalid_request messages");
  assert.equal(verdict(CHAT, { messages: [messages[0], "x"] }), "invalid_request messages[1]");
});

test("each route checks its own input fields", () => {
  assert.equal(verdict("/v1/completions", { prompt: 5 }), "invalid_request prompt");
  assert.equal(verdict("/v1/embeddings", { input: ["a", "b"] }), "ok");
  assert.equal(verdict("/v1/rerank", { query: "q" }), "invalid_request documents");
  assert.equal(verdict("/rerank", { query: "q", texts: ["a"] }), "ok");
  assert.equal(verdict("/v1/rerank", { query: 1, documents: [] }), "invalid_request query");
  assert.equal(verdict("/v1/messages", { messages, system: 3, max_tokens: 8 }), "invalid_request system");
  assert.equal(verdict("/v1/responses", { input: "hi" }), "ok");
  assert.equal(verdict("/infill", { input_prefix: "a" }), "invalid_request input_suffix");
  assert.equal(verdict("/tokenize", { content: "a" }), "ok");
  assert.equal(verdict("/detokenize", { tokens: "1 2" }), "invalid_request tokens");
});

test("/v1/messages needs max_tokens, an integer of at least 1, as Anthropic's API does", () => {
  assert.equal(verdict("/v1/messages", { messages, max_tokens: 1 }), "ok");
  assert.equal(verdict("/v1/messages", { messages }), "invalid_request max_tokens");
  assert.equal(verdict("/v1/messages", { messages, max_tokens: null }), "invalid_request max_tokens");
  for (const bad of [0, -1, 1.5, "8", Number.NaN, 2 ** 53]) {
    assert.equal(
      verdict("/v1/messages", { messages, max_tokens: bad }),
      "invalid_request max_tokens",
      String(bad),
    );
  }
  // count_tokens takes no max_tokens; the OpenAI routes keep it optional.
  assert.equal(verdict("/v1/messages/count_tokens", { messages }), "ok");
  assert.equal(verdict(CHAT, { messages }), "ok");
});

test("the request policy refuses llama-server-internal fields by name", () => {
  for (const field of ["id_slot", "slot_id", "n_discard", "chat_format", "chat_parser"]) {
    assert.equal(verdict(CHAT, { messages, [field]: 1 }), `param_not_allowed ${field}`);
  }
  assert.equal(verdict(CHAT, { messages, id_slot: null }), "ok");
});

test("lora may only pick loaded adapters by id; paths are refused", () => {
  assert.equal(verdict(CHAT, { messages, lora: [{ id: 0, scale: 0.5 }] }), "ok");
  assert.equal(
    verdict(CHAT, { messages, lora: [{ path: "/etc/passwd", scale: 1 }] }),
    "param_not_allowed lora",
  );
  assert.equal(
    verdict(CHAT, { messages, lora: [{ id: 0, scale: 1, path: "/x" }] }),
    "param_not_allowed lora",
  );
  assert.equal(verdict(CHAT, { messages, lora: { id: 0 } }), "param_not_allowed lora");
});

test("probabilities are capped at 20 per token", () => {
  assert.equal(verdict(CHAT, { messages, logprobs: true, top_logprobs: 20 }), "ok");
  assert.equal(verdict(CHAT, { messages, top_logprobs: 21 }), "param_not_allowed top_logprobs");
  assert.equal(verdict("/v1/completions", { prompt: "a", n_probs: 32000 }), "param_not_allowed n_probs");
  assert.equal(verdict("/v1/completions", { prompt: "a", logprobs: 100 }), "param_not_allowed logprobs");
});

test("remote media URLs are refused with their path; inline data is fine", () => {
  const image = (url: string) => [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }];
  assert.equal(verdict(CHAT, { messages: image("data:image/png;base64,AAAA") }), "ok");
  assert.equal(
    verdict(CHAT, { messages: image("http://169.254.169.254/latest/meta-data") }),
    "param_not_allowed messages[0].content[0].image_url.url",
  );
  const audio = [
    { role: "user", content: [{ type: "input_audio", input_audio: { data: "HTTPS://x/a.wav" } }] },
  ];
  assert.equal(
    verdict(CHAT, { messages: audio }),
    "param_not_allowed messages[0].content[0].input_audio.data",
  );
  const anthropic = [
    { role: "user", content: [{ type: "image", source: { type: "url", url: "https://x/y.png" } }] },
  ];
  assert.equal(
    verdict("/v1/messages", { messages: anthropic, max_tokens: 8 }),
    "param_not_allowed messages[0].content[0].source.url",
  );
  const responses = [{ role: "user", content: [{ type: "input_image", image_url: "https://x/y.png" }] }];
  assert.equal(
    verdict("/v1/responses", { input: responses }),
    "param_not_allowed input[0].content[0].image_url",
  );
  const text = [{ role: "user", content: [{ type: "text", text: "see https://example.com" }] }];
  assert.equal(verdict(CHAT, { messages: text }), "ok");
});
