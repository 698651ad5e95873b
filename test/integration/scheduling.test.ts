import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, test } from "node:test";
import { postJson, readAll, readRecord, sseData } from "../fixtures/fake/client.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { type RunningGateway, startGateway } from "../support/gateway-process.js";
import { childGroups, groupMembers } from "../support/process-tree.js";

/**
 * The scheduler through real HTTP, with the fake llama-server as backend (fast, and faults on
 * demand): lazy load under a herd, LRU with a busy model, queue limits, disconnects, instances,
 * ttl, preload, pinned. After each test no child process of the gateway is left.
 */
let gateway: RunningGateway | undefined;
let groups = new Set<number>();

afterEach(async () => {
  if (gateway === undefined) return;
  for (const pgid of childGroups(gateway.process.pid ?? 0)) groups.add(pgid);
  assert.equal(await gateway.stop(), 0, gateway.output().slice(-2000));
  await waitFor(
    "every child to be gone",
    () => (groupMembers([...groups]).length === 0 ? true : undefined),
    5_000,
  );
  gateway = undefined;
  groups = new Set();
});

async function start(config: Record<string, unknown>): Promise<RunningGateway> {
  gateway = await startGateway(config);
  return gateway;
}

function chat(g: RunningGateway, model: string, extra: Record<string, unknown> = {}, init: RequestInit = {}) {
  return postJson(
    g.url,
    "/v1/chat/completions",
    { model, messages: [{ role: "user", content: "hi" }], ...extra },
    init,
  );
}

function spawnsIn(output: string, instance: string): number {
  return output
    .split("\n")
    .filter((line) => line.includes('"spawned llama-server"') && line.includes(`"${instance}"`)).length;
}

/** Spawns logged so far (every line, including the ones still on their way). */
async function spawns(g: RunningGateway, instance: string): Promise<number> {
  return spawnsIn(await g.loggedOutput(), instance);
}

async function modelState(g: RunningGateway, id: string): Promise<string | undefined> {
  const list = (await (await fetch(`${g.url}/v1/models`)).json()) as {
    data: Array<{ id: string; state: string }>;
  };
  return list.data.find((m) => m.id === id)?.state;
}

test("200 simultaneous requests for a cold model share exactly one spawn", async () => {
  const g = await start({ models: { m: { cmd: fakeCmd("--fake-load-ms", "300"), maxConcurrent: 64 } } });
  const answers = await Promise.all(Array.from({ length: 200 }, () => chat(g, "m")));
  assert.deepEqual([...new Set(answers.map((r) => r.status))], [200]);
  await Promise.all(answers.map((r) => r.arrayBuffer()));
  assert.equal(await spawns(g, "m#0"), 1);
});

test("a busy model is not evicted: the other model's request waits, then the swap happens", async () => {
  const g = await start({
    scheduler: { maxLoadedModels: 1 },
    models: {
      a: { cmd: fakeCmd("--fake-tokens", "20", "--fake-token-delay-ms", "25") },
      b: { cmd: fakeCmd() },
    },
  });
  const streaming = await chat(g, "a", { stream: true });
  assert.equal(streaming.status, 200);
  const other = chat(g, "b");
  const stream = await readAll(streaming);
  assert.equal(stream.error, undefined, "the running stream was not cut by the swap");
  assert.equal(sseData(stream.text).at(-1), "[DONE]");
  assert.equal((await other).status, 200);
  assert.equal(await modelState(g, "a"), "unloaded");
  assert.equal(await modelState(g, "b"), "loaded");
});

test("queue full and queue timeout answer 503 with Retry-After", async () => {
  const record = join(await tempDir(), "record.jsonl");
  const g = await start({
    models: {
      m: {
        cmd: fakeCmd("--fake-hang-inference", "--fake-record", record),
        maxConcurrent: 1,
        maxQueue: 1,
        queueTimeout: "400ms",
      },
    },
  });
  const holder = new AbortController();
  const first = chat(g, "m", {}, { signal: holder.signal }).catch(() => null);
  await waitFor("the first request at the backend", () =>
    readRecord(record).find((e) => e.event === "request"),
  );
  const queued = chat(g, "m");
  const full = await waitFor("the queue to fill", async () => {
    const res = await chat(g, "m");
    if (res.status === 503) return res;
    await res.arrayBuffer();
    return undefined;
  });
  const fullBody = (await full.json()) as { error: { code: string } };
  assert.equal(fullBody.error.code, "queue_full");
  assert.equal(full.headers.get("retry-after"), "1");
  const timedOut = await queued;
  assert.equal(timedOut.status, 503);
  assert.equal(((await timedOut.json()) as { error: { code: string } }).error.code, "queue_timeout");
  assert.ok(Number(timedOut.headers.get("retry-after")) > 0);
  holder.abort();
  await first;
});

test("a client that disconnects while queued is never dispatched", async () => {
  const record = join(await tempDir(), "record.jsonl");
  const g = await start({
    models: {
      m: {
        cmd: fakeCmd("--fake-record", record, "--fake-tokens", "10", "--fake-token-delay-ms", "40"),
        maxConcurrent: 1,
      },
    },
  });
  const first = await chat(g, "m", { stream: true });
  const leaver = new AbortController();
  const queued = chat(
    g,
    "m",
    { messages: [{ role: "user", content: "never dispatched" }] },
    { signal: leaver.signal },
  );
  // The first stream holds the only slot until its tokens are out (10 × 40 ms): leave well before.
  await waitFor("the first request at the backend", () =>
    readRecord(record).find((e) => e.event === "request"),
  );
  leaver.abort();
  await assert.rejects(queued);
  await readAll(first);
  const third = await chat(g, "m");
  assert.equal(third.status, 200);
  await third.arrayBuffer();
  const requests = readRecord(record).filter((e) => e.event === "request");
  assert.equal(requests.length, 2, `backend saw: ${JSON.stringify(requests)}`);
});

function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), "llamawrapper-sched-"));
}

test("two instances share the load: concurrent requests go to both", async () => {
  const g = await start({
    models: {
      m: {
        cmd: fakeCmd("--fake-tokens", "5", "--fake-token-delay-ms", "60"),
        instances: 2,
        maxConcurrent: 1,
      },
    },
  });
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: 4 }, () => chat(g, "m")));
  for (const res of answers) assert.equal(res.status, 200);
  await Promise.all(answers.map((r) => r.arrayBuffer()));
  assert.equal(await spawns(g, "m#0"), 1);
  assert.equal(await spawns(g, "m#1"), 1);
  const servedBy = (await g.loggedOutput())
    .split("\n")
    .filter((l) => l.includes(`"msg":"request"`) && l.includes(`"route":"/v1/chat/completions"`))
    .map((l) => (JSON.parse(l) as { instance: string }).instance);
  assert.deepEqual(new Set(servedBy), new Set(["m#0", "m#1"]));
  assert.ok(Date.now() - started < 60_000);
});

test("an instance that dies is taken out of rotation and restarted while the other serves", async () => {
  const g = await start({ models: { m: { cmd: fakeCmd(), instances: 2, maxConcurrent: 1 } } });
  const warm = await Promise.all([chat(g, "m"), chat(g, "m")]);
  await Promise.all(warm.map((r) => r.arrayBuffer()));
  const ready = (name: string) => g.output().includes(`"instance":"${name}","from":"starting","to":"ready"`);
  await waitFor("both instances to be ready", () => (ready("m#0") && ready("m#1") ? true : undefined));
  const spawned = g
    .output()
    .split("\n")
    .find((l) => l.includes('"spawned llama-server"') && l.includes('"m#0"'));
  const pid = (JSON.parse(spawned ?? "{}") as { pid: number }).pid;
  process.kill(-pid, "SIGKILL");
  // Every request after the crash is answered, by m#1 while m#0 waits out its back-off; the two
  // sent at once race the gateway's noticing the exit, so one may meet a refused connection.
  const racing = await Promise.all([chat(g, "m"), chat(g, "m")]);
  for (const res of racing) assert.equal(res.status, 200, await res.clone().text());
  await Promise.all(racing.map((r) => r.arrayBuffer()));
  for (let i = 0; i < 4; i++) {
    const res = await chat(g, "m");
    assert.equal(res.status, 200, await res.clone().text());
    await res.arrayBuffer();
  }
  await waitFor("m#0 to be restarted", () => (spawnsIn(g.output(), "m#0") >= 2 ? true : undefined), 15_000);
  assert.match(await g.loggedOutput(), /"llama-server crashed"/);
});

test("ttl unloads an idle model; preload loads one at start; a pinned model is never evicted", async () => {
  const g = await start({
    scheduler: { maxLoadedModels: 1 },
    models: {
      pinned: { cmd: fakeCmd(), preload: true, pinned: true },
      other: { cmd: fakeCmd() },
    },
  });
  await waitFor("the preloaded model", async () =>
    (await modelState(g, "pinned")) === "loaded" ? true : undefined,
  );
  const refused = await chat(g, "other");
  assert.equal(refused.status, 503);
  assert.match(((await refused.json()) as { error: { message: string } }).error.message, /pinned/);
  await g.stop();
  gateway = undefined;

  const h = await start({ models: { brief: { cmd: fakeCmd(), ttl: "300ms" } } });
  assert.equal((await chat(h, "brief")).status, 200);
  assert.equal(await modelState(h, "brief"), "loaded");
  await waitFor(
    "the ttl unload",
    async () => ((await modelState(h, "brief")) === "unloaded" ? true : undefined),
    5_000,
  );
  assert.match(await h.loggedOutput(), /"reason":"ttl"/);
});

test("a model that cannot load answers 503 with a one-line reason, then fast 503 model_failed after a crash loop", async () => {
  const g = await start({
    models: {
      broken: {
        cmd: fakeCmd("--fake-load-ms", "5000", "--fake-exit-after-ms", "50", "--fake-exit-code", "7"),
      },
    },
  });
  const first = await chat(g, "broken");
  assert.equal(first.status, 503);
  assert.ok(first.headers.get("retry-after"));
  const body = (await first.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "model_load_failed");
  assert.match(body.error.message, /code 7/);
  assert.doesNotMatch(body.error.message, /listening/, "llama-server's output is for operators only");
  assert.match(await g.loggedOutput(), /"msg":"llama-server failed to load"/);
  const codes: string[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await chat(g, "broken");
    codes.push(((await res.json()) as { error: { code: string } }).error.code);
  }
  assert.equal(codes.at(-1), "model_failed");
  const started = Date.now();
  const parked = await chat(g, "broken");
  assert.equal(parked.status, 503);
  await parked.arrayBuffer();
  assert.ok(Date.now() - started < 1_000, "a parked model answers at once, without trying to load");
  assert.equal(await spawns(g, "broken#0"), 5);
});
