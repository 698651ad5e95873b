import assert from "node:assert/strict";
import { test } from "node:test";
import type { RequestRecord } from "../http/request-record.js";
import { LiveFeed } from "./live-feed.js";

const record = (requestId: string) => ({ requestId }) as RequestRecord;

test("entries are numbered; a reconnecting viewer gets what it missed, within the kept ones", () => {
  const feed = new LiveFeed(3);
  const seen: number[] = [];
  const stop = feed.subscribe((entry) => seen.push(entry.seq));
  for (const id of ["a", "b", "c", "d"]) feed.publish(record(id));
  assert.deepEqual(seen, [1, 2, 3, 4]);
  assert.deepEqual(
    feed.since(2).map((entry) => entry.record.requestId),
    ["c", "d"],
  );
  // Only the last 3 are kept: "a" is gone.
  assert.deepEqual(
    feed.since(0).map((entry) => entry.seq),
    [2, 3, 4],
  );
  assert.deepEqual(
    feed.latest(2).map((entry) => entry.seq),
    [4, 3],
  );
  stop();
  feed.publish(record("e"));
  assert.equal(seen.length, 4);
  assert.equal(feed.listeners, 0);
});

test("a viewer that throws breaks neither the publish nor the other viewers", () => {
  const feed = new LiveFeed(10);
  const seen: string[] = [];
  feed.subscribe(() => {
    throw new Error("broken viewer");
  });
  feed.subscribe((entry) => seen.push(entry.record.requestId));
  feed.publish(record("x"));
  assert.deepEqual(seen, ["x"]);
});

test("the kept entries stay in order however many times the ring wrapped", () => {
  const feed = new LiveFeed(4);
  for (let i = 1; i <= 4 * 5 + 3; i++) {
    feed.publish(record(`r${i}`));
    const kept = feed.since(0).map((entry) => entry.seq);
    const from = Math.max(1, i - 3);
    assert.deepEqual(
      kept,
      Array.from({ length: i - from + 1 }, (_, k) => from + k),
      `after ${i}`,
    );
  }
  assert.deepEqual(
    feed.latest(2).map((entry) => entry.seq),
    [23, 22],
  );
});
