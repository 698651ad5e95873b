import assert from "node:assert/strict";
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { postJson, readAll, sseData } from "../fixtures/fake/client.js";
import { admin, modelStatus, pidsOf } from "../support/admin-client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { stopClean } from "../support/stop-clean.js";

/**
 * The admin API against the real gateway with fake llama-servers: keys, status, load, unload
 * (draining and forced), reset of a failed model, its cool-down, logs and GPU info.
 */
let gateway: RunningGateway | undefined;
afterEach(async () => {
  if (gateway !== undefined) await stopClean(gateway);
  gateway = undefined;
});

const ADMIN = "admin-secret-1";
const USER = "user-secret-1";

async function start(config: Record<string, unknown>, env?: NodeJS.ProcessEnv): Promise<RunningGateway> {
  gateway = await startGateway(
    { auth: { apiKeys: [USER], adminKeys: [ADMIN] }, ...config },
    env === undefined ? {} : { env },
  );
  return gateway;
}

function chat(g: RunningGateway, model: string, extra: Record<string, unknown> = {}) {
  return postJson(
    g.url,
    "/v1/chat/completions",
    { model, messages: [{ role: "user", content: "hi" }], ...extra },
    { headers: { authorization: `Bearer ${USER}` } },
  );
}

test("admin routes refuse user keys and no key, and unknown models are 404", async () => {
  const g = await start({ models: { m: { cmd: fakeCmd() } } });
  assert.equal((await admin(g, "GET", "/admin/status")).status, 401);
  const asUser = await admin(g, "GET", "/admin/status", { key: USER });
  assert.equal(asUser.status, 403);
  assert.equal(asUser.body.error.code, "forbidden");
  assert.equal((await admin(g, "POST", "/admin/models/m/load", { key: USER })).status, 403);
  assert.equal((await admin(g, "POST", "/admin/reload", { key: USER })).status, 403);
  const unknown = await admin(g, "POST", "/admin/models/nope/load", { key: ADMIN });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.error.code, "model_not_found");
  const unknownBody = await admin(g, "POST", "/admin/load", {
    key: ADMIN,
    body: { model: "../../etc/passwd" },
  });
  assert.equal(unknownBody.status, 404);
  const badAction = await admin(g, "POST", "/admin/models/m/explode", { key: ADMIN });
  assert.equal(badAction.status, 404);
});

test("status, load and unload: load waits until ready, status shows the instance, unload stops it", async () => {
  const g = await start({ models: { m: { cmd: fakeCmd("--fake-load-ms", "200"), aliases: ["mini"] } } });
  const before = await admin(g, "GET", "/admin/status", { key: ADMIN });
  assert.equal(before.status, 200);
  assert.equal(before.body.config.generation, 1);
  assert.match(before.body.config.hash, /^[0-9a-f]{64}$/);
  assert.equal(before.body.models[0].state, "unloaded");
  // By alias, in the seed's body form.
  const loaded = await admin(g, "POST", "/admin/load", { key: ADMIN, body: { model: "mini" } });
  assert.equal(loaded.status, 200, JSON.stringify(loaded.body));
  assert.equal(loaded.body.state, "loaded");
  const model = await modelStatus(g, "m", ADMIN);
  assert.equal(model.state, "loaded");
  const [instance] = model.instances;
  assert.equal(instance.state, "ready");
  assert.equal(typeof instance.pid, "number");
  assert.equal(instance.restarts, 0);
  const unloaded = await admin(g, "POST", "/admin/models/m/unload", { key: ADMIN });
  assert.equal(unloaded.status, 200);
  assert.equal((await modelStatus(g, "m", ADMIN)).state, "unloaded");
  assert.throws(() => process.kill(instance.pid, 0), "the child is gone after unload");
});

test("unload waits for the request in flight to finish; force does not", async () => {
  const g = await start({
    models: { m: { cmd: fakeCmd("--fake-tokens", "30", "--fake-token-delay-ms", "20") } },
  });
  const streaming = await chat(g, "m", { stream: true });
  assert.equal(streaming.status, 200);
  let streamDone = false;
  const reading = readAll(streaming).then((result) => {
    streamDone = true;
    return result;
  });
  const unload = await admin(g, "POST", "/admin/models/m/unload", { key: ADMIN });
  assert.equal(unload.status, 200);
  assert.equal(streamDone, true, "unload answered only after the stream had ended");
  const drained = await reading;
  assert.equal(drained.error, undefined);
  assert.equal(sseData(drained.text).at(-1), "[DONE]");

  const second = await chat(g, "m", { stream: true });
  assert.equal(second.status, 200);
  const forced = await admin(g, "POST", "/admin/models/m/unload?force=1", { key: ADMIN });
  assert.equal(forced.status, 200);
  assert.equal(forced.body.forced, true);
  const cut = await readAll(second);
  const events = sseData(cut.text);
  assert.equal(events.at(-1), "[DONE]", "a cut stream still ends with [DONE]");
  assert.ok(
    events.some((e) => e.includes('"error"')),
    `the forced unload ended the stream with an in-band error: ${cut.text.slice(-300)}`,
  );
  assert.equal((await modelStatus(g, "m", ADMIN)).state, "unloaded");
});

test("a failed model: fast 503 without stderr, reset after the cause is fixed, and retry by itself after its cool-down", async () => {
  const dir = (await start({ models: { placeholder: { cmd: fakeCmd() } } })).dir;
  await stopClean(gateway as RunningGateway);
  const flag = join(dir, "ok-to-start");
  // Fails to start (exit 3, with a line on stderr) until the flag file exists.
  const script = join(dir, "flaky.sh");
  writeFileSync(
    script,
    `#!/bin/sh\nif [ ! -f '${flag}' ]; then echo 'secret-path /models/broken.gguf: failed to open' >&2; exit 3; fi\nexec "$@"\n`,
  );
  chmodSync(script, 0o755);
  const g = await start({ scheduler: { coolDown: "2s" }, models: { m: { cmd: [script, ...fakeCmd()] } } });
  for (let i = 0; i < 5; i++) {
    const res = await chat(g, "m");
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 503);
    // The fifth failure in 60 s parks it; no answer carries llama-server's output.
    assert.equal(body.error.code, i < 4 ? "model_load_failed" : "model_failed");
    assert.doesNotMatch(body.error.message, /secret-path/);
  }
  const parked = await chat(g, "m");
  const parkedBody = (await parked.json()) as { error: { code: string; message: string } };
  assert.equal(parked.status, 503);
  assert.equal(parkedBody.error.code, "model_failed");
  assert.equal(parked.headers.get("retry-after"), "2", "Retry-After is the time until the next try");
  assert.equal(parked.headers.get("x-should-retry"), "true");
  assert.doesNotMatch(parkedBody.error.message, /secret-path/);
  const status = await modelStatus(g, "m", ADMIN);
  assert.equal(status.state, "failed");
  assert.ok(
    status.instances[0].lastLines.some((line: string) => line.includes("failed to open")),
    "the admin status shows llama-server's last lines",
  );
  // Reset while the cause is still there: it fails again, and stays out of failed until then.
  const reset = await admin(g, "POST", "/admin/models/m/reset", { key: ADMIN });
  assert.equal(reset.status, 200);
  assert.notEqual((await modelStatus(g, "m", ADMIN)).state, "failed");
  // Park it again, then fix the cause: the cool-down brings it back without any request.
  for (let i = 0; i < 5; i++) await (await chat(g, "m")).arrayBuffer();
  assert.equal((await modelStatus(g, "m", ADMIN)).state, "failed");
  writeFileSync(flag, "");
  await waitFor(
    "the model to come back by itself after its cool-down",
    async () => ((await modelStatus(g, "m", ADMIN)).state === "loaded" ? true : undefined),
    15_000,
    100,
  );
  assert.equal((await chat(g, "m")).status, 200);
  // Once more: parked, the cause fixed, and an admin reset brings it back at once.
  await admin(g, "POST", "/admin/models/m/unload", { key: ADMIN });
  rmSync(flag);
  for (let i = 0; i < 5; i++) await (await chat(g, "m")).arrayBuffer();
  assert.equal((await modelStatus(g, "m", ADMIN)).state, "failed");
  writeFileSync(flag, "");
  assert.equal((await admin(g, "POST", "/admin/reset", { key: ADMIN, body: { model: "m" } })).status, 200);
  assert.equal((await chat(g, "m")).status, 200, "served right after the reset");
});

test("logs: recent lines, and ?follow=1 streams new ones", async () => {
  const g = await start({ models: { m: { cmd: fakeCmd() } } });
  assert.equal((await chat(g, "m")).status, 200);
  const logs = await admin(g, "GET", "/admin/models/m/logs", { key: ADMIN });
  assert.equal(logs.status, 200);
  assert.equal(logs.body.instances[0].name, "m#0");
  assert.ok(logs.body.instances[0].lines.length > 0, "the fake's startup output is there");
  const abort = new AbortController();
  const follow = await fetch(`${g.url}/admin/models/m/logs?follow=1`, {
    headers: { authorization: `Bearer ${ADMIN}` },
    signal: abort.signal,
  });
  assert.equal(follow.headers.get("content-type"), "text/event-stream");
  const reader = (follow.body as ReadableStream<Uint8Array>).getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /event: line\ndata: \{"instance":"m#0"/);
  abort.abort();
});

const NVIDIA_FIXTURES = new URL("../../../shared/fixtures/nvidia-smi/", import.meta.url).pathname;

test("GPU info: a clear empty answer without a tool, and the real nvidia-smi format parsed through PATH", {
  skip: existsSync(NVIDIA_FIXTURES)
    ? false
    : `no nvidia-smi fixtures at ${NVIDIA_FIXTURES} (the shared/ folder beside the repo)`,
}, async () => {
  const fixtures = NVIDIA_FIXTURES;
  const g = await start({ models: { m: { cmd: fakeCmd() } } }, { PATH: "/usr/bin:/bin" });
  const none = await admin(g, "GET", "/admin/gpu", { key: ADMIN });
  assert.equal(none.status, 200);
  assert.deepEqual(none.body.gpus, []);
  assert.match(none.body.reason, /no nvidia-smi/);
  await stopClean(g);
  // A stand-in nvidia-smi that prints the H200's real answers.
  const bin = join(g.dir, "bin");
  const { mkdirSync } = await import("node:fs");
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, "nvidia-smi"),
    `#!/bin/sh\ncase "$*" in *query-compute-apps*) cat '${fixtures}query-apps-idle.csv';; *) cat '${fixtures}query-gpu.csv';; esac\n`,
  );
  chmodSync(join(bin, "nvidia-smi"), 0o755);
  const h = await start({ models: { m: { cmd: fakeCmd() } } }, { PATH: `${bin}:/usr/bin:/bin` });
  const gpu = await admin(h, "GET", "/admin/gpu", { key: ADMIN });
  assert.equal(gpu.status, 200);
  assert.equal(gpu.body.source, "nvidia-smi");
  assert.equal(gpu.body.gpus.length, 1);
  assert.match(gpu.body.gpus[0].name, /H200/);
  assert.ok(gpu.body.gpus[0].memoryTotalBytes > 100 * 1024 ** 3);
});

test("pids in status match the running children", async () => {
  const g = await start({ models: { m: { cmd: fakeCmd(), instances: 2 } } });
  await admin(g, "POST", "/admin/models/m/load", { key: ADMIN });
  await waitFor("both instances ready", async () => {
    const pids = await pidsOf(g, "m", ADMIN);
    return pids.every((pid) => typeof pid === "number") ? pids : undefined;
  });
  for (const pid of await pidsOf(g, "m", ADMIN)) process.kill(pid, 0);
});
