// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests feed literal ${env:…} and ${PORT} placeholders.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DEFAULT_STREAM_RATE } from "../http/handle-request.js";
import { DEFAULT_REQUEST_LIMITS } from "../http/routes/request-shape.js";
import { connectionsAllowedBy, readDescriptorLimit } from "../util/descriptor-limit.js";
import { formatProblems } from "./format-problems.js";
import { loadConfig, parseConfig } from "./load.js";
import type { ConfigResult, GatewayConfig } from "./types.js";

const options = { baseDir: "/srv/llw", env: {}, source: null, checkFiles: false } as const;
const AUTO_CONNECTIONS = connectionsAllowedBy(readDescriptorLimit());

function configOf(result: ConfigResult): GatewayConfig {
  if (!result.ok) assert.fail(`expected a valid config, got:\n${formatProblems(result.problems)}`);
  return result.config;
}

function problemsOf(result: ConfigResult): string {
  if (result.ok) assert.fail("expected problems, got a valid config");
  return formatProblems(result.problems);
}

test("a minimal config gets every default", () => {
  const config = configOf(parseConfig("models:\n  qwen:\n    model: qwen.gguf\n", options));
  assert.deepEqual(config, {
    source: null,
    server: {
      host: "127.0.0.1",
      port: 8080,
      bodyLimitBytes: 10 * 1024 * 1024,
      headersTimeoutMs: 20_000,
      shutdownTimeoutMs: 30_000,
      upstreamPassthrough: false,
      requestTimeoutMs: 60_000,
      maxHeaderBytes: 16 * 1024,
      // auto: what this process's open-file limit allows.
      maxConnections: AUTO_CONNECTIONS,
      maxConnectionsPerClient: Math.floor(AUTO_CONNECTIONS / 2),
      maxResponseBufferBytes: 16 * 1024 * 1024,
      // The http layer's fallback when it is given no limits must be the schema's defaults.
      requestLimits: DEFAULT_REQUEST_LIMITS,
      firstByteTimeoutMs: 600_000,
      streamIdleTimeoutMs: 300_000,
      minStreamRate: DEFAULT_STREAM_RATE,
      trustProxy: 0,
      allowedHosts: [],
    },
    llamaServer: { binary: null, sockets: true },
    scheduler: {
      maxLoadedModels: 2,
      memoryBudgetBytes: null,
      memoryBudgetAuto: false,
      memoryMarginBytes: 1024 ** 3,
      coolDownMs: 30_000,
      maxCoolDownMs: 600_000,
      swapDelayMs: 10_000,
    },
    logging: { level: "info", file: null },
    cache: {
      enabled: true,
      maxEntries: 10_000,
      maxBytes: 64 * 1024 ** 2,
      maxEntryBytes: 1024 ** 2,
      ttlMs: 600_000,
      redis: null,
    },
    kvCache: { enabled: true, dir: null, maxBytes: 4 * 1024 ** 3, saveTimeoutMs: 5_000 },
    upstreamHealth: {
      intervalMs: 5_000,
      timeoutMs: 2_000,
      fall: 3,
      rise: 2,
      ejectAfter: 5,
      ejectTimeMs: 30_000,
      maxEjectTimeMs: 300_000,
    },
    sla: { ttftMs: null, latencyMs: null, availability: 0.99, windowMs: 3_600_000 },
    history: { size: 1000, file: null, maxFileBytes: 16 * 1024 ** 2 },
    dashboard: { enabled: true, public: false },
    cors: {
      origins: [],
      methods: ["GET", "POST"],
      headers: ["*"],
      exposeHeaders: [
        "x-request-id",
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-cache",
        "x-gateway-route",
      ],
      credentials: false,
      maxAgeSeconds: 600,
    },
    auth: { apiKeys: [], adminKeys: [], publicMetrics: false },
    rateLimit: { requestsPerMinute: null, tokensPerMinute: null, burst: 20, redis: null },
    discovery: { dir: null, maxContext: 8192 },
    defaultModel: null,
    models: {
      qwen: {
        id: "qwen",
        launch: { kind: "model", model: "/srv/llw/qwen.gguf", args: [] },
        aliases: [],
        unlistedAliases: [],
        instances: 1,
        upstreams: [],
        startupTimeoutMs: 120_000,
        stopTimeoutMs: 10_000,
        env: {},
        ownedBy: "llamawrapper",
        pinned: false,
        preload: false,
        ttlMs: null,
        maxConcurrent: 4,
        maxQueue: 512,
        queueTimeoutMs: 60_000,
        firstByteTimeoutMs: 600_000,
        memoryBytes: null,
        cache: true,
        metrics: false,
        affinity: true,
        llamaSlots: 4,
        kvCache: true,
        sla: { ttftMs: null, latencyMs: null, availability: 0.99, windowMs: 3_600_000 },
        discoveredFrom: null,
      },
    },
  });
});

test("scheduling keys: per-model overrides, -np as the slot count, scheduler defaults for the queue", () => {
  const text = `
scheduler: { memoryBudget: 20GiB, maxQueue: 7, queueTimeout: 5s }
models:
  a: { model: a.gguf, args: ["-np", "3"], ttl: 10m, pinned: true, preload: true, memory: 2GiB }
  b: { model: b.gguf, args: ["--parallel=6"], maxQueue: 1, queueTimeout: 1s, maxConcurrent: 2 }
`;
  const config = configOf(parseConfig(text, options));
  assert.equal(config.scheduler.memoryBudgetBytes, 20 * 1024 ** 3);
  const { a, b } = config.models;
  assert.deepEqual(
    [a?.maxConcurrent, a?.ttlMs, a?.pinned, a?.preload, a?.memoryBytes, a?.maxQueue, a?.queueTimeoutMs],
    [3, 600_000, true, true, 2 * 1024 ** 3, 7, 5_000],
  );
  assert.deepEqual([b?.maxConcurrent, b?.maxQueue, b?.queueTimeoutMs], [2, 1, 1_000]);
  for (const [model, path] of [
    ["{ model: a.gguf, ttl: soon }", "models.a.ttl"],
    ["{ model: a.gguf, args: [--alias, x] }", "models.a.args.0"],
  ]) {
    const bad = parseConfig(`models:\n  a: ${model}\n`, options);
    assert.deepEqual(bad.ok ? [] : bad.problems.map((p) => p.path), [path]);
  }
});

test("given values are converted: durations to ms, sizes to bytes, numbers in argv and env to strings", () => {
  const text = `
server: { host: 0.0.0.0, port: 0, bodyLimit: 1GB, headersTimeout: 1500, shutdownTimeout: 1m30s }
scheduler: { maxLoadedModels: 5 }
logging: { level: debug }
defaultModel: mini
models:
  qwen:
    model: /abs/qwen.gguf
    args: ["-c", 4096]
    aliases: [mini]
    instances: 3
    startupTimeout: 3m
    stopTimeout: 0
    env: { CUDA_VISIBLE_DEVICES: 0, FLAG: true }
    ownedBy: me
`;
  const config = configOf(parseConfig(text, options));
  assert.deepEqual(config.server, {
    host: "0.0.0.0",
    port: 0,
    bodyLimitBytes: 1_000_000_000,
    headersTimeoutMs: 1500,
    shutdownTimeoutMs: 90_000,
    upstreamPassthrough: false,
    requestTimeoutMs: 60_000,
    maxHeaderBytes: 16 * 1024,
    maxConnections: AUTO_CONNECTIONS,
    maxConnectionsPerClient: Math.floor(AUTO_CONNECTIONS / 2),
    maxResponseBufferBytes: 16 * 1024 * 1024,
    requestLimits: DEFAULT_REQUEST_LIMITS,
    firstByteTimeoutMs: 600_000,
    streamIdleTimeoutMs: 300_000,
    minStreamRate: DEFAULT_STREAM_RATE,
    trustProxy: 0,
    allowedHosts: [],
  });
  assert.equal(config.scheduler.maxLoadedModels, 5);
  assert.equal(config.logging.level, "debug");
  assert.equal(config.defaultModel, "mini");
  const qwen = config.models.qwen;
  assert.deepEqual(qwen?.launch, { kind: "model", model: "/abs/qwen.gguf", args: ["-c", "4096"] });
  assert.deepEqual(qwen?.env, { CUDA_VISIBLE_DEVICES: "0", FLAG: "true" });
  assert.equal(qwen?.instances, 3);
  assert.equal(qwen?.startupTimeoutMs, 180_000);
  assert.equal(qwen?.stopTimeoutMs, 0);
  assert.equal(qwen?.ownedBy, "me");
});

test("the resolved config is deeply frozen", () => {
  const text = "models:\n  a:\n    model: a.gguf\n    args: [-c, '1']\n    aliases: [b]\n    env: { X: y }\n";
  const config = configOf(parseConfig(text, options));
  const a = config.models.a;
  assert.ok(a);
  for (const value of [
    config,
    config.server,
    config.llamaServer,
    config.models,
    a,
    a.launch,
    a.aliases,
    a.env,
  ]) {
    assert.ok(Object.isFrozen(value));
  }
  assert.ok(a.launch.kind === "model" && Object.isFrozen(a.launch.args));
  assert.throws(() => {
    (config.server as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => {
    (a.aliases as string[]).push("c");
  }, TypeError);
});

test("YAML syntax errors and duplicate keys are problems with line:col", () => {
  assert.match(problemsOf(parseConfig("models:\n  a: [1,\n b: 2\n", options)), /^\d+:\d+: /);
  assert.equal(
    problemsOf(parseConfig("models:\n  a:\n    model: x.gguf\n    model: y.gguf\n", options)),
    "4:5: Map keys must be unique",
  );
});

test("__proto__ keys are rejected wherever they are, instead of silently vanishing", () => {
  const text = "models:\n  __proto__: { model: p.gguf }\n  a: { model: a.gguf, env: { __proto__: x } }\n";
  assert.equal(
    problemsOf(parseConfig(text, options)),
    [
      "models.__proto__: __proto__ is not allowed as a key",
      "models.a.env.__proto__: __proto__ is not allowed as a key",
    ].join("\n"),
  );
});

test("an empty file or a non-mapping is a problem, not a crash", () => {
  assert.match(problemsOf(parseConfig("", options)), /config is empty/);
  assert.match(problemsOf(parseConfig("# just a comment\n", options)), /config is empty/);
  assert.match(problemsOf(parseConfig("- a\n- b\n", options)), /expected object, received array/);
});

test("environment references are substituted before validation, and a missing one is reported once", () => {
  const text = "models:\n  qwen:\n    model: ${env:MODELS}/q.gguf\n    startupTimeout: ${env:T:-90s}\n";
  const config = configOf(parseConfig(text, { ...options, env: { MODELS: "/data" } }));
  const qwen = config.models.qwen;
  assert.deepEqual(qwen?.launch, { kind: "model", model: "/data/q.gguf", args: [] });
  assert.equal(qwen?.startupTimeoutMs, 90_000);

  // Unset T would also be an invalid duration; only the cause is reported.
  const missing = "models:\n  qwen:\n    model: q.gguf\n    startupTimeout: ${env:T}\n";
  assert.equal(
    problemsOf(parseConfig(missing, options)),
    "models.qwen.startupTimeout: environment variable T is not set",
  );
});

test("loadConfig reads the file and resolves paths against its folder", async () => {
  const dir = mkdtempSync(join(tmpdir(), "llw-config-"));
  writeFileSync(join(dir, "tiny.gguf"), "GGUF");
  const path = join(dir, "config.yaml");
  writeFileSync(path, "models:\n  tiny:\n    model: ./tiny.gguf\n");
  const config = configOf(await loadConfig(path, {}));
  assert.equal(config.source, path);
  assert.deepEqual(config.models.tiny?.launch, { kind: "model", model: join(dir, "tiny.gguf"), args: [] });
});

test("loadConfig checks files by default", async () => {
  const dir = mkdtempSync(join(tmpdir(), "llw-config-"));
  const path = join(dir, "config.yaml");
  writeFileSync(path, "models:\n  tiny:\n    model: ./missing.gguf\n");
  assert.equal(problemsOf(await loadConfig(path, {})), "models.tiny.model: file not found: ./missing.gguf");
});

test("an unreadable config file is one problem with path ''", async () => {
  const dir = mkdtempSync(join(tmpdir(), "llw-config-"));
  const result = await loadConfig(join(dir, "nope.yaml"), {});
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.problems.length, 1);
  assert.equal(result.problems[0]?.path, "");
  assert.match(result.problems[0]?.message ?? "", /^cannot read config file .*nope\.yaml: .*ENOENT/);
  const unreadable = join(dir, "secret.yaml");
  writeFileSync(unreadable, "models: {}\n");
  chmodSync(unreadable, 0o000);
  // root reads anything; the check only means something for other users.
  if (process.getuid?.() !== 0) assert.match(problemsOf(await loadConfig(unreadable, {})), /EACCES/);
});

test("a clashing alias is reported together with the shape mistakes, not after they are fixed", () => {
  const text = [
    "scheduler: { maxLoadedModel: 3 }",
    "models:",
    "  a: { model: a.gguf, aliases: [x], queueTimeout: soon }",
    "  b: { model: b.gguf, aliases: [x] }",
  ].join("\n");
  const result = parseConfig(text, { baseDir: "/tmp", env: {}, source: null, checkFiles: false });
  assert.equal(result.ok, false);
  const paths = result.ok ? [] : result.problems.map((problem) => problem.path);
  assert.ok(paths.includes("scheduler.maxLoadedModel"), paths.join(", "));
  assert.ok(paths.includes("models.a.queueTimeout"), paths.join(", "));
  assert.ok(paths.includes("models.b.aliases.0"), paths.join(", "));
});

test("memoryBudget: auto is resolved at start from the GPUs, not in the config", () => {
  const result = parseConfig(
    "scheduler: { memoryBudget: auto, memoryMargin: 2GiB }\nmodels: { a: { model: a.gguf } }",
    {
      baseDir: "/tmp",
      env: {},
      source: null,
      checkFiles: false,
    },
  );
  assert.ok(result.ok);
  assert.equal(result.config.scheduler.memoryBudgetAuto, true);
  assert.equal(result.config.scheduler.memoryBudgetBytes, null);
  assert.equal(result.config.scheduler.memoryMarginBytes, 2 * 1024 ** 3);
  const bad = parseConfig("scheduler: { memoryBudget: lots }\nmodels: { a: { model: a.gguf } }", {
    baseDir: "/tmp",
    env: {},
    source: null,
    checkFiles: false,
  });
  assert.equal(bad.ok, false);
});
