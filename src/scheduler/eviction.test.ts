import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseVictims, type EvictionDecision, type LoadedModel } from "./eviction.js";

const GiB = 1024 ** 3;

function loaded(
  id: string,
  lastUsedAt: number,
  inFlight = 0,
  pinned = false,
  bytes = 0,
  loadMs = 0,
): LoadedModel {
  return { id, lastUsedAt, inFlight, pinned, bytes, loadMs };
}

interface Case {
  name: string;
  wanted: string;
  wantedBytes?: number;
  running: LoadedModel[];
  max: number;
  budget?: number;
  expect: EvictionDecision;
}

const cases: Case[] = [
  {
    name: "room left: load without eviction",
    wanted: "b",
    running: [loaded("a", 1)],
    max: 2,
    expect: { kind: "load", victims: [] },
  },
  {
    name: "already loaded: nothing to do",
    wanted: "a",
    running: [loaded("a", 1), loaded("b", 2)],
    max: 2,
    expect: { kind: "load", victims: [] },
  },
  {
    name: "full: evict the least recently used",
    wanted: "c",
    running: [loaded("a", 5), loaded("b", 3)],
    max: 2,
    expect: { kind: "load", victims: ["b"] },
  },
  {
    name: "LRU is busy: evict the next idle one",
    wanted: "c",
    running: [loaded("a", 1, 2), loaded("b", 3)],
    max: 2,
    expect: { kind: "load", victims: ["b"] },
  },
  {
    name: "every loaded model busy: wait",
    wanted: "c",
    running: [loaded("a", 1, 1), loaded("b", 3, 4)],
    max: 2,
    expect: { kind: "wait" },
  },
  {
    name: "pinned models are never victims",
    wanted: "c",
    running: [loaded("a", 1, 0, true), loaded("b", 3)],
    max: 2,
    expect: { kind: "load", victims: ["b"] },
  },
  {
    name: "pinned models fill the limit: impossible",
    wanted: "c",
    running: [loaded("a", 1, 0, true)],
    max: 1,
    expect: { kind: "impossible", reason: "1 pinned models fill maxLoadedModels 1" },
  },
  {
    name: "over the limit (after a config change): evict several, oldest first",
    wanted: "d",
    running: [loaded("a", 9), loaded("b", 2), loaded("c", 4)],
    max: 2,
    expect: { kind: "load", victims: ["b", "c"] },
  },
  {
    name: "max 1, idle other: swap",
    wanted: "b",
    running: [loaded("a", 1)],
    max: 1,
    expect: { kind: "load", victims: ["a"] },
  },
  {
    name: "equal ages: deterministic by id",
    wanted: "c",
    running: [loaded("b", 1), loaded("a", 1)],
    max: 2,
    expect: { kind: "load", victims: ["a"] },
  },
  {
    name: "memory: fits in the budget without eviction",
    wanted: "c",
    wantedBytes: 4 * GiB,
    budget: 20 * GiB,
    max: 10,
    running: [loaded("a", 1, 0, false, 8 * GiB), loaded("b", 2, 0, false, 8 * GiB)],
    expect: { kind: "load", victims: [] },
  },
  {
    name: "memory: evict least recently used until the new model fits",
    wanted: "d",
    wantedBytes: 10 * GiB,
    budget: 20 * GiB,
    max: 10,
    running: [
      loaded("a", 1, 0, false, 4 * GiB),
      loaded("b", 2, 0, false, 4 * GiB),
      loaded("c", 3, 0, false, 8 * GiB),
    ],
    expect: { kind: "load", victims: ["a", "b"] },
  },
  {
    name: "memory: the only idle model is not enough, the busy one must finish first",
    wanted: "c",
    wantedBytes: 12 * GiB,
    budget: 20 * GiB,
    max: 10,
    running: [loaded("a", 1, 0, false, 2 * GiB), loaded("b", 2, 3, false, 16 * GiB)],
    expect: { kind: "wait" },
  },
  {
    name: "memory: larger than what pinned models leave is impossible",
    wanted: "c",
    wantedBytes: 15 * GiB,
    budget: 20 * GiB,
    max: 10,
    running: [loaded("a", 1, 0, true, 8 * GiB)],
    expect: {
      kind: "impossible",
      reason: "model c needs 15.0 GiB but pinned models leave 12.0 GiB of the 20.0 GiB memory budget",
    },
  },
  {
    name: "no budget: load time is ignored, pure LRU",
    wanted: "c",
    running: [loaded("slow", 1_000, 0, false, 0, 20_000), loaded("fast", 5_000, 0, false, 0, 500)],
    max: 2,
    expect: { kind: "load", victims: ["slow"] },
  },
  {
    name: "budget: a model slow to load counts as used loadMs later (cheap one goes first)",
    wanted: "c",
    wantedBytes: 8 * GiB,
    budget: 16 * GiB,
    max: 10,
    running: [
      loaded("slow", 1_000, 0, false, 8 * GiB, 20_000),
      loaded("fast", 5_000, 0, false, 8 * GiB, 500),
    ],
    expect: { kind: "load", victims: ["fast"] },
  },
  {
    name: "budget: idle long enough, the slow one goes after all (key = lastUsedAt + loadMs)",
    wanted: "c",
    wantedBytes: 8 * GiB,
    budget: 16 * GiB,
    max: 10,
    running: [
      loaded("slow", 1_000, 0, false, 8 * GiB, 20_000),
      loaded("fast", 30_000, 0, false, 8 * GiB, 500),
    ],
    expect: { kind: "load", victims: ["slow"] },
  },
  {
    name: "budget: unknown load times (0) fall back to LRU",
    wanted: "d",
    wantedBytes: 8 * GiB,
    budget: 16 * GiB,
    max: 10,
    running: [
      loaded("a", 3, 0, false, 4 * GiB),
      loaded("b", 2, 0, false, 4 * GiB),
      loaded("c", 9, 0, false, 8 * GiB),
    ],
    expect: { kind: "load", victims: ["b", "a"] },
  },
  {
    name: "budget: equal keys are broken by id",
    wanted: "c",
    wantedBytes: 8 * GiB,
    budget: 16 * GiB,
    max: 10,
    running: [loaded("b", 1_000, 0, false, 8 * GiB, 0), loaded("a", 500, 0, false, 8 * GiB, 500)],
    expect: { kind: "load", victims: ["a"] },
  },
  {
    name: "budget: a busy cheap model is still never a victim",
    wanted: "c",
    wantedBytes: 8 * GiB,
    budget: 16 * GiB,
    max: 10,
    running: [
      loaded("slow", 1_000, 0, false, 8 * GiB, 20_000),
      loaded("fast", 5_000, 1, false, 8 * GiB, 500),
    ],
    expect: { kind: "load", victims: ["slow"] },
  },
];

for (const c of cases) {
  test(`eviction: ${c.name}`, () => {
    const limits = { maxLoadedModels: c.max, memoryBudgetBytes: c.budget ?? null, swapDelayMs: 0 };
    assert.deepEqual(chooseVictims({ id: c.wanted, bytes: c.wantedBytes ?? 0 }, c.running, limits), c.expect);
  });
}
