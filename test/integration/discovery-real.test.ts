/**
 * The flags discovery chooses, tried on the real llama-server (not through the gateway): a
 * split model loads from its first shard and answers, an embedding model started with its
 * discovered --embeddings --pooling answers /v1/embeddings. If llama.cpp changes how it finds
 * shards or names a flag, this fails before any gateway test does.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type DiscoveredModel, type Discovery, discoverModels } from "../../src/discovery/discover.js";
import { testAssets } from "../support/assets.js";
import { waitFor } from "../support/deadline.js";
import { freePort } from "../support/llama-server-process.js";
import { makeModelFolder } from "../support/model-folder.js";

const { llamaServer } = await testAssets();

let root = "";
let found: Discovery;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "discovery-real-"));
  const folder = await makeModelFolder(join(root, "models"));
  found = await discoverModels(folder.dir, { maxContext: 2048, memoryBudgetBytes: null });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const model = (id: string): DiscoveredModel =>
  found.models.find((m) => m.id === id) ?? assert.fail(`no discovered model ${id}`);

/** Starts llama-server as the gateway would (-m path ...args), kills it when the test ends. */
async function serve(t: test.TestContext, m: DiscoveredModel): Promise<string> {
  const port = await freePort();
  const argv = ["-m", m.path, "--host", "127.0.0.1", "--port", String(port), ...m.args];
  const child: ChildProcess = spawn(llamaServer, argv, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-6000);
  });
  const exited = once(child, "exit");
  t.after(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await exited;
  });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(
    `llama-server ${argv.join(" ")} to answer /health 200`,
    async () => {
      if (child.exitCode !== null) assert.fail(`llama-server exited with ${child.exitCode}:\n${stderr}`);
      const status = await fetch(`${base}/health`).then(
        (r) => r.status,
        () => 0, // not listening yet
      );
      return status === 200 ? true : undefined;
    },
    30_000,
    20,
  ).catch((error: Error) => assert.fail(`${error.message}\n${stderr}`));
  return base;
}

async function post(base: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  assert.equal(response.status, 200, `${path} answered ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

test("the split model loads from its first shard and answers", async (t) => {
  const big = model("big");
  assert.equal(big.shards.length, 2);
  assert.deepEqual(big.args, ["-c", "2048"]);
  const base = await serve(t, big);
  const props = (await fetch(`${base}/props`).then((r) => r.json())) as {
    default_generation_settings?: { n_ctx?: number };
  };
  assert.equal(props.default_generation_settings?.n_ctx, 2048, "the -c chosen is the context served");
  const reply = await post(base, "/v1/chat/completions", {
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 8,
    temperature: 0,
  });
  const choices = reply.choices as { message: { content: string } }[];
  assert.match(choices[0]?.message.content ?? "", /^ ?[a-z]+( [a-z]+)*$/);
});

test("the embedding model serves /v1/embeddings with its discovered pooling", async (t) => {
  const embed = model("embed");
  assert.deepEqual(embed.args, ["-c", "512", "--embeddings", "--pooling", "mean"]);
  const base = await serve(t, embed);
  const reply = await post(base, "/v1/embeddings", { input: ["hello world", "a different text"] });
  const [a = [], b = []] = (reply.data as { embedding: number[] }[]).map((d) => d.embedding);
  assert.equal(a.length, 64);
  assert.ok([...a, ...b].every(Number.isFinite));
  assert.notDeepEqual(a, b);
});

test("the truncated file is not offered", () => {
  assert.ok(!found.models.some((m) => m.id === "truncated"));
  assert.match(found.problems.map((p) => p.message).join("\n"), /^incomplete: /);
});
