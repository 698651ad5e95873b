import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { loadAssets } from "../../src/dashboard/assets.js";
import { type TestAssets, testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { childGroups, groupMembers } from "../support/process-tree.js";
import { type RunningRedis, redisServerMissing, startRedis } from "../support/redis-server.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const SCRIPT = join(ROOT, "scripts", "build-single-file.mjs");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
/** Bundling, the SEA blob and the injection take about 5 s on 2 cores. */
const BUILD_MS = 120_000;

const skip =
  process.platform === "linux" ? false : `single executables are built on Linux only (docs/single-file.md)`;
const redisMissing = redisServerMissing();
/**
 * The executable honours NODE_OPTIONS like node does (docs/single-file.md): a runner's
 * `--import tsx` there would make it look for tsx, so it runs without.
 */
const { NODE_OPTIONS: _nodeOptions, ...ENV } = process.env;

/** Runs a command to its end within `timeoutMs` (killed past it), with its output. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; timeoutMs: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `npm run build:single` (scripts/build-single-file.mjs, docs/single-file.md): the gateway as
 * one Node single executable, built into a temp folder, copied alone into an empty folder and
 * run from there, so nothing of this checkout (node_modules, dashboard/, package.json) is within
 * its reach. It serves the tiny model through the real llama-server, its embedded dashboard (the
 * same bytes the package serves) and, when redis-server is installed, the Redis response cache
 * (ioredis is bundled into it).
 */
describe("the single executable", { skip }, () => {
  let assets: TestAssets;
  let dir: string;
  let binary: string;
  let gateway: ChildProcess;
  let exited: Promise<number | null>;
  let output = "";
  let url: string;
  let redis: RunningRedis | null = null;

  before(async () => {
    assets = await testAssets();
    dir = mkdtempSync(join(tmpdir(), "llamawrapper-single-"));
    const built = await run(process.execPath, [SCRIPT, "--out", join(dir, "build")], {
      cwd: ROOT,
      timeoutMs: BUILD_MS,
    });
    assert.equal(built.code, 0, `${built.stdout}${built.stderr}`);
    assert.equal(built.stdout.split("\n")[0], join(dir, "build", "llamawrapper"));
    // One file to copy: the copy runs in a folder holding nothing else.
    mkdirSync(join(dir, "app"));
    binary = join(dir, "app", "llamawrapper");
    copyFileSync(join(dir, "build", "llamawrapper"), binary);
    rmSync(join(dir, "build"), { recursive: true });

    if (redisMissing === null) redis = await startRedis();
    const config = join(dir, "app", "config.yaml");
    writeFileSync(
      config,
      stringify({
        server: { host: "127.0.0.1", port: 0 },
        llamaServer: { binary: assets.llamaServer },
        kvCache: { dir: join(dir, "kv") },
        ...(redis === null ? {} : { cache: { redis: redis.url } }),
        models: { tiny: { model: assets.tinyModel, args: ["-c", "512", "-np", "1"] } },
      }),
    );
    gateway = spawn(binary, ["--config", config], {
      cwd: join(dir, "app"),
      env: ENV,
      stdio: ["ignore", "pipe", "pipe"],
    });
    exited = new Promise((resolve) => gateway.once("exit", (code) => resolve(code)));
    const keep = (chunk: Buffer) => {
      output += chunk.toString("utf8");
    };
    gateway.stdout?.on("data", keep);
    gateway.stderr?.on("data", keep);
    url = await waitFor(
      "the single executable to listen",
      () => {
        if (gateway.exitCode !== null) throw new Error(`it exited with ${gateway.exitCode}:\n${output}`);
        return /listening on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
      },
      20_000,
    );
  });

  after(async () => {
    if (gateway !== undefined) {
      const groups = childGroups(gateway.pid ?? 0);
      if (gateway.exitCode === null) gateway.kill("SIGTERM");
      const timer = setTimeout(() => gateway.kill("SIGKILL"), 15_000);
      const code = await exited;
      clearTimeout(timer);
      assert.equal(code, 0, output.slice(-3000));
      await waitFor("llama-server to be gone", () => (groupMembers(groups).length === 0 ? true : undefined));
    }
    await redis?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test("is one executable file that prints the package's version and its help", () => {
    assert.ok(statSync(binary).mode & 0o111, "executable");
    const version = spawnSync(binary, ["--version"], {
      cwd: dir,
      env: ENV,
      encoding: "utf8",
      timeout: 10_000,
    });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout, `${VERSION}\n`);
    assert.equal(version.stderr, "", "no experimental warning");
    const help = spawnSync(binary, ["--help"], { cwd: dir, env: ENV, encoding: "utf8", timeout: 10_000 });
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Exit codes:/);
    assert.equal(spawnSync(binary, ["bogus"], { cwd: dir, env: ENV, timeout: 10_000 }).status, 2);
  });

  test("serves a chat completion through the real llama-server", async () => {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "tiny",
        messages: [{ role: "user", content: "single file" }],
        max_tokens: 8,
        temperature: 0,
      }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const json = JSON.parse(body) as { choices: Array<{ message: { content: string } }> };
    assert.match(json.choices[0]?.message.content ?? "", /[a-z]/);
  });

  test("serves the dashboard from its embedded files, the same bytes the package serves", async () => {
    const page = await fetch(`${url}/dashboard`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await page.text(), /<script type="module"/);
    const expected = loadAssets();
    assert.ok(expected.has("/dashboard/vendor/htm-preact.mjs"));
    for (const [path, asset] of expected) {
      const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get("content-type"), asset.type, path);
      assert.ok(
        Buffer.from(await res.arrayBuffer()).equals(asset.body),
        `${path} differs from the package's`,
      );
    }
  });

  test("shares the response cache through Redis (ioredis is in the bundle)", {
    skip: redisMissing ?? false,
  }, async () => {
    const ask = async () => {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: "tiny",
          messages: [{ role: "user", content: "single file, cached" }],
          max_tokens: 8,
          temperature: 0,
        }),
        signal: AbortSignal.timeout(30_000),
      });
      assert.equal(res.status, 200);
      await res.arrayBuffer();
      return res.headers.get("x-cache");
    };
    assert.equal(await ask(), "MISS");
    const raw = new Redis(redis?.url ?? "");
    try {
      await waitFor("the answer in Redis", async () =>
        (await raw.keys("llamawrapper:cache:*")).length > 0 ? true : undefined,
      );
    } finally {
      raw.disconnect();
    }
    assert.equal(await ask(), "HIT");
  });
});
