import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, test } from "node:test";
import { GatewayError } from "../../src/errors/gateway-error.js";
import { DEFAULT_RESTART_POLICY } from "../../src/process/crash-history.js";
import { freePort } from "../../src/process/free-port.js";
import { type ChildSpec, Supervisor, type SupervisorEvent } from "../../src/process/supervisor.js";
import { waitFor } from "../support/deadline.js";
import { fakeCmd } from "../support/fake-cmd.js";
import { groupMembers, isAlive } from "../support/process-tree.js";

const supervisors: Supervisor[] = [];
after(async () => {
  await Promise.all(supervisors.map((s) => s.kill()));
});

function supervisor(flags: string[], overrides: Partial<ChildSpec> = {}, pickPort?: () => Promise<number>) {
  const spec: ChildSpec = {
    name: "fake#0",
    modelId: "fake",
    launch: { kind: "cmd", cmd: fakeCmd(...flags) },
    binary: "unused",
    env: {},
    startupTimeoutMs: 15_000,
    stopTimeoutMs: 5_000,
    readinessIntervalMs: 20,
    logLines: 50,
    deathSignalWrapper: null,
    restart: DEFAULT_RESTART_POLICY,
    liveness: { intervalMs: 10_000, timeoutMs: 2_000, failures: 3 },
    coolDown: { initialMs: 30_000, maxMs: 600_000 },
    sockets: null,
    ...overrides,
  };
  const s = new Supervisor(spec, process.env, pickPort);
  supervisors.push(s);
  const events: SupervisorEvent[] = [];
  s.onEvent((e) => events.push(e));
  return { s, events };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<GatewayError> {
  const error = await promise.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => e,
  );
  assert.ok(error instanceof GatewayError, String(error));
  assert.equal(error.code, code, error.message);
  return error;
}

test("200 concurrent ensureReady calls share exactly one spawn", async () => {
  const { s, events } = supervisor(["--fake-load-ms", "300"]);
  const endpoints = await Promise.all(Array.from({ length: 200 }, () => s.ensureReady()));
  assert.equal(new Set(endpoints.map((e) => e.port)).size, 1);
  assert.equal(events.filter((e) => e.type === "state" && e.to === "starting").length, 1);
  const res = await fetch(`http://127.0.0.1:${endpoints[0]?.port}/v1/models`, {
    headers: { authorization: `Bearer ${endpoints[0]?.apiKey}` },
  });
  assert.equal(res.status, 200, "the per-instance key opens the child");
  const refused = await fetch(`http://127.0.0.1:${endpoints[0]?.port}/v1/models`);
  assert.equal(refused.status, 401, "nothing but the gateway may talk to the child");
  await s.stop();
  assert.equal(s.snapshot().state, "stopped");
});

test("a child that exits while loading fails the load; its output goes to the event and the logs, not the message", async () => {
  const { s, events } = supervisor([
    "--fake-load-ms",
    "10000",
    "--fake-exit-after-ms",
    "200",
    "--fake-exit-code",
    "3",
  ]);
  const error = await rejectsWith(s.ensureReady(), "model_load_failed");
  assert.match(error.message, /exited with code 3 while loading/);
  assert.doesNotMatch(error.message, /listening/, "a client's error never carries the child's output");
  const failed = events.find((e) => e.type === "load-failed");
  assert.ok(failed !== undefined && failed.type === "load-failed");
  assert.ok(
    failed.lastLines.some((line) => line.includes("listening")),
    "the event carries it for the log",
  );
  assert.ok(
    s.logs().some((line) => line.includes("listening")),
    "the logs keep it after the exit",
  );
  assert.equal(s.snapshot().state, "stopped");
});

test("a child that never becomes ready hits the startup budget and is killed", async () => {
  const { s } = supervisor(["--fake-never-ready"], { startupTimeoutMs: 600 });
  const started = Date.now();
  await rejectsWith(s.ensureReady(), "model_load_timeout");
  assert.ok(Date.now() - started < 10_000);
  assert.equal(s.snapshot().pid, null);
});

test("a port already in use makes the supervisor retry on another port", async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const busy = (blocker.address() as { port: number }).port;
  let calls = 0;
  const { s } = supervisor([], {}, async () => (++calls === 1 ? busy : freePort()));
  const endpoint = await s.ensureReady();
  assert.notEqual(endpoint.port, busy);
  assert.equal(calls, 2);
  await s.stop();
  blocker.close();
});

test("stop() kills a child that ignores SIGTERM, and its grandchildren", async () => {
  const { s } = supervisor(["--fake-ignore-sigterm", "--fake-spawn-grandchild"], { stopTimeoutMs: 300 });
  await s.ensureReady();
  const pid = s.snapshot().pid as number;
  const grandchild = Number(
    await waitFor("the grandchild's pid", () => /grandchild pid (\d+)/.exec(s.logs().join("\n"))?.[1]),
  );
  assert.ok(isAlive(grandchild));
  await s.stop();
  assert.equal(isAlive(pid), false);
  await waitFor("the grandchild to die", () => (isAlive(grandchild) ? undefined : true), 5_000);
  assert.deepEqual(groupMembers([pid]), []);
});

test("crash → restart with doubling back-off → failed after a crash loop → recovery after reset", async () => {
  const restart = { initialBackoffMs: 100, maxBackoffMs: 1_000, maxCrashes: 3, windowMs: 60_000 };
  const { s, events } = supervisor(["--fake-exit-after-ms", "700", "--fake-exit-code", "9"], { restart });
  const first = await s.ensureReady();
  const crashes = () => events.filter((e) => e.type === "crashed");
  await waitFor("the first crash", () => (crashes().length >= 1 ? true : undefined), 10_000);
  const crash = crashes()[0];
  assert.ok(crash?.type === "crashed");
  assert.match(crash.reason, /code 9/);
  assert.equal(crash.restartInMs, 100);
  // The restart happens by itself, without a request asking for it.
  const second = await waitFor("the automatic restart", () => s.endpoint() ?? undefined, 10_000);
  assert.notEqual(second.apiKey, first.apiKey, "a new child gets a new key");
  await waitFor(
    "the crash loop to park the child",
    () => (s.snapshot().state === "failed" ? true : undefined),
    15_000,
  );
  assert.deepEqual(
    crashes().map((e) => (e.type === "crashed" ? e.restartInMs : -1)),
    [100, 200, null],
  );
  const parked = await rejectsWith(s.ensureReady(), "model_failed");
  assert.match(parked.message, /crashed 3 times/);
  s.reset();
  assert.equal(s.snapshot().state, "stopped");
  assert.ok(((await s.ensureReady()).port ?? 0) > 0, "after reset the model loads again");
  await s.stop();
});

test("a child whose /health stops answering is killed and restarted by the liveness check", async () => {
  const { s, events } = supervisor(["--fake-health-fail-after-ms", "300"], {
    liveness: { intervalMs: 50, timeoutMs: 200, failures: 3 },
    restart: { initialBackoffMs: 50, maxBackoffMs: 50, maxCrashes: 10, windowMs: 60_000 },
  });
  const first = await s.ensureReady();
  await waitFor("the liveness kill", () => events.find((e) => e.type === "crashed"), 10_000);
  assert.match(s.logs().join("\n") + JSON.stringify(events), /liveness/);
  const second = await waitFor("the restart", () => s.endpoint() ?? undefined, 10_000);
  assert.notEqual(second.port === first.port && second.apiKey === first.apiKey, true);
  await s.stop();
});

test("a waiter that aborts gives up alone: the shared load goes on for the others", async () => {
  const { s } = supervisor(["--fake-load-ms", "400"]);
  const controller = new AbortController();
  const quitter = s.ensureReady(controller.signal);
  const stayer = s.ensureReady();
  controller.abort(new Error("client left"));
  await assert.rejects(quitter, /client left/);
  assert.ok(((await stayer).port ?? 0) > 0);
  await s.stop();
});
