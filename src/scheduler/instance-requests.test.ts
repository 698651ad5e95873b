import assert from "node:assert/strict";
import { test } from "node:test";
import { ENDED_WINDOW_MS, InstanceRequests } from "./instance-requests.js";

test("in flight, then still a suspect for a while after it ended", () => {
  const requests = new InstanceRequests();
  const endA = requests.begin("a");
  requests.begin("b");
  assert.deepEqual(requests.suspects(0), ["a", "b"]);
  endA(100);
  endA(150);
  assert.deepEqual(requests.suspects(100), ["b", "a"], "in flight first; ending twice counts once");
  assert.deepEqual(requests.suspects(100 + ENDED_WINDOW_MS), ["b", "a"]);
  assert.deepEqual(requests.suspects(101 + ENDED_WINDOW_MS), ["b"]);
});

test("a repeated id (a client's own x-request-id) is two requests", () => {
  const requests = new InstanceRequests();
  const first = requests.begin("same");
  requests.begin("same");
  first(0);
  assert.deepEqual(requests.suspects(0), ["same", "same"]);
});

test("only the last few ended requests are kept", () => {
  const requests = new InstanceRequests();
  for (let i = 0; i < 100; i++) requests.begin(`r${i}`)(0);
  const suspects = requests.suspects(0);
  assert.equal(suspects.length, 16);
  assert.equal(suspects.at(-1), "r99");
});
