import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeBackend } from "../../test/support/fake-backend.js";
import { modelConfig, settle, watch } from "../../test/support/scheduler-harness.js";
import type { ModelConfig } from "../config/types.js";
import { AffinityTable, type Conversation } from "./affinity-table.js";
import type { Lease } from "./lease.js";
import { ModelGroup } from "./model-group.js";

const FAR = Number.POSITIVE_INFINITY;

function groupOf(overrides: Partial<ModelConfig>) {
  const model = modelConfig("m", { affinity: true, llamaSlots: overrides.maxConcurrent ?? 1, ...overrides });
  const fakes = Array.from({ length: model.instances }, (_, i) => new FakeBackend(`m#${i}`));
  const group = new ModelGroup(model, fakes, { onIdle: () => {}, onCooledDown: () => {} });
  return { group, fakes, signal: new AbortController().signal };
}

/** A conversation of `turns` messages: turn n's keys extend turn n-1's. */
function talk(name: string, turns: number, promptTokens = 7000): Conversation {
  return { keys: Array.from({ length: turns }, (_, i) => `${name}${i}`), promptTokens };
}

function where(lease: Lease): string {
  const route = lease.route;
  return route === null ? "off" : `${route.instance}/${route.slot ?? "-"} ${route.reason}`;
}

describe("AffinityTable", () => {
  it("finds the longest prefix served before, and forgets the oldest beyond its capacity", () => {
    const table = new AffinityTable(2);
    table.remember(talk("a", 2), { instance: 0, slot: 1 });
    table.remember(talk("a", 4), { instance: 1, slot: 0 });
    assert.deepEqual(table.lookup(talk("a", 5)), { instance: 1, slot: 0 });
    assert.deepEqual(table.lookup(talk("a", 3)), { instance: 0, slot: 1 });
    assert.equal(table.lookup(talk("b", 3)), null);
    table.remember(talk("b", 1), { instance: 0, slot: 0 });
    assert.equal(table.size, 2);
    assert.equal(table.lookup(talk("a", 3)), null, "the oldest entry went first");
  });
});

describe("conversation-affine routing", () => {
  it("sends each conversation's next turn to the instance and slot of its previous turn", async () => {
    const { group, signal } = groupOf({ instances: 2, maxConcurrent: 2 });
    const seen: string[] = [];
    // Three conversations, one turn at a time: round-robin would scatter them.
    for (let turn = 1; turn <= 3; turn++) {
      for (const name of ["a", "b", "c"]) {
        const lease = await group.lease(signal, FAR, undefined, talk(name, turn * 2));
        seen.push(`${name}${turn} ${where(lease)}`);
        lease.release();
      }
    }
    assert.deepEqual(seen, [
      "a1 0/0 least-busy",
      "b1 1/0 least-busy",
      "c1 0/1 least-busy",
      "a2 0/0 affinity",
      "b2 1/0 affinity",
      "c2 0/1 affinity",
      "a3 0/0 affinity",
      "b3 1/0 affinity",
      "c3 0/1 affinity",
    ]);
  });

  it("off is today's routing: least busy, round-robin among equals, no route, no slot", async () => {
    const { group, signal } = groupOf({ instances: 2, maxConcurrent: 2, affinity: false });
    const seen: string[] = [];
    for (const name of ["a", "a", "a"]) {
      const lease = await group.lease(signal, FAR, undefined, talk(name, 2));
      seen.push(`${lease.instance} ${where(lease)}`);
      lease.release();
    }
    assert.deepEqual(seen, ["m#0 off", "m#1 off", "m#0 off"]);
    assert.equal(group.routesByConversation, false);
  });

  it("is off with one instance of one slot: there is nowhere else to go", () => {
    assert.equal(groupOf({ instances: 1, maxConcurrent: 1 }).group.routesByConversation, false);
    assert.equal(groupOf({ instances: 1, maxConcurrent: 2 }).group.routesByConversation, true);
  });

  it("is off with one instance whose slots cannot be pinned: no keys are worth computing", () => {
    assert.equal(
      groupOf({ instances: 1, maxConcurrent: 8, llamaSlots: 4 }).group.routesByConversation,
      false,
    );
    assert.equal(groupOf({ instances: 2, maxConcurrent: 8, llamaSlots: 4 }).group.routesByConversation, true);
  });

  it("pins slots only when maxConcurrent is llama-server's slot count", async () => {
    const { group, signal } = groupOf({ instances: 2, maxConcurrent: 8, llamaSlots: 4 });
    const lease = await group.lease(signal, FAR, undefined, talk("a", 1));
    assert.equal(where(lease), "0/- least-busy");
    lease.release();
  });

  it("takes the least recently used free slot for a new conversation", async () => {
    const { group, signal } = groupOf({ instances: 1, maxConcurrent: 3 });
    for (const name of ["a", "b", "c"]) (await group.lease(signal, FAR, undefined, talk(name, 1))).release();
    // a's slot (0) was used longest ago: a new conversation replaces it, not b's or c's.
    const d = await group.lease(signal, FAR, undefined, talk("d", 1));
    assert.equal(where(d), "0/0 least-busy");
    d.release();
    const c = await group.lease(signal, FAR, undefined, talk("c", 2));
    assert.equal(where(c), "0/2 affinity");
    c.release();
  });

  it("without a measured prompt speed, a turn whose instance is full spills at once", async () => {
    const { group, signal } = groupOf({ instances: 2, maxConcurrent: 1 });
    const first = await group.lease(signal, FAR, undefined, talk("a", 1));
    assert.equal(where(first), "0/0 least-busy");
    const next = await group.lease(signal, FAR, undefined, talk("a", 2));
    assert.equal(where(next), "1/0 spilled");
    first.release();
    next.release();
  });

  it("waits for its conversation's instance while that beats recomputing, then spills", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout", "Date"] });
    const { group, signal } = groupOf({ instances: 2, maxConcurrent: 1 });
    const first = await group.lease(signal, FAR, undefined, talk("a", 1));
    // 1000 prompt tokens per second: a 2000-token conversation is worth a 2 s wait.
    first.notePrefill(1000);
    const next = watch(group.lease(signal, FAR, undefined, talk("a", 2, 2000)));
    await settle();
    assert.equal(next.settled, false, "it waits for instance 0 although instance 1 is free");
    assert.equal(next.error, undefined);
    first.release();
    await settle();
    assert.equal(next.error, undefined);
    assert.equal(where(next.value as Lease), "0/0 affinity");
    (next.value as Lease).release();

    const held = await group.lease(signal, FAR, undefined, talk("a", 3, 2000));
    const late = watch(group.lease(signal, FAR, undefined, talk("a", 4, 2000)));
    await settle();
    t.mock.timers.tick(1999);
    await settle();
    assert.equal(late.settled, false);
    t.mock.timers.tick(1);
    await settle();
    assert.equal(
      where(late.value as Lease),
      "1/0 spilled",
      "after the recompute time it takes any free slot",
    );
    held.release();
    (late.value as Lease).release();
  });

  it("a waiter holding out for its instance does not block others from a free one", async () => {
    const { group, signal } = groupOf({ instances: 2, maxConcurrent: 1 });
    const a = await group.lease(signal, FAR, undefined, talk("a", 1));
    a.notePrefill(1000);
    const b = await group.lease(signal, FAR, undefined, talk("b", 1));
    assert.equal(where(b), "1/0 least-busy");
    const aNext = watch(group.lease(signal, FAR, undefined, talk("a", 2, 5000)));
    const other = watch(group.lease(signal, FAR, undefined, talk("z", 1)));
    b.release();
    await settle();
    assert.equal(aNext.settled, false, "instance 1 is not a's");
    assert.equal(where(other.value as Lease), "1/0 least-busy", "the request behind it takes instance 1");
    a.release();
    await settle();
    assert.equal(where(aNext.value as Lease), "0/0 affinity");
    (other.value as Lease).release();
    (aNext.value as Lease).release();
  });

  it("a conversation whose instance was suspected (connection refused) goes to another", async () => {
    const { group, signal } = groupOf({ instances: 2, maxConcurrent: 1 });
    const first = await group.lease(signal, FAR, undefined, talk("a", 1));
    first.suspect();
    first.release();
    const next = await group.lease(signal, FAR, undefined, talk("a", 2));
    assert.equal(where(next), "1/0 spilled");
    next.release();
  });
});
