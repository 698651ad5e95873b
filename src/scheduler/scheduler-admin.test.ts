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

beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

describe("adopt (config reload)", () => {
  it("retires a group left out: it serves its lease, then stops once released", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")] });
    const old = h.group("a");
    const lease = await h.acquire("a");
    h.scheduler.adopt([h.group("b")], h.limits);
    await settle();
    assert.deepEqual(h.scheduler.retiring(), [old]);
    assert.equal(h.backend(old).stops, 0);
    assert.notEqual(old.backends()[0]?.endpoint(), null, "its lease still has an endpoint");
    lease.release();
    await eventually("the retired group stopped", () => h.backend(old).stops === 1);
    assert.deepEqual(h.unloads, ["a removed"]);
    assert.deepEqual(h.scheduler.retiring(), []);
  });

  it("never evicts a retiring group to make room", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b"), modelConfig("c")] });
    const old = h.group("a");
    const lease = await h.acquire("a");
    mock.timers.tick(10);
    await h.use("b");
    h.scheduler.adopt([h.group("b"), h.group("c")], h.limits);
    await h.use("c");
    assert.equal(h.backend(old).stops, 0);
    assert.equal(h.backend("b").stops, 1, "the idle current model made room instead");
    lease.release();
    await eventually("the retired group stopped", () => h.backend(old).stops === 1);
  });

  it("stops a retiring group before the model waiting for its room starts", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")], maxLoadedModels: 1 });
    const lease = await h.acquire("a");
    h.scheduler.adopt([h.group("b")], h.limits);
    const b = watch(h.acquire("b"));
    await settle();
    assert.equal(b.settled, false, "the retiring group still fills maxLoadedModels");
    lease.release();
    await eventually("b served", () => b.settled);
    assert.equal(b.error, undefined);
    assert.deepEqual(h.journal, ["a#0 start", "a#0 stop", "b#0 start"]);
  });

  it("sends a request that looked up a stopped retired group to the current group of its id", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")] });
    const old = h.group("a");
    await h.use("a");
    const launch = { kind: "model", model: "/models/a.gguf", args: ["-c", "8192"] } as const;
    const [next] = h.build([modelConfig("a", { launch })]);
    assert.ok(next !== undefined);
    h.scheduler.adopt([next, h.group("b")], h.limits);
    await eventually("the old group stopped", () => h.backend(old).stops === 1);
    const lease = await h.acquire(old);
    assert.equal(lease.instance, h.backend(next).name);
    assert.equal(h.backend(next).starts, 1);
    assert.equal(h.backend(old).starts, 1);
    assert.deepEqual(h.unloads, ["a replaced"]);
  });

  it("answers model_not_found to a request for a retired group whose id was removed", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")] });
    const old = h.group("a");
    h.scheduler.adopt([h.group("b")], h.limits);
    await assert.rejects(h.acquire(old), (error) => codeOf(error) === "model_not_found");
    assert.equal(h.backend(old).starts, 0);
  });
});

describe("unload", () => {
  it("without force waits for the lease in flight, then stops", async () => {
    const h = new Harness({ models: [modelConfig("a")] });
    const lease = await h.acquire("a");
    const unload = watch(h.scheduler.unload(h.group("a"), { force: false, drainTimeoutMs: 10_000 }));
    await settle();
    assert.equal(unload.settled, false);
    assert.equal(h.backend("a").stops, 0);
    lease.release();
    await eventually("the unload", () => unload.settled);
    assert.equal(unload.error, undefined);
    assert.equal(h.backend("a").stops, 1);
    assert.deepEqual(h.unloads, ["a admin"]);
  });

  it("without force answers model_busy once the drain timeout passes", async () => {
    const h = new Harness({ models: [modelConfig("a")] });
    await h.acquire("a");
    const unload = watch(h.scheduler.unload(h.group("a"), { force: false, drainTimeoutMs: 10_000 }));
    await settle();
    mock.timers.tick(10_000);
    await eventually("the unload answered", () => unload.settled);
    assert.equal(codeOf(unload.error), "model_busy");
    assert.equal(h.backend("a").stops, 0);
    assert.equal(h.group("a").resident, true);
  });

  it("with force kills at once, cutting the lease in flight", async () => {
    const h = new Harness({ models: [modelConfig("a")] });
    await h.acquire("a");
    await h.scheduler.unload(h.group("a"), { force: true, drainTimeoutMs: 10_000 });
    assert.equal(h.backend("a").kills, 1);
    assert.equal(h.backend("a").stops, 0);
    assert.equal(h.group("a").resident, false);
  });

  it("with force kills at once even while another model waits for room", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")], maxLoadedModels: 1 });
    const lease = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    const unload = watch(h.scheduler.unload(h.group("a"), { force: true, drainTimeoutMs: 10_000 }));
    await eventually("the kill", () => unload.settled);
    assert.equal(h.backend("a").kills, 1);
    lease.release();
    await eventually("b served", () => b.settled);
    assert.equal(b.error, undefined);
  });
});

describe("load", () => {
  it("makes room and starts the model", async () => {
    const h = new Harness({ models: [modelConfig("a"), modelConfig("b")], maxLoadedModels: 1 });
    await h.use("a");
    await h.scheduler.load(h.group("b"));
    assert.equal(h.backend("a").stops, 1);
    assert.equal(h.backend("b").starts, 1);
    assert.equal(h.backend("b").state, "ready");
    assert.equal(h.group("b").resident, true);
    assert.equal(h.group("b").holds, 0);
    assert.deepEqual(h.unloads, ["a evicted"]);
  });

  it("rejects with the start's error", async () => {
    const h = new Harness({ models: [modelConfig("a")], start: "hold" });
    const load = watch(h.scheduler.load(h.group("a")));
    await settle();
    h.backend("a").failStart(new Error("exited while loading"));
    await eventually("the load answered", () => load.settled);
    assert.equal((load.error as Error).message, "exited while loading");
  });
});
