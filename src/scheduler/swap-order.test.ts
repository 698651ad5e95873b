import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, it, mock } from "node:test";
import {
  codeOf,
  eventually,
  Harness,
  modelConfig,
  settle,
  type Watched,
  watch,
} from "../../test/support/scheduler-harness.js";
import type { Lease } from "./lease.js";

// Swap order: the starvation bound (limits.swapDelayMs, docs/routing.md). The scheduler's clock
// and every deadline run on mocked time: the bound passes when the test ticks.
beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 }));
afterEach(() => mock.timers.reset());

const SLOW = { queueTimeoutMs: 60_000, maxQueue: 50 };

/** Two models that do not fit together; `a` has 4 slots so new requests for it go straight in. */
function twoModels(swapDelayMs: number, a = {}): Harness {
  return new Harness({
    models: [modelConfig("a", { ...SLOW, maxConcurrent: 4, ...a }), modelConfig("b", SLOW)],
    maxLoadedModels: 1,
    swapDelayMs,
  });
}

async function served(request: Watched<Lease>, what: string): Promise<Lease> {
  await eventually(what, () => request.settled);
  assert.equal(request.error, undefined, `${what}: ${codeOf(request.error)}`);
  return request.value as Lease;
}

describe("swapDelay 0: first come, first served across models", () => {
  it("a request for the loaded model that arrives after a room waiter waits behind it", async () => {
    const h = twoModels(0);
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    const a2 = watch(h.acquire("a"));
    await settle();
    assert.equal(b.settled, false, "a is busy");
    assert.equal(a2.settled, false, "a2 is held back behind b, though a has free slots");
    assert.equal(h.group("a").holds, 1, "a2 does not hold a, so a can become idle");

    a1.release();
    const bLease = await served(b, "b served");
    await settle();
    assert.equal(a2.settled, false, "b loaded first; a2 now waits for room for a");
    assert.deepEqual(h.journal, ["a#0 start", "a#0 stop", "b#0 start"]);

    bLease.release();
    (await served(a2, "a2 served")).release();
    assert.deepEqual(h.journal, ["a#0 start", "a#0 stop", "b#0 start", "b#0 stop", "a#0 start"]);
  });

  it("gives room to the oldest waiter first: b, then c, then the held-back a", async () => {
    const h = new Harness({
      models: [modelConfig("a", SLOW), modelConfig("b", SLOW), modelConfig("c", SLOW)],
      maxLoadedModels: 1,
      swapDelayMs: 0,
    });
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    mock.timers.tick(1);
    const c = watch(h.acquire("c"));
    await settle();
    mock.timers.tick(1);
    const a2 = watch(h.acquire("a"));
    await settle();
    a1.release();
    (await served(b, "b served")).release();
    (await served(c, "c served")).release();
    (await served(a2, "a2 served")).release();
    const starts = h.journal.filter((line) => line.endsWith("start"));
    assert.deepEqual(starts, ["a#0 start", "b#0 start", "c#0 start", "a#0 start"]);
  });
});

describe("swapDelay 10 s: fewer swaps, bounded wait", () => {
  it("serves new requests for the loaded model until the bound, then holds them back", async () => {
    const h = twoModels(10_000);
    const early = [await h.acquire("a")];
    const b = watch(h.acquire("b"));
    await settle();
    // Before the bound: a keeps serving newcomers (one swap later serves them all).
    mock.timers.tick(5_000);
    early.push(await h.acquire("a"));
    mock.timers.tick(4_999);
    early.push(await h.acquire("a"));
    assert.equal(b.settled, false);

    mock.timers.tick(1);
    const late = watch(h.acquire("a"));
    await settle();
    assert.equal(late.settled, false, "past the bound a newcomer for a waits behind b");
    assert.equal(h.group("a").holds, 3, "only the earlier requests hold a");

    early[0]?.release();
    early[1]?.release();
    await settle();
    assert.equal(b.settled, false, "a still serves an earlier request");
    early[2]?.release();
    const bLease = await served(b, "b served once a's earlier requests finished");
    assert.equal(late.settled, false);
    bLease.release();
    (await served(late, "the held-back a request served after b")).release();
    assert.deepEqual(h.unloads, ["a evicted", "b evicted"]);
  });

  it("a room waiter waits at most swapDelay plus the drain of what held the model at the bound", async () => {
    // a: one slot and a queue; a steady stream of one new request and one finished request per
    // second would keep it busy forever without the bound.
    const h = new Harness({
      models: [modelConfig("a", { ...SLOW, maxConcurrent: 1 }), modelConfig("b", SLOW)],
      maxLoadedModels: 1,
      swapDelayMs: 10_000,
    });
    const line: Watched<Lease>[] = [watch(h.acquire("a")), watch(h.acquire("a"))];
    await settle();
    const start = Date.now();
    const b = watch(h.acquire("b"));
    await settle();
    let holdsAtBound = -1;
    for (let second = 1; second <= 30 && !b.settled; second++) {
      mock.timers.tick(1_000);
      if (Date.now() - start === 10_000) holdsAtBound = h.group("a").holds;
      line.push(watch(h.acquire("a")));
      const running = line.find((request) => request.settled && request.value !== undefined);
      running?.value?.release();
      line.splice(line.indexOf(running as Watched<Lease>), 1);
      await settle();
    }
    const waited = Date.now() - start;
    assert.equal(b.error, undefined);
    assert.equal(b.settled, true, "b was served");
    assert.ok(holdsAtBound > 0, "a was busy at the bound");
    assert.ok(waited >= 10_000, `b waited ${waited} ms: a kept serving until the bound`);
    assert.ok(
      waited <= 10_000 + holdsAtBound * 1_000,
      `b waited ${waited} ms, more than 10 s + the drain of ${holdsAtBound} requests`,
    );
    for (const request of line) {
      request.value?.release();
      await settle();
    }
  });

  it("never holds back requests for a pinned model; holds back the evictable one", async () => {
    const h = new Harness({
      models: [
        modelConfig("a", { ...SLOW, pinned: true, maxConcurrent: 4 }),
        modelConfig("b", SLOW),
        modelConfig("c", { ...SLOW, maxConcurrent: 4 }),
      ],
      maxLoadedModels: 2,
      swapDelayMs: 0,
    });
    const a1 = await h.acquire("a");
    const c1 = await h.acquire("c");
    const b = watch(h.acquire("b"));
    await settle();
    assert.equal(b.settled, false);
    (await h.acquire("a")).release();
    const c2 = watch(h.acquire("c"));
    await settle();
    assert.equal(c2.settled, false, "c is the model b can replace: held back");
    c1.release();
    (await served(b, "b served in c's place")).release();
    (await served(c2, "c2 served")).release();
    a1.release();
    assert.deepEqual(h.unloads, ["c evicted", "b evicted"]);
  });
});

describe("the bound keeps the scheduler's other promises", () => {
  it("a held-back request still gets queue_timeout at its deadline, and so does the waiter", async () => {
    const h = new Harness({
      models: [modelConfig("a", { maxConcurrent: 4 }), modelConfig("b")],
      maxLoadedModels: 1,
      swapDelayMs: 0,
    });
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    const a2 = watch(h.acquire("a"));
    await settle();
    mock.timers.tick(1_000);
    await eventually("both timed out", () => a2.settled && b.settled);
    assert.equal(codeOf(a2.error), "queue_timeout");
    assert.equal(codeOf(b.error), "queue_timeout");
    // With nobody waiting, a serves newcomers again.
    (await h.acquire("a")).release();
    a1.release();
    assert.equal(h.group("a").holds, 0);
  });

  it("a held-back request whose client goes away leaves the line", async () => {
    const h = twoModels(0);
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    const client = new AbortController();
    const a2 = watch(h.acquire("a", client.signal));
    await settle();
    client.abort(new Error("client left"));
    await eventually("a2 left", () => a2.settled);
    assert.equal(String(a2.error), "Error: client left");
    a1.release();
    (await served(b, "b served")).release();
    assert.equal(h.group("a").holds, 0);
  });

  it("held-back requests count against maxQueue", async () => {
    const h = twoModels(0, { maxQueue: 0, maxConcurrent: 2 });
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    const a2 = watch(h.acquire("a"));
    await settle();
    assert.equal(a2.settled, false, "one unleased slot: one may wait");
    await assert.rejects(h.acquire("a"), (error) => codeOf(error) === "queue_full");
    a1.release();
    (await served(b, "b served")).release();
    (await served(a2, "a2 served")).release();
  });

  it("cancelWaiting (shutdown) answers held-back requests too", async () => {
    const h = twoModels(0);
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    const a2 = watch(h.acquire("a"));
    await settle();
    h.scheduler.cancelWaiting(new Error("shutting down"));
    await eventually("both answered", () => a2.settled && b.settled);
    assert.equal(String(a2.error), "Error: shutting down");
    assert.equal(String(b.error), "Error: shutting down");
    a1.release();
  });

  it("a reload (adopt) with another swapDelay applies to the next request and to held-back ones", async () => {
    const h = twoModels(10_000);
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    const a2 = await h.acquire("a");
    h.scheduler.adopt(h.scheduler.groups(), { ...h.limits, swapDelayMs: 0 });
    const a3 = watch(h.acquire("a"));
    await settle();
    assert.equal(a3.settled, false, "swapDelay 0 now: held back");
    h.scheduler.adopt(h.scheduler.groups(), { ...h.limits, swapDelayMs: 60_000 });
    const a3Lease = await served(a3, "a longer bound lets a3 go");
    for (const lease of [a1, a2, a3Lease]) lease.release();
    (await served(b, "b served")).release();
  });

  it("a retiring group is never held back: it only finishes what it holds", async () => {
    const h = twoModels(0);
    const a1 = await h.acquire("a");
    const b = watch(h.acquire("b"));
    await settle();
    const old = h.group("a");
    const [next] = h.build([modelConfig("a", { ...SLOW, maxConcurrent: 4 })]);
    assert.ok(next !== undefined);
    h.scheduler.adopt([next, h.group("b")], h.limits);
    // A request that looked up the old group while it still runs is served by it.
    const late = await h.acquire(old);
    late.release();
    a1.release();
    (await served(b, "b served once the retiring a stopped")).release();
  });
});
