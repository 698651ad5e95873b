import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type Json, postJson } from "../fixtures/fake/client.js";
import { admin, pidsOf } from "../support/admin-client.js";
import { waitFor } from "../support/deadline.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { type ModelFolder, makeModelFolder } from "../support/model-folder.js";
import { waitGone } from "../support/process-tree.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * Zero config: `llamawrapper --models-dir DIR` serves a folder of generated tiny models (chat,
 * embedding with pooling metadata, split, no template, truncated) through the real llama-server.
 */
const ROOT = new URL("../../", import.meta.url).pathname;
const BIN = join(ROOT, "src/cli/bin.ts");
let folder: ModelFolder;
let gateway: RunningGateway;

before(async () => {
  folder = await makeModelFolder(await mkdtemp(join(tmpdir(), "llamawrapper-models-")));
  gateway = await startGateway(
    {},
    { noConfig: true, extraArgs: ["--models-dir", folder.dir, "--port", "0", "--watch"] },
  );
});
after(async () => stopClean(gateway));

async function listed(): Promise<Json[]> {
  return ((await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: Json[] }).data;
}

function argvOf(pid: number): string[] {
  return spawnSync("cat", [`/proc/${pid}/cmdline`], { encoding: "utf8" }).stdout.split("\0");
}

test("the folder serves the right set: chat, embed, split, plain; the truncated file is reported and skipped", async () => {
  const ids = (await listed()).map((m) => m.id).sort();
  assert.deepEqual(ids, ["big", "chat", "embed", "plain"]);
  const chat = (await listed()).find((m) => m.id === "chat") as Json;
  assert.equal(chat.source, "models-dir");
  assert.equal(chat.file, "chat.gguf");
  assert.equal(typeof chat.context_length, "number");
  assert.match(gateway.output(), /skipped .*truncated\.gguf: incomplete/);
  assert.match(gateway.output(), /no chat template/, "the model without a template is served with a warning");
});

test("each model runs with the flags its metadata calls for (argv of the child), and embeddings work", async () => {
  const res = await postJson(gateway.url, "/v1/embeddings", { model: "embed", input: "hello" });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { data: Array<{ embedding: number[] }> };
  assert.ok((body.data[0]?.embedding.length ?? 0) > 0);
  const [embedPid] = await pidsOf(gateway, "embed");
  const embedArgv = argvOf(embedPid as number).join(" ");
  assert.match(embedArgv, /--embeddings --pooling mean/);
  assert.match(embedArgv, /-c 512/);

  const chat = await postJson(gateway.url, "/v1/chat/completions", {
    model: "big",
    messages: [{ role: "user", content: "hi" }],
    max_tokens: 4,
  });
  assert.equal(chat.status, 200, "the split model answers from its first shard");
  await chat.arrayBuffer();
  const [bigPid] = await pidsOf(gateway, "big");
  assert.match(argvOf(bigPid as number).join(" "), /big-00001-of-00002\.gguf/);
});

test("a file added while running becomes a model (--watch), a removed one stops", async () => {
  await copyFile(folder.chat, join(folder.dir, "added.gguf"));
  await waitFor(
    "the added model to appear",
    async () => ((await listed()).some((m) => m.id === "added") ? true : undefined),
    15_000,
    200,
  );
  const [plainPid] = await (async () => {
    const res = await postJson(gateway.url, "/v1/completions", {
      model: "plain",
      prompt: "a",
      max_tokens: 2,
    });
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    return pidsOf(gateway, "plain");
  })();
  await rm(folder.plain);
  await waitFor(
    "the removed model to go",
    async () => ((await listed()).some((m) => m.id === "plain") ? undefined : true),
    15_000,
    200,
  );
  await waitGone("its child", plainPid);
  const status = await admin(gateway, "GET", "/admin/status");
  assert.ok(status.body.config.generation >= 3);
});

test("POST /admin/reload picks up a new file at once; check --models-dir names the files it skips", async () => {
  await copyFile(folder.chat, join(folder.dir, "reloaded.gguf"));
  const reload = await admin(gateway, "POST", "/admin/reload");
  assert.equal(reload.status, 200, JSON.stringify(reload.body));
  assert.ok(
    (await listed()).some((m) => m.id === "reloaded"),
    "available as soon as the reload answered",
  );
  const check = spawnSync(process.execPath, ["--import", "tsx", BIN, "check", "--models-dir", folder.dir], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  assert.match(check.stdout, /^skipped .*truncated\.gguf: incomplete/m);
  assert.match(check.stdout, /ok \(\d+ models: /);
});

test("a models folder that does not exist is a config problem, not a crash", () => {
  const missing = join(folder.dir, "no-such-folder");
  const check = spawnSync(process.execPath, ["--import", "tsx", BIN, "check", "--models-dir", missing], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(check.status, 3, check.stdout + check.stderr);
  assert.match(
    check.stdout + check.stderr,
    /discovery\.dir: cannot read the models folder .*no-such-folder \(ENOENT\)/,
  );
  assert.doesNotMatch(check.stderr, /\n\s+at /, "no stack trace");
});

test("init writes a config that check accepts and that serves the same set", async () => {
  const out = join(await mkdtemp(join(tmpdir(), "llamawrapper-init-")), "config.yaml");
  const init = spawnSync(
    process.execPath,
    ["--import", "tsx", BIN, "init", "--models-dir", folder.dir, "--out", out],
    {
      cwd: ROOT,
      encoding: "utf8",
      timeout: 30_000,
    },
  );
  assert.equal(init.status, 0, init.stderr);
  const text = await readFile(out, "utf8");
  assert.match(text, /# .*embedding/i, "each choice says why");
  assert.match(text, /--embeddings/);
  const check = spawnSync(process.execPath, ["--import", "tsx", BIN, "check", "--config", out], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const served = await startGateway({}, { configFile: out, extraArgs: ["--port", "0"] });
  try {
    const ids = ((await (await fetch(`${served.url}/v1/models`)).json()) as { data: Json[] }).data.map(
      (m) => m.id,
    );
    assert.deepEqual(ids.sort(), (await listed()).map((m) => m.id).sort());
  } finally {
    await stopClean(served);
  }
});
