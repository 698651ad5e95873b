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
    { method: "GET", prefix: "/v1/models/", handler: async (_ctx, rest) => void seen.push(`one ${rest}`) },
  ]);
  const ctx = {} as RequestContext;
  await router.match("GET", "/v1/models")(ctx);
  await router.match("GET", "/v1/models/org/model:q4")(ctx);
  assert.deepEqual(seen, ["list", "one org/model:q4"]);
  assert.equal(
    codeOf(() => router.match("GET", "/v1/models/")),
    "not_found",
  );
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
    { method: "GET", path: "/v1/models/{param}" },
  ]);
});
