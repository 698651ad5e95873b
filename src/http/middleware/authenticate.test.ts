import assert from "node:assert/strict";
import { test } from "node:test";
import { runStep, stepContext } from "../../../test/support/step-context.js";
import type { AuthConfig, RateLimits } from "../../config/security-types.js";
import { KeyTable } from "../../security/key-table.js";
import { authenticate, requirementOf } from "./authenticate.js";

const DEFAULTS: RateLimits = { requestsPerMinute: 60, tokensPerMinute: null, burst: 20 };

const AUTH: AuthConfig = {
  apiKeys: [
    {
      name: "chat-only",
      secret: { kind: "inline", key: "sk-chat" },
      models: null,
      routes: ["/v1/chat/completions"],
      rateLimit: DEFAULTS,
    },
    {
      name: "all",
      secret: { kind: "inline", key: "sk-all" },
      models: null,
      routes: null,
      rateLimit: DEFAULTS,
    },
  ],
  adminKeys: [{ name: "ops", secret: { kind: "inline", key: "sk-ops" } }],
  publicMetrics: false,
};

function step(auth: AuthConfig = AUTH, publicMetrics = false) {
  return authenticate({ keys: KeyTable.fromConfig(auth, DEFAULTS), defaults: DEFAULTS, publicMetrics });
}

async function as(url: string, headers: Record<string, string>, s = step()) {
  const { ctx, response } = stepContext({ url, headers });
  const outcome = await runStep(s, ctx);
  return { outcome, access: ctx.access, response };
}

test("requirementOf: /health public, /metrics as configured, admin paths by prefix, the rest a key", () => {
  assert.equal(requirementOf("/health", false), "public");
  assert.equal(requirementOf("/metrics", false), "key");
  assert.equal(requirementOf("/metrics", true), "public");
  assert.equal(requirementOf("/admin/status", false), "admin");
  assert.equal(requirementOf("/admin", false), "admin");
  assert.equal(requirementOf("/upstream/m/slots", false), "admin");
  assert.equal(requirementOf("/administrator", false), "key");
  assert.equal(requirementOf("/v1/chat/completions", true), "key");
});

test("requirementOf: the dashboard's page is public, its data needs an admin key unless dashboard.public", () => {
  for (const path of ["/dashboard", "/dashboard/", "/dashboard/app.mjs", "/dashboard/vendor/uplot.mjs"])
    assert.equal(requirementOf(path, false), "public", path);
  assert.equal(requirementOf("/dashboard/api/config", false), "public");
  assert.equal(requirementOf("/dashboard/api/state", false), "admin");
  assert.equal(requirementOf("/dashboard/api/events", false), "admin");
  assert.equal(requirementOf("/dashboard/api/state", false, true), "public");
  assert.equal(requirementOf("/dashboardx", false, true), "key");
});

test("missing, malformed and wrong keys all get invalid_api_key with a WWW-Authenticate challenge", async () => {
  for (const headers of [
    {},
    { authorization: "sk-all" },
    { authorization: "Basic c2stYWxs" },
    { authorization: "Bearer wrong" },
    { "x-api-key": "wrong" },
  ]) {
    const { outcome, access, response } = await as("/v1/models", headers);
    assert.equal(outcome, "invalid_api_key", JSON.stringify(headers));
    assert.equal(access.kind, "none");
    assert.equal(response.headers["www-authenticate"], 'Bearer realm="llamawrapper"');
  }
});

test("Bearer and x-api-key both identify the key; access carries its name and limits", async () => {
  for (const headers of [{ authorization: "Bearer sk-all" }, { "x-api-key": "sk-all" }]) {
    const { outcome, access } = await as("/v1/models", headers);
    assert.equal(outcome, "passed");
    assert.equal(access.kind, "user");
    assert.equal(access.keyName, "all");
  }
});

test("route scope: a key limited to chat may not call other routes", async () => {
  const headers = { authorization: "Bearer sk-chat" };
  assert.equal((await as("/v1/chat/completions", headers)).outcome, "passed");
  assert.equal((await as("/v1/chat/completions?x=1", headers)).outcome, "passed");
  assert.equal((await as("/v1/completions", headers)).outcome, "forbidden");
  assert.equal((await as("/v1/models", headers)).outcome, "forbidden");
});

test("admin routes need an admin key; an admin key also opens the API", async () => {
  assert.equal((await as("/admin/status", { authorization: "Bearer sk-all" })).outcome, "forbidden");
  assert.equal((await as("/upstream/m/props", { authorization: "Bearer sk-all" })).outcome, "forbidden");
  assert.equal((await as("/admin/status", {})).outcome, "invalid_api_key");
  const admin = await as("/admin/status", { authorization: "Bearer sk-ops" });
  assert.equal(admin.outcome, "passed");
  assert.equal(admin.access.kind, "admin");
  assert.equal((await as("/v1/completions", { "x-api-key": "sk-ops" })).outcome, "passed");
});

test("/health needs no key (a wrong one does not matter); /metrics only when public", async () => {
  const health = await as("/health", { authorization: "Bearer wrong" });
  assert.equal(health.outcome, "passed");
  assert.equal(health.access.kind, "public");
  assert.equal((await as("/metrics", {})).outcome, "invalid_api_key");
  assert.equal((await as("/metrics", {}, step(AUTH, true))).outcome, "passed");
});

test("no keys configured: the gateway is open, with the default limits", async () => {
  const open = step({ apiKeys: [], adminKeys: [], publicMetrics: false });
  const { outcome, access } = await as("/v1/chat/completions", {}, open);
  assert.equal(outcome, "passed");
  assert.equal(access.kind, "open");
  assert.equal(access.keyName, null);
  assert.deepEqual(access.limits, DEFAULTS);
});
