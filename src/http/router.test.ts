import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayError } from "../errors/gateway-error.js";
import type { RequestContext } from "./context.js";
import { Router } from "./router.js";

function codeOf(run: () => unknown): string {
  try {
    run();
    return "ok";
  } catch (error) {
    assert.ok(error instanceof GatewayError);
    return error.code;
  }
}

test("exact routes win; a prefix route gets the rest of the path, slashes included", async () => {
  const seen: string[] = [];
  const router = new Router([
    { method: "GET", path: "/v1/models", handler: async () => void seen.push("list") },
    {
      method: "GET",
      prefix: "/v1/models/",
      pattern: "/v1/models/{id}",
      handler: async (_ctx, rest) => void seen.push(`one ${rest}`),
    },
  ]);
  const ctx = {} as RequestContext;
  await router.match("GET", "/v1/models").handler(ctx);
  await router.match("GET", "/v1/models/org/model:q4").handler(ctx);
  assert.deepEqual(seen, ["list", "one org/model:q4"]);
  // A trailing slash finds the route without it.
  await router.match("GET", "/v1/models/").handler(ctx);
  assert.equal(seen.at(-1), "list");
  assert.equal(
    codeOf(() => router.match("POST", "/v1/models/x")),
    "method_not_allowed",
  );
  assert.equal(
    codeOf(() => router.match("GET", "/v2")),
    "not_found",
  );
  assert.deepEqual(router.list(), [
    { method: "GET", path: "/v1/models" },
    { method: "GET", path: "/v1/models/{id}" },
  ]);
});

test("base URLs without /v1 and trailing slashes find the same routes; other paths stay 404", async () => {
  const seen: string[] = [];
  const router = new Router([
    { method: "POST", path: "/v1/chat/completions", handler: async () => void seen.push("chat") },
    { method: "GET", path: "/v1/models", handler: async () => void seen.push("list") },
    {
      method: "GET",
      prefix: "/v1/models/",
      pattern: "/v1/models/{id}",
      handler: async (_ctx, rest) => void seen.push(`one ${rest}`),
    },
    { method: "GET", path: "/health", handler: async () => void seen.push("health") },
  ]);
  const ctx = {} as RequestContext;
  for (const path of ["/chat/completions", "/chat/completions/", "/v1/chat/completions/"])
    await router.match("POST", path).handler(ctx);
  await router.match("GET", "/models").handler(ctx);
  await router.match("GET", "/models/org%2Fm").handler(ctx);
  await router.match("GET", "/health/").handler(ctx);
  assert.deepEqual(seen, ["chat", "chat", "chat", "list", "one org%2Fm", "health"]);
  // Logs and metrics name the route by its pattern, never by the path as sent.
  assert.equal(router.match("POST", "/chat/completions/").pattern, "/v1/chat/completions");
  assert.equal(router.match("GET", "/models/org%2Fm").pattern, "/v1/models/{id}");
  assert.equal(
    codeOf(() => router.match("GET", "/chat/completions")),
    "method_not_allowed",
  );
  assert.equal(
    codeOf(() => router.match("POST", "/v1/v1/chat/completions")),
    "not_found",
  );
  assert.equal(
    codeOf(() => router.match("POST", "/admin/chat/completions")),
    "not_found",
  );
});

test("patternOf names the route a path would take, without running or refusing it", () => {
  const router = new Router([
    { method: "POST", path: "/v1/chat/completions", handler: async () => {} },
    { method: "GET", prefix: "/v1/models/", pattern: "/v1/models/{id}", handler: async () => {} },
  ]);
  assert.equal(router.patternOf("/v1/chat/completions"), "/v1/chat/completions");
  assert.equal(router.patternOf("/chat/completions/"), "/v1/chat/completions");
  assert.equal(router.patternOf("/v1/models/org/m"), "/v1/models/{id}");
  assert.equal(router.patternOf("/nowhere"), null);
});
