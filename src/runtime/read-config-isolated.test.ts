import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatProblems } from "../config/format-problems.js";
import type { GatewayConfig } from "../config/types.js";
import { readConfigFile } from "./read-config.js";
import { readConfigIsolated } from "./read-config-isolated.js";

const ROOT = new URL("../../", import.meta.url);
const ENV = { HOME: "/home/test", LLW_KEY: "sk-from-the-environment-0001" };

/** A config that sets a bit of everything the resolution turns into nested values. */
const FULL = `
server: { host: 127.0.0.1, port: 9000, bodyLimit: 2MiB, headersTimeout: 5s }
logging: { level: warn }
auth:
  apiKeys:
    - { name: team, key: "\${env:LLW_KEY}", models: ["chat-*"] }
  adminKeys: [{ name: ops, key: sk-admin-key-0000000000001 }]
rateLimit: { requestsPerMinute: 600, burst: 20 }
cache: { enabled: true, maxEntries: 100 }
scheduler: { maxLoadedModels: 2 }
models:
  chat-small:
    cmd: ["node", "serve.js", "--port", "\${PORT}"]
    aliases: [small]
    ttl: 10m
    env: { A: "1" }
  chat-remote:
    upstreams: [{ url: "http://10.0.0.5:8080" }]
`;

/** Broken three ways: an unknown key (did-you-mean), a bad duration, an unset variable. */
const BROKEN = `
server: { hots: 127.0.0.1, headersTimeout: soon }
models:
  a:
    cmd: ["node", "\${env:NOT_SET_ANYWHERE}"]
`;

const SYNTAX = "models:\n  a: [unclosed\n  b: {";

describe("readConfigIsolated (the config worker) answers exactly what readConfigFile does", () => {
  let dir = "";
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "llw-config-worker-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: [string, () => string | null][] = [
    ["a valid config", () => file("full.yaml", FULL)],
    ["config.example.yaml", () => new URL("config.example.yaml", ROOT).pathname],
    ["schema problems (did-you-mean, durations, unset variables)", () => file("broken.yaml", BROKEN)],
    ["a YAML syntax error (line and column)", () => file("syntax.yaml", SYNTAX)],
    ["a missing file", () => join(dir, "missing.yaml")],
  ];
  for (const [name, path] of cases) {
    it(name, async () => {
      const at = path();
      const inProcess = await readConfigFile(at, ENV);
      const isolated = await readConfigIsolated(at, ENV);
      assert.deepStrictEqual(isolated, inProcess);
      if (!isolated.result.ok && !inProcess.result.ok)
        assert.equal(formatProblems(isolated.result.problems), formatProblems(inProcess.result.problems));
    });
  }

  it("a valid config comes back deeply frozen, with the caller's adjustment applied", async () => {
    const adjust = (config: GatewayConfig): GatewayConfig => ({
      ...config,
      server: { ...config.server, port: 1234 },
    });
    const loaded = await readConfigIsolated(file("adjust.yaml", FULL), ENV, { adjust });
    assert.ok(loaded.result.ok);
    const { config } = loaded.result;
    assert.equal(config.server.port, 1234);
    assert.ok(Object.isFrozen(config.server.requestLimits));
    assert.ok(Object.isFrozen(config.models["chat-small"]?.launch));
    assert.ok(Object.isFrozen(config.auth.apiKeys[0]));
    assert.equal(config.auth.apiKeys[0]?.name, "team");
  });

  it("a broken config's problems come back frozen", async () => {
    const loaded = await readConfigIsolated(file("frozen.yaml", BROKEN), ENV);
    assert.ok(!loaded.result.ok);
    assert.ok(Object.isFrozen(loaded.result.problems));
    assert.ok(Object.isFrozen(loaded.result.problems[0]));
  });
});

describe("the gateway's main isolate", () => {
  it("loads neither zod nor yaml to start serving (the config worker does)", () => {
    // A fresh process records every module the serve command and the shell resolve, statically.
    const hooks = `data:text/javascript,${encodeURIComponent(`
      let port;
      export function initialize(data) { port = data.port; }
      export async function resolve(specifier, context, next) {
        const resolved = await next(specifier, context);
        port.postMessage(resolved.url);
        return resolved;
      }`)}`;
    const script = `
      import { register } from "node:module";
      import { MessageChannel } from "node:worker_threads";
      const { port1, port2 } = new MessageChannel();
      const seen = [];
      port1.on("message", (url) => seen.push(url));
      port1.unref();
      register(${JSON.stringify(hooks)}, { data: { port: port2 }, transferList: [port2] });
      await import(${JSON.stringify(new URL("src/cli/commands/serve.ts", ROOT).href)});
      await import(${JSON.stringify(new URL("src/cli/commands/check.ts", ROOT).href)});
      await new Promise((resolve) => setTimeout(resolve, 200));
      console.log(JSON.stringify(seen));
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: new URL(".", ROOT),
      encoding: "utf8",
    });
    const seen = JSON.parse(out) as string[];
    assert.ok(
      seen.some((url) => url.endsWith("/src/main.ts")),
      "the recorder saw the serve command's modules",
    );
    const heavy = seen.filter(
      (url) => /\/node_modules\/(zod|yaml)\//.test(url) || /\/src\/config\/(schema|load)\.ts$/.test(url),
    );
    assert.deepEqual(heavy, []);
  });
});
