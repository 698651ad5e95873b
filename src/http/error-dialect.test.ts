import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { GatewayError } from "../errors/gateway-error.js";
import { noAccess } from "../security/access.js";
import { errorDialectOf } from "./error-dialect.js";
import { createRequestHandler } from "./handle-request.js";
import { Router } from "./router.js";
import { apiSpecs } from "./routes/api-specs.js";

test("the Anthropic routes and everything under them speak Anthropic's dialect; the rest OpenAI's", () => {
  const anthropic = [
    "/v1/messages",
    "/v1/messages/",
    "/v1/messages/count_tokens",
    "/v1/messages/batches",
    "/messages",
    "/messages/count_tokens",
  ];
  for (const path of anthropic) assert.equal(errorDialectOf(path), "anthropic", path);
  const openai = [
    "/v1/chat/completions",
    "/v1/messagesx",
    "/v1/models",
    "/v1/responses",
    "/health",
    "/admin/models",
    "/upstream/tiny/v1/messages",
    "/",
  ];
  for (const path of openai) assert.equal(errorDialectOf(path), "openai", path);
});

test("each API route's error dialect follows its API: /v1/messages and count_tokens are Anthropic's", () => {
  for (const spec of apiSpecs()) {
    const anthropic = spec.path.startsWith("/v1/messages");
    assert.equal(errorDialectOf(spec.path), anthropic ? "anthropic" : "openai", spec.path);
    if (spec.dialect === "anthropic") assert.equal(errorDialectOf(spec.path), "anthropic", spec.path);
  }
});

/**
 * The request handler on a real socket: a refusal by a step before routing (the auth step's 401,
 * the rate limit's 429), a missing route and a route's own error all take the path's dialect.
 */
describe("errors through the request handler", () => {
  let server: Server;
  let base: string;
  const limits = { requestsPerMinute: null, tokensPerMinute: null, burst: 1 };

  before(async () => {
    const fail = async () => {
      throw new GatewayError("model_not_found", "The model 'nope' does not exist", { param: "model" });
    };
    const router = new Router([
      { method: "POST", path: "/v1/messages", handler: fail },
      { method: "POST", path: "/v1/messages/count_tokens", handler: fail },
      { method: "POST", path: "/v1/chat/completions", handler: fail },
    ]);
    const handler = createRequestHandler({
      router,
      log: pino({ level: "silent" }),
      steps: [
        (ctx) => {
          if (ctx.req.headers["x-test-refuse"] === "auth")
            throw new GatewayError("invalid_api_key", "Incorrect or missing API key.");
          if (ctx.req.headers["x-test-refuse"] === "rate") {
            ctx.res.setHeader("x-ratelimit-remaining", "0");
            throw new GatewayError("rate_limited", "Too many requests", { retryAfterSeconds: 7 });
          }
        },
      ],
      initialAccess: noAccess(limits),
      trustProxy: 0,
      streamIdleTimeoutMs: 10_000,
    });
    server = createServer((req, res) => handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  async function post(path: string, refuse?: string, method = "POST") {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (refuse !== undefined) headers["x-test-refuse"] = refuse;
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      ...(method === "POST" ? { body: "{}" } : {}),
    });
    return { res, body: (await res.json()) as Record<string, unknown> };
  }

  test("on /v1/messages: Anthropic's body with request_id, and a request-id header beside x-request-id", async () => {
    for (const [path, refuse, status, type] of [
      ["/v1/messages", "auth", 401, "authentication_error"],
      ["/v1/messages", "rate", 429, "rate_limit_error"],
      ["/v1/messages", undefined, 404, "not_found_error"],
      ["/v1/messages/count_tokens", "auth", 401, "authentication_error"],
      ["/v1/messages/batches", undefined, 404, "not_found_error"],
    ] as const) {
      const { res, body } = await post(path, refuse);
      const id = res.headers.get("x-request-id");
      assert.ok(id, path);
      assert.equal(res.status, status, `${path} ${refuse}`);
      assert.equal(res.headers.get("request-id"), id, path);
      assert.deepEqual(Object.keys(body).sort(), ["error", "request_id", "type"], path);
      assert.equal(body.type, "error");
      assert.equal(body.request_id, id);
      assert.equal((body.error as { type: string }).type, type, `${path} ${refuse}`);
      assert.equal(typeof (body.error as { message: unknown }).message, "string");
    }
  });

  test("the rate limit's Retry-After and quota headers stay on the Anthropic answer", async () => {
    const { res } = await post("/v1/messages", "rate");
    assert.equal(res.headers.get("retry-after"), "7");
    assert.equal(res.headers.get("x-ratelimit-remaining"), "0");
  });

  test("a wrong method under /v1/messages is Anthropic-shaped too", async () => {
    const { res, body } = await post("/v1/messages", undefined, "GET");
    assert.equal(res.status, 405);
    assert.equal((body.error as { type: string }).type, "invalid_request_error");
  });

  test("elsewhere: OpenAI's body and no request-id header", async () => {
    for (const [path, refuse, code] of [
      ["/v1/chat/completions", "auth", "invalid_api_key"],
      ["/v1/chat/completions", undefined, "model_not_found"],
      ["/v1/nope", undefined, "not_found"],
    ] as const) {
      const { res, body } = await post(path, refuse);
      assert.ok(res.headers.get("x-request-id"));
      assert.equal(res.headers.get("request-id"), null, path);
      assert.deepEqual(Object.keys(body), ["error"], path);
      assert.equal((body.error as { code: string }).code, code, path);
    }
  });
});
