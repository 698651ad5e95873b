import assert from "node:assert/strict";
import { test } from "node:test";
import { runStep, stepContext } from "../../../test/support/step-context.js";
import type { CorsConfig } from "../../config/security-types.js";
import { cors } from "./cors.js";

const BASE: CorsConfig = {
  origins: ["https://app.example.com", "https://*.tools.example.com"],
  methods: ["GET", "POST"],
  headers: ["*"],
  exposeHeaders: ["x-request-id", "retry-after"],
  credentials: false,
  maxAgeSeconds: 600,
};

const preflight = (origin: string, url = "/v1/chat/completions") => ({
  method: "OPTIONS",
  url,
  headers: {
    origin,
    host: "127.0.0.1:8080",
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
  },
});

test("a preflight from an allowed origin is answered here with 204 and the allowed methods", async () => {
  const { ctx, response } = stepContext(preflight("https://app.example.com"));
  assert.equal(await runStep(cors(BASE), ctx), "answered");
  assert.equal(response.status, 204);
  assert.equal(response.ended, true);
  assert.equal(response.headers["access-control-allow-origin"], "https://app.example.com");
  assert.equal(response.headers["access-control-allow-methods"], "GET, POST");
  assert.equal(response.headers["access-control-allow-headers"], "authorization, content-type");
  assert.equal(response.headers["access-control-max-age"], "600");
  assert.equal(response.headers.vary, "Origin");
  assert.equal(response.headers["access-control-allow-credentials"], undefined);
});

test("patterns: * stands for a run of characters but /, so a path or another domain never matches", async () => {
  for (const origin of ["https://a.tools.example.com", "https://b-c.tools.example.com"]) {
    const { ctx } = stepContext(preflight(origin));
    assert.equal(await runStep(cors(BASE), ctx), "answered", origin);
  }
  for (const origin of [
    "https://tools.example.com.evil.com",
    "https://evil.com/.tools.example.com",
    "http://a.tools.example.com",
    "https://app.example.com.evil.com",
    "null",
  ]) {
    const { ctx, response } = stepContext(preflight(origin));
    assert.equal(await runStep(cors(BASE), ctx), "forbidden", origin);
    assert.equal(response.headers["access-control-allow-origin"], undefined);
  }
});

test("an actual request from an allowed origin passes on with the CORS headers to read the answer", async () => {
  const { ctx, response } = stepContext({
    method: "POST",
    url: "/v1/chat/completions",
    headers: { origin: "https://app.example.com" },
  });
  assert.equal(await runStep(cors(BASE), ctx), "passed");
  assert.equal(response.headers["access-control-allow-origin"], "https://app.example.com");
  assert.equal(response.headers["access-control-expose-headers"], "x-request-id, retry-after");
  assert.equal(response.status, null);
});

test("a request from a foreign origin is refused, not just left without headers (a simple POST spends GPU)", async () => {
  const { ctx } = stepContext({
    method: "POST",
    url: "/v1/completions",
    headers: { origin: "https://evil.com" },
  });
  assert.equal(await runStep(cors(BASE), ctx), "forbidden");
});

test("no Origin (curl, SDKs) and same-origin pages pass without CORS headers", async () => {
  const none = stepContext({ method: "POST", url: "/v1/completions" });
  assert.equal(await runStep(cors(BASE), none.ctx), "passed");
  assert.deepEqual(none.response.headers, {});
  const same = stepContext({
    method: "POST",
    url: "/v1/completions",
    headers: { origin: "http://127.0.0.1:8080", host: "127.0.0.1:8080" },
  });
  assert.equal(await runStep(cors(BASE), same.ctx), "passed");
  assert.deepEqual(same.response.headers, {});
});

test("admin routes are never CORS-enabled, not even with origin *", async () => {
  const open = { ...BASE, origins: ["*"] };
  for (const url of ["/admin/status", "/admin", "/upstream/small/slots"]) {
    const pre = stepContext(preflight("https://app.example.com", url));
    assert.equal(await runStep(cors(open), pre.ctx), "forbidden", url);
    assert.equal(pre.response.headers["access-control-allow-origin"], undefined);
    const actual = stepContext({ method: "GET", url, headers: { origin: "https://app.example.com" } });
    assert.equal(await runStep(cors(open), actual.ctx), "forbidden", url);
  }
});

test("origin * without credentials answers *; with a fixed header list it lists them", async () => {
  const config = { ...BASE, origins: ["*"], headers: ["content-type", "authorization"] };
  const { ctx, response } = stepContext(preflight("https://anything.example"));
  assert.equal(await runStep(cors(config), ctx), "answered");
  assert.equal(response.headers["access-control-allow-origin"], "*");
  assert.equal(response.headers["access-control-allow-headers"], "content-type, authorization");
});

test("credentials: the origin is echoed (never *) with allow-credentials", async () => {
  const { ctx, response } = stepContext(preflight("https://app.example.com"));
  assert.equal(await runStep(cors({ ...BASE, credentials: true }), ctx), "answered");
  assert.equal(response.headers["access-control-allow-origin"], "https://app.example.com");
  assert.equal(response.headers["access-control-allow-credentials"], "true");
});

test("no origins configured: a same-origin preflight is still refused (a page of ours needs none)", async () => {
  const { ctx } = stepContext(preflight("http://127.0.0.1:8080"));
  assert.equal(await runStep(cors({ ...BASE, origins: [] }), ctx), "forbidden");
});
