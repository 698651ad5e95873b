import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { FakeBackend } from "../../test/support/fake-backend.js";
import { modelConfig } from "../../test/support/scheduler-harness.js";
import type { Conversation } from "./affinity-table.js";
import type { Endpoint } from "./backend.js";
import type { Lease } from "./lease.js";
import { ModelGroup } from "./model-group.js";
import type { SavedSlot, SlotContent, SlotKeeper } from "./slot-keeper.js";

const FAR = Number.POSITIVE_INFINITY;

/** Records what the group asks; restores succeed unless `failing`, and take `restoreMs`. */
class FakeKeeper implements SlotKeeper {
  readonly saved = new Map<string, SavedSlot>();
  readonly saves: string[] = [];
  readonly restores: string[] = [];
  failing = false;
  predictedRestoreMs = 10;

  async saveAll(contents: readonly SlotContent[]): Promise<void> {
    for (const content of [...contents].sort((a, b) => b.lastUsedAt - a.lastUsedAt)) {
      this.saves.push(`${content.key}@${content.slot}`);
      this.saved.set(content.key, { key: content.key, tokens: 7000, bytes: 1000 });
    }
  }

  find(keys: readonly string[]): SavedSlot | null {
    for (let i = keys.length - 1; i >= 0; i--) {
      const saved = this.saved.get(keys[i] as string);
      if (saved !== undefined) return saved;
    }
    return null;
  }

  restoreMs(): number {
    return this.predictedRestoreMs;
  }

  async restore(_endpoint: Endpoint, slot: number, saved: SavedSlot): Promise<boolean> {
    this.restores.push(`${saved.key}@${slot}`);
    return !this.failing;
  }
}

function talk(name: string, turns: number): Conversation {
  return { keys: Array.from({ length: turns }, (_, i) => `${name}${i}`), promptTokens: 7000 };
}

function setup() {
  const keeper = new FakeKeeper();
  const model = modelConfig("m", { affinity: true, instances: 1, maxConcurrent: 2, llamaSlots: 2 });
  const group = new ModelGroup(
    model,
    [new FakeBackend("m#0")],
    { onIdle: () => {}, onCooledDown: () => {} },
    keeper,
  );
  return { keeper, group, signal: new AbortController().signal };
}

async function use(group: ModelGroup, signal: AbortSignal, conversation: Conversation, prefill?: number) {
  const lease = await group.lease(signal, FAR, undefined, conversation);
  if (prefill !== undefined) lease.notePrefill(prefill);
  lease.release();
  return lease;
}

function reason(lease: Lease): string {
  return `${lease.route?.reason}@${lease.route?.slot}`;
}

describe("slot caches kept across an unload", () => {
  it("saves what each slot holds, most recently used first, before its children stop", async () => {
    const { keeper, group, signal } = setup();
    await use(group, signal, talk("a", 1));
    await use(group, signal, talk("b", 1));
    await use(group, signal, talk("a", 3));
    await group.stop();
    assert.deepEqual(keeper.saves, ["a2@0", "b0@1"]);
  });

  it("restores a returning conversation into a slot when that beats recomputing it", async () => {
    const { keeper, group, signal } = setup();
    // 100 tokens/s: recomputing 7000 tokens takes 70 s; the restore is predicted at 10 ms.
    await use(group, signal, talk("a", 1), 100);
    await group.stop();
    const back = await use(group, signal, talk("a", 3));
    assert.equal(reason(back), "restored@0");
    assert.deepEqual(keeper.restores, ["a0@0"]);
    const next = await use(group, signal, talk("a", 5));
    assert.equal(reason(next), "affinity@0", "then it is a live conversation again");
  });

  it("recomputes when reading would be slower, without touching the file", async () => {
    const { keeper, group, signal } = setup();
    await use(group, signal, talk("a", 1), 1_000_000); // 7000 tokens in 7 ms
    await group.stop();
    keeper.predictedRestoreMs = 50;
    assert.equal(reason(await use(group, signal, talk("a", 2))), "recomputed@0");
    assert.deepEqual(keeper.restores, []);
  });

  it("a restore that fails (missing or corrupt file) recomputes", async () => {
    const { keeper, group, signal } = setup();
    await use(group, signal, talk("a", 1), 100);
    await group.stop();
    keeper.failing = true;
    assert.equal(reason(await use(group, signal, talk("a", 2))), "recomputed@0");
    assert.equal(keeper.restores.length, 1);
  });

  it("a conversation served live since needs no restore; one never saved is least-busy", async () => {
    const { keeper, group, signal } = setup();
    await use(group, signal, talk("a", 1), 100);
    await group.stop();
    assert.equal(reason(await use(group, signal, talk("z", 1))), "least-busy@0");
    assert.equal(reason(await use(group, signal, talk("z", 2))), "affinity@0");
    assert.deepEqual(keeper.restores, []);
  });

  it("a crash (a new process) forgets where conversations were: the saved copy is what is left", async () => {
    const keeper = new FakeKeeper();
    const model = modelConfig("m", { affinity: true, instances: 1, maxConcurrent: 2, llamaSlots: 2 });
    const fake = new FakeBackend("m#0");
    const group = new ModelGroup(model, [fake], { onIdle: () => {}, onCooledDown: () => {} }, keeper);
    const signal = new AbortController().signal;
    await use(group, signal, talk("a", 1), 100);
    fake.crash();
    fake.completeStart();
    assert.equal(reason(await use(group, signal, talk("a", 2))), "least-busy@0", "nothing saved: recomputed");
  });
});
