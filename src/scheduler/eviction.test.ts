import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseVictims, type EvictionDecision, type LoadedModel } from "./eviction.js";

function loaded(id: string, lastUsedAt: number, inFlight = 0, pinned = false): LoadedModel {
  return { id, lastUsedAt, inFlight, pinned };
}

const cases: Array<{
  name: string;
  wanted: string;
  running: LoadedModel[];
  max: number;
  expect: EvictionDecision;
}> = [
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
];

for (const c of cases) {
  test(`eviction: ${c.name}`, () => {
    assert.deepEqual(chooseVictims(c.wanted, c.running, { maxLoadedModels: c.max }), c.expect);
  });
}
