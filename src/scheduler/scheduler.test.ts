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
import type { ModelConfig } from "../config/types.js";
import { GatewayError } from "../errors/gateway-error.js";
import type { Lease } from "./lease.js";

// The scheduler's clock, its ttl timers and the FIFO line's deadlines all run on mocked time:
// a deadline passes when the test ticks, never by waiting.
beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

describe("lazy load", () => {
  it("starts nothing before the first request", () => {
    const h = new Harness({ models: [modelConfig("a")] });
    assert.equal(h.backend("a").starts, 0);
    assert.equal(h.group("a").resident, false);
  });

  it("starts a cold model exactly once for 100 concurrent requests, and serves them all", async () => {
    const h = new Harness({
      models: [modelConfig("a", { maxConcurrent: 4, maxQueue: 100 })],
      start: "hold",
    });
    const requests = Array.from({ length: 100 }, () => watch(h.acquire("a")));
    await settle();
    assert.equal(h.backend("a").starts, 1);
    assert.equal(requests.filter((r) => r.settled).length, 0, "nobody is served before it is ready");

    h.backend("a").completeStart();
    await eventually("4 leases", () => requests.filter((r) => r.settled).length === 4);
    assert.equal(h.group("a").waiting, 96);
    // Releasing each lease as it arrives serves the whole line on the 4 slots.
    const released = new Set<Lease>();
    await eventually("every request served", () => {
      for (const r of requests) {
        if (r.value !== undefined && !released.has(r.value)) {
          released.add(r.value);
          r.value.release();
        }
      }
      return released.size === 100;
    });
    assert.equal(h.backend("a").starts, 1);
    assert.equal(h.group("a").holds, 0);
  });
});

type Step = { readonly use: string } | { readonly hold: string } | { readonly park: string };

interface EvictionCase {
  readonly name: string;
  readonly models: readonly ModelConfig[];
  readonly max: number;
  readonly steps: readonly Step[];
  readonly wanted: string;
  /** The held model whose release lets `wanted` load; absent: it loads at once. */
  readonly waitsFor?: string;
  /** Models stopped to make room (onUnload "evicted"). */
  readonly evicted: readonly string[];
}

const abc = [modelConfig("a"), modelConfig("b"), modelConfig("c")];

const evictionCases: EvictionCase[] = [
  {
    name: "room left: nothing is stopped",
    models: abc,
    max: 3,
    steps: [{ use: "a" }, { use: "b" }],
    wanted: "c",
    evicted: [],
  },
  {
    name: "full: the least recently used idle model is stopped",
    models: abc,
    max: 2,
    steps: [{ use: "a" }, { use: "b" }, { use: "a" }],
    wanted: "c",
    evicted: ["b"],
  },
  {
    name: "a busy model is never stopped, even when it is the least recently used",
    models: abc,
    max: 2,
    steps: [{ hold: "a" }, { use: "b" }],
    wanted: "c",
    evicted: ["b"],
  },
  {
    name: "a pinned model is never stopped",
    models: [modelConfig("a", { pinned: true }), modelConfig("b"), modelConfig("c")],
    max: 2,
    steps: [{ use: "a" }, { use: "b" }],
    wanted: "c",
    evicted: ["b"],
  },
  {
    name: "a parked model makes room first, even when used last",
    models: abc,
    max: 2,
    steps: [{ use: "b" }, { use: "a" }, { park: "a" }],
    wanted: "c",
    evicted: ["a"],
  },
  {
    name: "every loaded model busy: waits, then stops the first one released",
    models: abc,
    max: 2,
    steps: [{ hold: "a" }, { hold: "b" }],
    wanted: "c",
    waitsFor: "b",
    evicted: ["b"],
  },
];

describe("LRU eviction at maxLoadedModels", () => {
  for (const c of evictionCases) {
    it(c.name, async () => {
      const h = new Harness({ models: c.models, maxLoadedModels: c.max });
      const held = new Map<string, Lease>();
      for (const step of c.steps) {
        mock.timers.tick(10);
        if ("use" in step) await h.use(step.use);
        else if ("hold" in step) held.set(step.hold, await h.acquire(step.hold));
        else h.backend(step.park).crash(new GatewayError("model_failed", `${step.park} crashed too often`));
      }
      mock.timers.tick(10);
      const wanted = watch(h.acquire(c.wanted));
      if (c.waitsFor !== undefined) {
        await settle();
        assert.equal(wanted.settled, false, "waits for room");
        assert.deepEqual(h.unloads, []);
        held.get(c.waitsFor)?.release();
      }
      await eventually(`${c.wanted} served`, () => wanted.settled);
      assert.equal(wanted.error, undefined);
      assert.deepEqual(
        h.unloads,
        c.evicted.map((id) => `${id} evicted`),
      );
      for (const model of c.models) {
        const stops = c.evicted.includes(model.id) ? 1 : 0;
        assert.equal(h.backend(model.id).stops, stops, `stops of ${model.id}`);
      }
      assert.equal(h.backend(c.wanted).starts, 1);
    });
  }
});

describe("the FIFO line of a model whose slots are all taken", () => {
  it("hands each freed slot to the longest waiter; a newcomer never overtakes", async () => {
    const h = new Harness({ models: [modelConfig("a", { maxConcurrent: 1 })] });
    const first = await h.acquire("a");
    const order: string[] = [];
    const waiters = ["r1", "r2", "r3"].map((name) => {
      const w = watch(h.acquire("a"));
      w.promise.then(() => order.push(name));
      return w;
    });
    await settle();
    assert.equal(h.group("a").waiting, 3);
    first.release();
    await eventually("r1 served", () => order.length === 1);
    const newcomer = watch(h.acquire("a"));
    newcomer.promise.then(() => order.push("newcomer"));
    for (const w of [...waiters, newcomer]) {
      await eventually("the next one served", () => w.settled);
      w.value?.release();
    }
    assert.deepEqual(order, ["r1", "r2", "r3", "newcomer"]);
  });

  it("answers queue_full when maxQueue requests already wait", async () => {
    const h = new Harness({ models: [modelConfig("a", { maxConcurrent: 1, maxQueue: 2 })] });
    await h.acquire("a");
    const waiting = [watch(h.acquire("a")), watch(h.acquire("a"))];
    await settle();
    await assert.rejects(h.acquire("a"), (error) => codeOf(error) === "queue_full");
    assert.equal(waiting.filter((w) => w.settled).length, 0);
    assert.equal(h.group("a").waiting, 2);
  });

  it("maxQueue 0: the requests a load will give a slot may wait for it; one more is queue_full", async () => {
    const h = new Harness({ models: [modelConfig("a", { maxConcurrent: 2, maxQueue: 0 })] });
    h.backend("a").startMode = "hold";
    const loading = [watch(h.acquire("a")), watch(h.acquire("a"))];
    await settle();
    await assert.rejects(h.acquire("a"), (error) => codeOf(error) === "queue_full");
    h.backend("a").completeStart();
    await eventually("both served by the load", () =>
      loading.every((w) => w.settled && w.value !== undefined),
    );
    // Every slot taken and no queue allowed: the next one is refused at once.
    await assert.rejects(h.acquire("a"), (error) => codeOf(error) === "queue_full");
  });

  it("answers queue_timeout when the deadline passes, and the request leaves the line", async () => {
    const h = new Harness({ models: [modelConfig("a", { maxConcurrent: 1, queueTimeoutMs: 1_000 })] });
    await h.acquire("a");
    const late = watch(h.acquire("a"));
    await settle();
    mock.timers.tick(999);
    await settle();
    assert.equal(late.settled, false);
    mock.timers.tick(1);
    await eventually("the timeout", () => late.settled);
    assert.equal(codeOf(late.error), "queue_timeout");
    assert.equal(h.group("a").waiting, 0);
    assert.equal(h.group("a").holds, 1);
  });

  it("answers queue_timeout to a request that waited for room to load", async () => {
    const h = new Harness({ models: abc, maxLoadedModels: 1 });
    await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    mock.timers.tick(1_000);
    await eventually("the timeout", () => b.settled);
    assert.equal(codeOf(b.error), "queue_timeout");
    assert.equal(h.backend("b").starts, 0);
    assert.equal(h.backend("a").stops, 0);
    assert.equal(h.group("b").holds, 0);
  });

  it("keeps a request waiting through a queue timeout longer than setTimeout can hold", async () => {
    const days30 = 30 * 24 * 3_600_000;
    const models = [
      modelConfig("a", { queueTimeoutMs: days30 }),
      modelConfig("b", { queueTimeoutMs: days30 }),
    ];
    const h = new Harness({ models, maxLoadedModels: 1 });
    await h.acquire("a");
    const forSlot = watch(h.acquire("a"));
    const forRoom = watch(h.acquire("b"));
    await settle();
    mock.timers.tick(1_000);
    await settle();
    assert.equal(forSlot.settled, false);
    assert.equal(forRoom.settled, false);
  });

  it("drops a request whose client went away", async () => {
    const h = new Harness({ models: [modelConfig("a", { maxConcurrent: 1 })] });
    const first = await h.acquire("a");
    const client = new AbortController();
    const gone = watch(h.acquire("a", client.signal));
    await settle();
    client.abort(new Error("client closed"));
    await eventually("the abort", () => gone.settled);
    assert.equal((gone.error as Error).message, "client closed");
    first.release();
    assert.equal(h.group("a").holds, 0);
  });
});

describe("ttl", () => {
  it("unloads an idle model once ttlMs passed since its last request", async () => {
    const h = new Harness({ models: [modelConfig("a", { ttlMs: 5_000 })] });
    await h.use("a");
    mock.timers.tick(4_999);
    await h.use("a");
    mock.timers.tick(4_999);
    await settle();
    assert.equal(h.backend("a").stops, 0, "each request restarts the ttl");
    mock.timers.tick(1);
    await eventually("the ttl unload", () => h.backend("a").stops === 1);
    assert.deepEqual(h.unloads, ["a ttl"]);
    assert.equal(h.group("a").resident, false);
  });

  it("never unloads a model with a request in flight", async () => {
    const h = new Harness({ models: [modelConfig("a", { ttlMs: 5_000 })] });
    const lease = await h.acquire("a");
    mock.timers.tick(60_000);
    await settle();
    assert.equal(h.backend("a").stops, 0);
    lease.release();
    mock.timers.tick(5_000);
    await eventually("the ttl unload", () => h.backend("a").stops === 1);
  });
});

describe("tryAcquire: a lease without a promise when nothing has to wait", () => {
  it("is null for an unloaded model, a lease once it is loaded and has a free slot, null when every slot is taken", async () => {
    const h = new Harness({ models: [modelConfig("a", { maxConcurrent: 2, maxQueue: 10 })] });
    const group = h.group("a");
    assert.equal(h.scheduler.tryAcquire(group), null, "unloaded: acquire() loads it");
    assert.equal(group.holds, 0, "a refused try holds nothing");
    await h.use("a");
    const first = h.scheduler.tryAcquire(group);
    const second = h.scheduler.tryAcquire(group);
    assert.notEqual(first, null);
    assert.notEqual(second, null);
    assert.equal(group.holds, 2);
    assert.equal(h.scheduler.tryAcquire(group), null, "no free slot: acquire() queues it");
    assert.equal(group.holds, 2);
    // A request waiting in line keeps its place: a try never jumps it.
    const queued = watch(h.acquire("a"));
    first?.release();
    await eventually("the queued request gets the freed slot", () => queued.settled);
    assert.equal(h.scheduler.tryAcquire(group), null);
    second?.release();
    second?.release();
    queued.value?.release();
    assert.equal(group.holds, 0, "each release lets go of its hold once");
  });

  it("is null once the scheduler is closed, where acquire() answers with the error", async () => {
    const h = new Harness({ models: [modelConfig("a")] });
    await h.use("a");
    h.scheduler.close();
    assert.equal(h.scheduler.tryAcquire(h.group("a")), null);
    await assert.rejects(h.acquire("a"), (error: unknown) => codeOf(error) === "shutting_down");
  });
});
