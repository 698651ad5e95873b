import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeBackend } from "../../test/support/fake-backend.js";
import { eventually, modelConfig, settle, watch } from "../../test/support/scheduler-harness.js";
import type { Lease } from "./lease.js";
import { ModelGroup } from "./model-group.js";

const FAR = Number.POSITIVE_INFINITY;

function groupOf(instances: number, maxConcurrent: number, start: "succeed" | "hold" = "succeed") {
  const fakes = Array.from({ length: instances }, (_, i) => new FakeBackend(`m#${i}`, { start }));
  const group = new ModelGroup(modelConfig("m", { instances, maxConcurrent }), fakes, {
    onIdle: () => {},
    onCooledDown: () => {},
  });
  return { group, fakes, signal: new AbortController().signal };
}

/** `lease`: take a slot and keep it; `use`: take one and release it at once; `release`: the n-th kept lease. */
type Step = { readonly lease: string } | { readonly use: string } | { readonly release: number };

interface DispatchCase {
  readonly name: string;
  readonly instances: number;
  readonly maxConcurrent: number;
  /** The instance each lease or use is expected on. */
  readonly steps: readonly Step[];
}

const dispatchCases: DispatchCase[] = [
  {
    name: "round-robin among equally idle instances",
    instances: 3,
    maxConcurrent: 2,
    steps: [{ use: "m#0" }, { use: "m#1" }, { use: "m#2" }, { use: "m#0" }],
  },
  {
    name: "the least busy instance first",
    instances: 2,
    maxConcurrent: 4,
    steps: [
      { lease: "m#0" },
      { lease: "m#1" },
      { lease: "m#0" },
      { release: 0 },
      { release: 2 },
      { lease: "m#0" },
    ],
  },
  {
    name: "a full instance is skipped",
    instances: 2,
    maxConcurrent: 1,
    steps: [{ lease: "m#0" }, { use: "m#1" }, { use: "m#1" }, { release: 0 }, { use: "m#0" }],
  },
];

describe("dispatch across instances", () => {
  for (const c of dispatchCases) {
    it(c.name, async () => {
      const { group, signal } = groupOf(c.instances, c.maxConcurrent);
      const kept: Lease[] = [];
      for (const step of c.steps) {
        if ("release" in step) {
          kept[step.release]?.release();
          continue;
        }
        const lease = await group.lease(signal, FAR);
        assert.equal(lease.instance, "lease" in step ? step.lease : step.use);
        if ("lease" in step) kept.push(lease);
        else lease.release();
      }
    });
  }

  it("sends nothing to an instance that is not ready yet", async () => {
    const { group, fakes, signal } = groupOf(2, 1, "hold");
    const first = watch(group.lease(signal, FAR));
    await settle();
    fakes[1]?.completeStart();
    await eventually("the first lease", () => first.settled);
    assert.equal(first.value?.instance, "m#1");
    const second = watch(group.lease(signal, FAR));
    await settle();
    assert.equal(second.settled, false, "m#1 is full and m#0 is still loading");
    fakes[0]?.completeStart();
    await eventually("the second lease", () => second.settled);
    assert.equal(second.value?.instance, "m#0");
  });

  it("keeps requests away from a suspected instance until it is ready again", async () => {
    const { group, fakes, signal } = groupOf(2, 4);
    const lease = await group.lease(signal, FAR);
    assert.equal(lease.instance, "m#0");
    lease.suspect();
    lease.release();
    for (let i = 0; i < 3; i++) assert.equal((await group.lease(signal, FAR)).instance, "m#1");
    fakes[0]?.crash();
    fakes[0]?.completeStart();
    assert.equal((await group.lease(signal, FAR)).instance, "m#0");
  });

  it("knows which request ids are on which instance, for the crash log", async () => {
    const { group, signal } = groupOf(2, 2);
    const a = await group.lease(signal, FAR, "req-a");
    const b = await group.lease(signal, FAR, "req-b");
    await group.lease(signal, FAR);
    assert.deepEqual(group.requestsOn(a.instance), ["req-a"], "a lease without an id is not named");
    assert.deepEqual(group.requestsOn(b.instance), ["req-b"]);
    a.release();
    assert.deepEqual(group.requestsOn(a.instance), ["req-a"], "just ended: still a suspect");
    assert.deepEqual(group.requestsOn("m#9"), []);
  });

  it("a reconfigure with more slots serves the line at once", async () => {
    const { group, signal } = groupOf(1, 1);
    await group.lease(signal, FAR);
    const waiting = [watch(group.lease(signal, FAR)), watch(group.lease(signal, FAR))];
    await settle();
    assert.equal(waiting.filter((w) => w.settled).length, 0);
    group.reconfigure(modelConfig("m", { maxConcurrent: 3 }));
    await eventually("the line served", () => waiting.every((w) => w.settled));
    for (const w of waiting) assert.equal(w.value?.instance, "m#0");
  });

  it("a lease whose instance stopped before it was sent answers backend_crashed", async () => {
    const { group, fakes, signal } = groupOf(1, 1);
    const first = await group.lease(signal, FAR);
    const next = watch(group.lease(signal, FAR));
    await settle();
    first.release();
    // The slot is handed to the waiter; the instance dies before the waiter takes it.
    fakes[0]?.crash();
    await eventually("the waiter answered", () => next.settled);
    assert.equal((next.error as { code?: string } | undefined)?.code, "backend_crashed");
    assert.deepEqual(
      group.instances().map((i) => i.inFlight),
      [0],
    );
  });
});
