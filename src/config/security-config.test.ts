import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { formatProblems } from "./format-problems.js";
import { parseConfig } from "./load.js";
import type { ConfigResult, GatewayConfig } from "./types.js";

const options = { baseDir: "/srv/llw", env: {}, source: null, checkFiles: false } as const;
const MODELS = "models:\n  small: { model: s.gguf, aliases: [gpt-4o-mini] }\n  big: { model: b.gguf }\n";

function configOf(result: ConfigResult): GatewayConfig {
  if (!result.ok) assert.fail(`expected a valid config, got:\n${formatProblems(result.problems)}`);
  return result.config;
}

function problemsOf(result: ConfigResult): Array<{ path: string; message: string }> {
  if (result.ok) assert.fail("expected problems, got a valid config");
  return result.problems.map(({ path, message }) => ({ path, message }));
}

test('cors: origin "*" with credentials is refused at load, with its path', () => {
  const problems = problemsOf(parseConfig(`cors: { origins: ["*"], credentials: true }\n${MODELS}`, options));
  assert.deepEqual(
    problems.map((p) => p.path),
    ["cors.credentials"],
  );
  assert.match(problems[0]?.message ?? "", /any web page/);
  // Listed origins with credentials are fine; so is * without them.
  configOf(parseConfig(`cors: { origins: ["https://a.example"], credentials: true }\n${MODELS}`, options));
  configOf(parseConfig(`cors: { origins: ["*"] }\n${MODELS}`, options));
});

test("cors: an origin with a path, or without a scheme, is refused", () => {
  for (const origin of ["https://a.example/", "a.example", "https://a.example/x"]) {
    const problems = problemsOf(parseConfig(`cors: { origins: ["${origin}"] }\n${MODELS}`, options));
    assert.deepEqual(
      problems.map((p) => p.path),
      ["cors.origins.0"],
      origin,
    );
  }
});

test("auth.apiKeys: plain strings, named keys with scopes and limits, key files; names for logs", () => {
  const text = `
rateLimit: { requestsPerMinute: 60, tokensPerMinute: 10000, burst: 10 }
auth:
  apiKeys:
    - sk-plain
    - { name: alice, key: sk-alice, models: [small, "gpt-*"], routes: ["/v1/chat/*"], rateLimit: { requestsPerMinute: 5, tokensPerMinute: null } }
    - { name: bob, keyFile: keys/bob.txt }
  adminKeys: [sk-admin, { name: ops, keyFile: /etc/ops.key }]
  publicMetrics: true
${MODELS}`;
  const { auth, rateLimit } = configOf(parseConfig(text, options));
  const defaults = { requestsPerMinute: 60, tokensPerMinute: 10_000, burst: 10 };
  assert.deepEqual(rateLimit, { ...defaults, redis: null });
  assert.deepEqual(auth.apiKeys, [
    {
      name: "apiKeys[0]",
      secret: { kind: "inline", key: "sk-plain" },
      models: null,
      routes: null,
      rateLimit: defaults,
    },
    {
      name: "alice",
      secret: { kind: "inline", key: "sk-alice" },
      models: ["small", "gpt-*"],
      routes: ["/v1/chat/*"],
      rateLimit: { requestsPerMinute: 5, tokensPerMinute: null, burst: 10 },
    },
    {
      name: "bob",
      secret: { kind: "file", path: "/srv/llw/keys/bob.txt" },
      models: null,
      routes: null,
      rateLimit: defaults,
    },
  ]);
  assert.deepEqual(auth.adminKeys, [
    { name: "adminKeys[0]", secret: { kind: "inline", key: "sk-admin" } },
    { name: "ops", secret: { kind: "file", path: "/etc/ops.key" } },
  ]);
  assert.equal(auth.publicMetrics, true);
});

test("auth shape mistakes are reported by path and never quote a key", () => {
  const text = `
auth:
  apiKeys:
    - "sk with space"
    - { name: d, key: sk-d, keyFile: d.txt }
    - { name: "bad name!", key: sk-f }
    - { name: g }
${MODELS}`;
  const problems = problemsOf(parseConfig(text, options));
  assert.deepEqual(
    problems.map((p) => p.path),
    ["auth.apiKeys.0", "auth.apiKeys.1", "auth.apiKeys.2.name", "auth.apiKeys.3"],
  );
  const shown = JSON.stringify(problems);
  for (const secret of ["sk-d", "sk-f", "sk with space"]) assert.ok(!shown.includes(secret), secret);
});

test("auth rules: names unique, a key listed once, a model scope that matches no model is a typo", () => {
  const text = `
auth:
  apiKeys:
    - { name: a, key: sk-dup }
    - { name: a, key: sk-other }
    - { name: c, key: sk-dup }
    - { name: e, key: sk-e, models: [smal, "gpt-*"] }
  adminKeys: [sk-other]
${MODELS}`;
  const problems = problemsOf(parseConfig(text, options));
  assert.deepEqual(
    problems.map((p) => p.path),
    ["auth.apiKeys.1.name", "auth.apiKeys.2", "auth.adminKeys.0", "auth.apiKeys.3.models.0"],
  );
  const shown = JSON.stringify(problems);
  for (const secret of ["sk-dup", "sk-other"]) assert.ok(!shown.includes(secret), secret);
});

test("a key file is checked when files are: missing and empty files are problems", () => {
  const dir = mkdtempSync(join(tmpdir(), "lw-keys-"));
  try {
    writeFileSync(join(dir, "good.key"), "sk-from-file\n# comment\n");
    writeFileSync(join(dir, "empty.key"), "\n");
    writeFileSync(join(dir, "s.gguf"), "");
    writeFileSync(join(dir, "b.gguf"), "");
    const text = `auth:\n  apiKeys:\n    - { name: a, keyFile: good.key }\n    - { name: b, keyFile: empty.key }\n    - { name: c, keyFile: nope.key }\n${MODELS}`;
    const problems = problemsOf(parseConfig(text, { ...options, baseDir: dir, checkFiles: true }));
    assert.deepEqual(
      problems.map((p) => p.path),
      ["auth.apiKeys.1.keyFile", "auth.apiKeys.2.keyFile"],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("server traffic keys: requestTimeout never below headersTimeout; allowedHosts in lower case", () => {
  const text = `server: { headersTimeout: 30s, requestTimeout: 10s, maxHeaderSize: 1KiB, maxConnections: 3, firstByteTimeout: 2s, streamIdleTimeout: 1500, trustProxy: 1, allowedHosts: [GW.Example] }\n${MODELS}`;
  const { server } = configOf(parseConfig(text, options));
  assert.equal(server.requestTimeoutMs, 30_000);
  assert.equal(server.maxHeaderBytes, 1024);
  assert.equal(server.maxConnections, 3);
  assert.equal(server.maxConnectionsPerClient, 3, "never above maxConnections");
  assert.equal(server.firstByteTimeoutMs, 2_000);
  assert.equal(server.streamIdleTimeoutMs, 1_500);
  assert.equal(server.trustProxy, 1);
  assert.deepEqual(server.allowedHosts, ["gw.example"]);
});

test("connection caps: auto follows the open-file limit; the per-client default depends on trustProxy", () => {
  const auto = configOf(parseConfig(MODELS, options)).server;
  assert.ok(auto.maxConnections >= 64 && auto.maxConnections <= 16_384);
  assert.equal(auto.maxConnectionsPerClient, Math.floor(auto.maxConnections / 2));
  const proxied = configOf(
    parseConfig(`server: { maxConnections: 1000, trustProxy: 1 }\n${MODELS}`, options),
  );
  assert.equal(
    proxied.server.maxConnectionsPerClient,
    1000,
    "behind a proxy every connection is the proxy's",
  );
  const own = configOf(
    parseConfig(
      `server: { maxConnections: 1000, maxConnectionsPerClient: 10, trustProxy: 1 }\n${MODELS}`,
      options,
    ),
  );
  assert.equal(own.server.maxConnectionsPerClient, 10);
  const problems = problemsOf(parseConfig(`server: { maxConnections: lots }\n${MODELS}`, options));
  assert.deepEqual(
    problems.map((p) => p.path),
    ["server.maxConnections"],
  );
});

test("minStreamRate: a size per second over streamRateWindow; null turns it off", () => {
  const set = configOf(
    parseConfig(`server: { minStreamRate: 4KiB, streamRateWindow: 5s }\n${MODELS}`, options),
  );
  assert.deepEqual(set.server.minStreamRate, { bytesPerSecond: 4096, windowMs: 5_000 });
  const off = configOf(parseConfig(`server: { minStreamRate: null }\n${MODELS}`, options));
  assert.equal(off.server.minStreamRate.bytesPerSecond, 0);
});

test("firstByteTimeout: a model's own overrides server.firstByteTimeout", () => {
  const text = `server: { firstByteTimeout: 90s }\nmodels:\n  a: { model: a.gguf, firstByteTimeout: 5s }\n  b: { model: b.gguf }\n`;
  const { models, server } = configOf(parseConfig(text, options));
  assert.equal(server.firstByteTimeoutMs, 90_000);
  assert.equal(models.a?.firstByteTimeoutMs, 5_000);
  assert.equal(models.b?.firstByteTimeoutMs, 90_000);
});

test("rateLimit.redis must be a redis URL", () => {
  const problems = problemsOf(parseConfig(`rateLimit: { redis: "localhost:6379" }\n${MODELS}`, options));
  assert.deepEqual(
    problems.map((p) => p.path),
    ["rateLimit.redis"],
  );
  const ok = configOf(parseConfig(`rateLimit: { redis: "redis://127.0.0.1:6379/0" }\n${MODELS}`, options));
  assert.equal(ok.rateLimit.redis, "redis://127.0.0.1:6379/0");
});
