import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import {
  codeOf,
  eventually,
  Harness,
  modelConfig,
  settle,
  watch,
} from "../../test/support/scheduler-harness.js";
import { GatewayError } from "../errors/gateway-error.js";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

const parked = () => new GatewayError("model_failed", "model a crashed 3 times within 60s");

describe("a start that fails", () => {
  it("rejects every request waiting for it with its error", async () => {
    const h = new Harness({ models: [modelConfig("a", { maxConcurrent: 2 })], start: "hold" });
    const requests = [watch(h.acquire("a")), watch(h.acquire("a")), watch(h.acquire("a"))];
    await settle();
    const why = new GatewayError("model_load_failed", "llama-server exited while loading (code 1)");
    h.backend("a").failStart(why);
    await eventually("every request answered", () => requests.every((r) => r.settled));
    for (const r of requests) assert.equal(r.error, why);
    assert.equal(h.group("a").holds, 0);
  });

  it("is tried again by the next request", async () => {
    const h = new Harness({ models: [modelConfig("a")], start: "hold" });
    const first = watch(h.acquire("a"));
    await settle();
    h.backend("a").failStart(new GatewayError("model_load_timeout", "not ready within 60s"));
    await eventually("the failure", () => first.settled);
    const second = watch(h.acquire("a"));
    await settle();
    h.backend("a").completeStart();
    await eventually("the retry", () => second.settled);
    assert.equal(second.error, undefined);
    assert.equal(h.backend("a").starts, 2);
  });
});

describe("a parked model (every instance failed)", () => {
  it("fails a request at once, without evicting a loaded model to make room", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")], maxLoadedModels: 1 });
    await h.use("b");
    h.backend("a").park(parked());
    await assert.rejects(h.acquire("a"), (error) => codeOf(error) === "model_failed");
    await assert.rejects(h.scheduler.load(h.group("a")), (error) => codeOf(error) === "model_failed");
    await settle();
    assert.equal(h.backend("b").stops, 0);
    assert.equal(h.backend("a").starts, 0);
    assert.deepEqual(h.unloads, []);
  });

  it("is served while one of its instances is not parked", async () => {
    const h = new Harness({ models: [modelConfig("a", { instances: 2 })] });
    h.backend("a", 0).park(parked());
    const lease = await h.acquire("a");
    assert.equal(lease.instance, "a#1");
  });

  it("gives the requests already in its line the failure at once, not at the queue timeout", async () => {
    const h = new Harness({ models: [modelConfig("a", { instances: 2, queueTimeoutMs: 60_000 })] });
    await h.acquire("a");
    await h.acquire("a");
    const line = [watch(h.acquire("a")), watch(h.acquire("a"))];
    await settle();
    assert.equal(h.group("a").waiting, 2);
    h.backend("a", 0).crash(parked());
    await settle();
    assert.equal(line.filter((r) => r.settled).length, 0, "one instance left: waiting can still help");
    h.backend("a", 1).crash(parked());
    await eventually("the line answered", () => line.every((r) => r.settled));
    for (const r of line) assert.equal(codeOf(r.error), "model_failed");
    assert.equal(h.group("a").waiting, 0);
  });

  it("gives requests waiting for its start the failure", async () => {
    const h = new Harness({ models: [modelConfig("a")], start: "hold" });
    const request = watch(h.acquire("a"));
    await settle();
    h.backend("a").park(parked());
    await eventually("the failure", () => request.settled);
    assert.equal(codeOf(request.error), "model_failed");
  });
});

describe("a crash that the supervisor restarts", () => {
  it("keeps the line waiting and serves it from the restarted instance", async () => {
    const h = new Harness({ models: [modelConfig("a")] });
    const first = await h.acquire("a");
    const next = watch(h.acquire("a"));
    await settle();
    h.backend("a").crash();
    first.release();
    await settle();
    assert.equal(next.settled, false, "nothing to serve it while the instance restarts");
    h.backend("a").completeStart();
    await eventually("served after the restart", () => next.settled);
    assert.equal(next.error, undefined);
    assert.equal(h.backend("a").starts, 1, "the supervisor restarted it, not the scheduler");
  });
});

describe("cancelWaiting", () => {
  it("rejects requests waiting for a slot and for room with the reason", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")], maxLoadedModels: 1 });
    await h.acquire("a");
    const forSlot = watch(h.acquire("a"));
    const forRoom = watch(h.acquire("b"));
    await settle();
    const reason = new GatewayError("shutting_down", "the gateway is shutting down");
    h.scheduler.cancelWaiting(reason);
    await eventually("both answered", () => forSlot.settled && forRoom.settled);
    assert.equal(forSlot.error, reason);
    assert.equal(forRoom.error, reason);
    assert.equal(h.backend("b").starts, 0);
    assert.equal(h.group("a").holds, 1, "the request in flight keeps its slot");
  });
});

describe("notifyCooledDown", () => {
  it("starts a resident group again once its cool-down ends", async () => {
    const h = new Harness({ models: [modelConfig("a")] });
    await h.use("a");
    h.backend("a").crash(parked());
    h.backend("a").coolDown();
    await eventually("the restart", () => h.backend("a").starts === 2);
    assert.equal(h.backend("a").state, "ready");
  });

  it("leaves a group that is not resident stopped", async () => {
    const h = new Harness({ models: [modelConfig("a")] });
    h.backend("a").park(parked());
    h.backend("a").coolDown();
    await settle();
    assert.equal(h.backend("a").starts, 0);
  });
});
