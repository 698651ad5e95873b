import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { parse, stringify } from "yaml";
import { type Json, postJson, readAll, sseData } from "../fixtures/fake/client.js";
import { admin, modelStatus, pidsOf } from "../support/admin-client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { waitGone } from "../support/process-tree.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * Hot reload against the real gateway and fake llama-servers: only what changed is touched,
 * changed models are replaced blue/green under running streams, a bad file changes nothing.
 */
let gateway: RunningGateway | undefined;
afterEach(async () => {
  if (gateway !== undefined) await stopClean(gateway);
  gateway = undefined;
});

const SLOW = ["--fake-tokens", "40", "--fake-token-delay-ms", "25"];

async function start(
  config: Record<string, unknown>,
  options: { watch?: boolean } = {},
): Promise<RunningGateway> {
  gateway = await startGateway(config, options.watch ? { extraArgs: ["--watch"] } : {});
  return gateway;
}

/** Rewrites the gateway's config file through `change` (server section kept). */
function editConfig(g: RunningGateway, change: (config: Json) => void): void {
  const path = join(g.dir, "config.yaml");
  const config = parse(readFileSync(path, "utf8")) as Json;
  change(config);
  writeFileSync(path, stringify(config));
}

function chat(g: RunningGateway, model: string, extra: Record<string, unknown> = {}) {
  return postJson(g.url, "/v1/chat/completions", {
    model,
    messages: [{ role: "user", content: "hi" }],
    ...extra,
  });
}

test("a reload that changes one model's args replaces only it, blue/green, while streams on both models complete", async () => {
  const g = await start({
    scheduler: { maxLoadedModels: 4 },
    models: { a: { cmd: fakeCmd(...SLOW) }, b: { cmd: fakeCmd(...SLOW) } },
  });
  const [onA, onB] = await Promise.all([chat(g, "a", { stream: true }), chat(g, "b", { stream: true })]);
  assert.equal(onA.status, 200);
  assert.equal(onB.status, 200);
  const readingA = readAll(onA);
  const readingB = readAll(onB);
  const [pidA] = await pidsOf(g, "a");
  const [pidB] = await pidsOf(g, "b");
  editConfig(g, (config) => {
    config.models.b.cmd = fakeCmd(...SLOW, "--fake-load-ms", "100");
  });
  const reload = await admin(g, "POST", "/admin/reload");
  assert.equal(reload.status, 200, JSON.stringify(reload.body));
  assert.deepEqual(reload.body.replaced, ["b"]);
  assert.deepEqual(reload.body.added, []);
  assert.deepEqual(reload.body.keptOld, []);
  assert.equal(reload.body.generation, 2);
  // The new b was ready before the reload answered; a still runs its old child.
  const [newPidA] = await pidsOf(g, "a");
  const [newPidB] = await pidsOf(g, "b");
  assert.equal(newPidA, pidA, "the unchanged model kept its child");
  assert.notEqual(newPidB, pidB, "the changed model got a new child");
  assert.equal((await modelStatus(g, "b")).state, "loaded");
  for (const [name, reading] of [
    ["a", readingA],
    ["b", readingB],
  ] as const) {
    const result = await reading;
    assert.equal(result.error, undefined, `the stream on ${name} was not cut`);
    const events = sseData(result.text);
    assert.equal(events.at(-1), "[DONE]");
    assert.ok(!events.some((e) => e.includes('"error"')), `no in-band error on ${name}`);
  }
  // The old b stops once its stream is done; new requests go to the new one.
  await waitGone("the old b", pidB);
  assert.equal((await chat(g, "b")).status, 200);
  assert.deepEqual(await pidsOf(g, "b"), [newPidB]);
});

test("an invalid file on SIGHUP changes nothing, and the log lists every problem", async () => {
  const g = await start({ models: { a: { cmd: fakeCmd(), aliases: ["x"] } } });
  assert.equal((await chat(g, "a")).status, 200);
  const [pid] = await pidsOf(g, "a");
  editConfig(g, (config) => {
    config.scheduler = { maxLoadedModel: 3 };
    config.models.a.queueTimeout = "soon";
    config.models.b = { cmd: fakeCmd(), aliases: ["x"] };
  });
  g.process.kill("SIGHUP");
  const log = await waitFor("the refused reload in the log", async () => {
    const output = await g.loggedOutput();
    return output.includes("config reload refused") ? output : undefined;
  });
  const line = log.split("\n").find((l) => l.includes("config reload refused")) as string;
  assert.match(line, /scheduler\.maxLoadedModel/);
  assert.match(line, /models\.a\.queueTimeout/);
  assert.match(line, /models\.b\.aliases\.0/, "the clashing alias is reported in the same round");
  const status = await admin(g, "GET", "/admin/status");
  assert.equal(status.body.config.generation, 1);
  assert.deepEqual(await pidsOf(g, "a"), [pid]);
  assert.equal((await chat(g, "x")).status, 200, "the old aliases still work");
  // The admin API answers the same problems.
  const refused = await admin(g, "POST", "/admin/reload");
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error.code, "config_invalid");
  const paths = (refused.body.error.problems as Array<{ path: string }>).map((p) => p.path);
  assert.ok(paths.includes("scheduler.maxLoadedModel"), paths.join(", "));
  assert.ok(paths.includes("models.a.queueTimeout"), paths.join(", "));
});

test("removed models drain then stop, added models and new aliases work at once, keys change for new requests", async () => {
  const g = await start({ models: { a: { cmd: fakeCmd(...SLOW) }, b: { cmd: fakeCmd() } } });
  const streaming = await chat(g, "a", { stream: true });
  assert.equal(streaming.status, 200);
  const reading = readAll(streaming);
  const [pidA] = await pidsOf(g, "a");
  editConfig(g, (config) => {
    delete config.models.a;
    config.models.b.aliases = ["bee"];
    config.models.c = { cmd: fakeCmd() };
  });
  const reload = await admin(g, "POST", "/admin/reload");
  assert.equal(reload.status, 200, JSON.stringify(reload.body));
  assert.deepEqual(reload.body.removed, ["a"]);
  assert.deepEqual(reload.body.added, ["c"]);
  assert.deepEqual(reload.body.reconfigured, ["b"]);
  const removed = await chat(g, "a");
  assert.equal(removed.status, 404);
  assert.equal((await chat(g, "bee")).status, 200);
  assert.equal((await chat(g, "c")).status, 200);
  const drained = await reading;
  assert.equal(sseData(drained.text).at(-1), "[DONE]", "the removed model's stream finished");
  await waitGone("the removed model's child", pidA);
  // Keys: adding one closes the open gateway for new requests.
  editConfig(g, (config) => {
    config.auth = { apiKeys: ["k1"], adminKeys: ["adm"] };
  });
  assert.equal((await admin(g, "POST", "/admin/reload")).status, 200);
  assert.equal((await chat(g, "c")).status, 401);
  const keyed = await postJson(
    g.url,
    "/v1/chat/completions",
    { model: "c", messages: [{ role: "user", content: "hi" }] },
    { headers: { authorization: "Bearer k1" } },
  );
  assert.equal(keyed.status, 200);
});

test("a model that failed because of its args serves after the config is fixed and reloaded", async () => {
  const g = await start({
    models: { m: { cmd: ["sh", "-c", "echo bad flag >&2; exit 3", "sh", "${PORT}"] } },
  });
  for (let i = 0; i < 5; i++) await (await chat(g, "m")).arrayBuffer();
  const parked = await chat(g, "m");
  assert.equal(((await parked.json()) as { error: { code: string } }).error.code, "model_failed");
  editConfig(g, (config) => {
    config.models.m.cmd = fakeCmd();
  });
  const reload = await admin(g, "POST", "/admin/reload");
  assert.deepEqual(reload.body.replaced, ["m"]);
  assert.equal((await chat(g, "m")).status, 200);
});

test("--watch reloads when the file changes", async () => {
  const g = await start({ models: { a: { cmd: fakeCmd() } } }, { watch: true });
  editConfig(g, (config) => {
    config.models.a.aliases = ["watched"];
  });
  await waitFor(
    "the watched change to apply",
    async () => {
      const res = await chat(g, "watched");
      await res.arrayBuffer();
      return res.status === 200 ? true : undefined;
    },
    10_000,
    100,
  );
  const status = await admin(g, "GET", "/admin/status");
  assert.equal(status.body.config.generation, 2);
});
