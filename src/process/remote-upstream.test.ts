import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import type { UpstreamConfig, UpstreamHealthConfig } from "../config/types.js";
import { RemoteUpstream } from "./remote-upstream.js";

const CONFIG: UpstreamConfig = {
  name: "box1",
  url: "https://gpu-box:8443/llama",
  apiKey: "k",
  model: "qwen-72b",
  maxConcurrent: 8,
  healthPath: "/health",
};
const HEALTH: UpstreamHealthConfig = {
  intervalMs: 1_000,
  timeoutMs: 500,
  fall: 2,
  rise: 2,
  ejectAfter: 3,
  ejectTimeMs: 10_000,
  maxEjectTimeMs: 25_000,
};

/** Turns the loop so a probe's continuation runs (no timers involved). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function upstream() {
  const answers: boolean[] = [];
  let healthy = true;
  const remote = new RemoteUpstream("m", CONFIG, HEALTH, {
    probe: async () => {
      answers.push(healthy);
      return healthy;
    },
    now: () => Date.now(),
  });
  const states: string[] = [];
  remote.onEvent((event) => {
    if ("to" in event) states.push(event.to);
  });
  return {
    remote,
    states,
    answers,
    setHealthy: (value: boolean) => {
      healthy = value;
    },
  };
}

async function tick(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await settle();
}

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

describe("RemoteUpstream", () => {
  it("is an endpoint of its URL with its key and base path, named <model>@<name>", async () => {
    const { remote } = upstream();
    const ready = remote.ensureReady();
    await tick(0);
    assert.deepEqual(await ready, {
      port: 8443,
      apiKey: "k",
      origin: "https://gpu-box:8443",
      basePath: "/llama",
    });
    assert.equal(remote.name, "m@box1");
    assert.equal(remote.capacity, 8);
    assert.equal(remote.model, "qwen-72b");
    assert.equal(remote.snapshot().url, CONFIG.url);
    await remote.stop();
  });

  it("leaves rotation after `fall` failed checks and comes back after `rise` passes", async () => {
    const { remote, states, setHealthy } = upstream();
    void remote.ensureReady();
    await tick(0);
    assert.equal(remote.snapshot().state, "ready", "one pass is enough the first time");
    setHealthy(false);
    await tick(1_000);
    assert.equal(remote.snapshot().state, "ready", "one failure is not enough");
    await tick(1_000);
    assert.equal(remote.snapshot().state, "failed");
    assert.equal(remote.endpoint(), null);
    assert.match(
      remote.failure()?.message ?? "",
      /m@box1 is out of rotation: 2 health checks in a row failed/,
    );
    await assert.rejects(remote.ensureReady(), /out of rotation/);
    setHealthy(true);
    await tick(1_000);
    assert.equal(remote.snapshot().state, "failed", "one pass is not enough to come back");
    await tick(1_000);
    assert.equal(remote.snapshot().state, "ready");
    assert.deepEqual(states, ["starting", "ready", "failed", "ready"]);
    await remote.stop();
  });

  it("ejects after `ejectAfter` failed requests in a row, for a doubling back-off, then checks again", async () => {
    const { remote, answers } = upstream();
    void remote.ensureReady();
    await tick(0);
    remote.observe(false);
    remote.observe(false);
    remote.observe(true); // a success resets the count
    remote.observe(false);
    remote.observe(false);
    assert.equal(remote.snapshot().state, "ready");
    remote.observe(false);
    assert.equal(remote.snapshot().state, "failed");
    assert.equal(remote.snapshot().retryAt, Date.now() + 10_000);
    const checks = answers.length;
    await tick(9_999);
    assert.equal(answers.length, checks, "no checks while ejected");
    await tick(1);
    await tick(1_000);
    assert.equal(remote.snapshot().state, "ready", "back after `rise` passing checks");
    // Ejected again without a success in between: twice as long, up to maxEjectTime.
    for (let i = 0; i < 3; i++) remote.observe(false);
    assert.equal(remote.snapshot().retryAt, Date.now() + 20_000);
    await tick(20_000);
    await tick(1_000);
    for (let i = 0; i < 3; i++) remote.observe(false);
    assert.equal(remote.snapshot().retryAt, Date.now() + 25_000, "capped at maxEjectTime");
    await remote.stop();
  });

  it("stop ends the checks and answers waiters; ensureReady starts them again", async () => {
    const { remote, answers, setHealthy } = upstream();
    setHealthy(false);
    const waiting = remote.ensureReady();
    await tick(0);
    await remote.stop();
    await assert.rejects(waiting, /not in use/);
    const checks = answers.length;
    await tick(10_000);
    assert.equal(answers.length, checks);
    setHealthy(true);
    const again = remote.ensureReady();
    await tick(0);
    assert.equal((await again).origin, "https://gpu-box:8443");
    await remote.stop();
  });
});
