import assert from "node:assert/strict";
import { test } from "node:test";
import { PaceMeter, type PaceVerdict, tickOf } from "./reader-pace.js";

const PACE = { idleMs: 300_000, minBytesPerSecond: 1024, windowMs: 10_000 };

/** Feeds one sample a second: `rate` bytes taken per second, `waiting` at each; the verdicts. */
function run(
  meter: PaceMeter,
  seconds: number,
  rate: number,
  waiting: (second: number) => boolean,
  start = { at: 0, taken: 0 },
): { verdicts: PaceVerdict[]; end: { at: number; taken: number } } {
  const verdicts: PaceVerdict[] = [];
  let { at, taken } = start;
  for (let s = 0; s < seconds; s++) {
    at += 1000;
    taken += rate;
    verdicts.push(meter.sample(at, taken, waiting(s)));
  }
  return { verdicts, end: { at, taken } };
}

test("a reader taking 200 bytes/s while the gateway waits on it is slow once a whole window has passed", () => {
  const { verdicts } = run(new PaceMeter(PACE), 12, 200, () => true);
  assert.equal(verdicts.indexOf("slow"), 10, "at the first sample a full 10 s after the first");
  assert.ok(verdicts.slice(0, 10).every((v) => v === "ok"));
});

test("a reader at the minimum rate or above is never slow", () => {
  assert.ok(run(new PaceMeter(PACE), 60, 1024, () => true).verdicts.every((v) => v === "ok"));
  assert.ok(run(new PaceMeter(PACE), 60, 50_000, () => true).verdicts.every((v) => v === "ok"));
});

test("a slow llama-server is no fault of its reader: time not waited on the client does not count", () => {
  // 50 bytes/s, but the gateway has nothing the client has not taken: never slow.
  assert.ok(run(new PaceMeter(PACE), 120, 50, () => false).verdicts.every((v) => v === "ok"));
  // Waited on only now and then (a burst that the client takes a moment to read): still fine.
  assert.ok(run(new PaceMeter(PACE), 120, 50, (s) => s % 3 === 0).verdicts.every((v) => v === "ok"));
});

test("a sample that lands in the gap right after the client took a buffer does not save a slow reader", () => {
  const { verdicts } = run(new PaceMeter(PACE), 30, 200, (s) => s % 10 !== 5);
  assert.ok(verdicts.includes("slow"));
});

test("a reader that speeds up again is not judged on the old window", () => {
  const meter = new PaceMeter(PACE);
  const first = run(meter, 8, 200, () => true);
  assert.ok(first.verdicts.every((v) => v === "ok"));
  const second = run(meter, 30, 20_000, () => true, first.end);
  assert.ok(second.verdicts.every((v) => v === "ok"));
});

test("idle: no byte taken for idleMs while waited on; any byte resets it", () => {
  const meter = new PaceMeter({ idleMs: 3_000, minBytesPerSecond: 0, windowMs: 10_000 });
  assert.equal(meter.sample(0, 100, true), "ok");
  assert.equal(meter.sample(1000, 100, true), "ok");
  assert.equal(meter.sample(2000, 100, true), "ok");
  assert.equal(meter.sample(3000, 101, true), "ok", "one byte moved");
  assert.equal(meter.sample(4000, 101, true), "ok");
  assert.equal(meter.sample(5000, 101, false), "ok", "not waited on: the backend is the slow side");
  assert.equal(meter.sample(6000, 101, true), "ok");
  assert.equal(meter.sample(8000, 101, true), "ok");
  assert.equal(meter.sample(9000, 101, true), "idle");
});

test("minBytesPerSecond 0 turns the rate rule off and keeps a single sample", () => {
  const meter = new PaceMeter({ idleMs: 300_000, minBytesPerSecond: 0, windowMs: 1_000 });
  assert.ok(run(meter, 600, 1, () => true).verdicts.every((v) => v === "ok"));
});

test("the tick is fine enough for both rules, within 10 ms and 1 s", () => {
  assert.equal(tickOf({ idleMs: 300_000, minBytesPerSecond: 1024, windowMs: 30_000 }), 1000);
  assert.equal(tickOf({ idleMs: 1_000, minBytesPerSecond: 1024, windowMs: 30_000 }), 250);
  assert.equal(tickOf({ idleMs: 300_000, minBytesPerSecond: 1024, windowMs: 2_000 }), 200);
  assert.equal(tickOf({ idleMs: 300_000, minBytesPerSecond: 0, windowMs: 2_000 }), 1000);
  assert.equal(tickOf({ idleMs: 1, minBytesPerSecond: 0, windowMs: 1 }), 10);
});
