import assert from "node:assert/strict";
import { test } from "node:test";
import { decideRestart, DEFAULT_RESTART_POLICY as P, recentCrashes } from "./crash-history.js";

test("back-off doubles from 1 s with each crash inside the window", () => {
  const now = 100_000;
  assert.deepEqual(decideRestart(recentCrashes([], now, P), P), { kind: "restart", delayMs: 1_000 });
  assert.deepEqual(decideRestart(recentCrashes([now - 5_000], now, P), P), {
    kind: "restart",
    delayMs: 2_000,
  });
  assert.deepEqual(decideRestart(recentCrashes([now - 9_000, now - 5_000], now, P), P), {
    kind: "restart",
    delayMs: 4_000,
  });
});

test("the fifth crash within 60 s parks the child; old crashes fall out of the window", () => {
  const now = 500_000;
  const four = [now - 50_000, now - 40_000, now - 30_000, now - 20_000];
  assert.deepEqual(decideRestart(recentCrashes(four, now, P), P), { kind: "fail", crashes: 5 });
  const stale = [now - 90_000, now - 80_000, now - 70_000, now - 20_000];
  assert.deepEqual(decideRestart(recentCrashes(stale, now, P), P), { kind: "restart", delayMs: 2_000 });
});

test("the back-off is capped", () => {
  const policy = { ...P, maxCrashes: 100, windowMs: 10_000_000 };
  const many = Array.from({ length: 20 }, (_, i) => i);
  assert.deepEqual(decideRestart(recentCrashes(many, 1_000, policy), policy), {
    kind: "restart",
    delayMs: 60_000,
  });
});
