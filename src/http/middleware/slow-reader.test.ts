import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { mock, test } from "node:test";
import { SlowReaderWatch } from "./slow-reader.js";

/** A response whose socket the test moves by hand: bytes the client took, whether it is waited on. */
function fakeResponse() {
  const state = { taken: 0, waiting: false, destroyed: null as Error | null };
  const res = {
    get socket() {
      return { bytesWritten: state.taken, writableLength: 0 };
    },
    get writableNeedDrain() {
      return state.waiting;
    },
    destroy(error: Error) {
      state.destroyed = error;
    },
  } as unknown as ServerResponse;
  return { res, state };
}

const PACE = { idleMs: 400, minBytesPerSecond: 0, windowMs: 30_000 };

test("one timer for every response, running only while one is watched", () => {
  mock.timers.enable({ apis: ["setInterval"] });
  try {
    const watch = new SlowReaderWatch<string>(
      PACE,
      () => assert.fail("nobody is slow"),
      () => 0,
    );
    assert.equal(watch.ticking, false);
    const a = watch.watch(fakeResponse().res, "a");
    const b = watch.watch(fakeResponse().res, "b");
    assert.equal(watch.ticking, true);
    assert.equal(watch.size, 2);
    watch.forget(a);
    assert.equal(watch.ticking, true);
    watch.forget(b);
    assert.equal(watch.ticking, false, "an idle gateway keeps no timer");
  } finally {
    mock.timers.reset();
  }
});

test("a client that takes nothing while waited on is dropped after idleMs; a reading one is not", () => {
  mock.timers.enable({ apis: ["setInterval"] });
  let now = 0;
  const drops: string[] = [];
  try {
    const watch = new SlowReaderWatch<string>(
      PACE,
      (owner, verdict) => drops.push(`${owner}:${verdict}`),
      () => now,
    );
    const stalled = fakeResponse();
    const reading = fakeResponse();
    watch.watch(stalled.res, "stalled");
    watch.watch(reading.res, "reading");
    stalled.state.waiting = true;
    reading.state.waiting = true;
    for (let tick = 0; tick < 8; tick++) {
      now += 100;
      reading.state.taken += 4096;
      mock.timers.tick(100);
    }
    assert.deepEqual(drops, ["stalled:idle"]);
    assert.match(String(stalled.state.destroyed?.message), /stopped reading/);
    assert.equal(reading.state.destroyed, null);
    assert.equal(watch.size, 1, "the dropped response is no longer watched");
  } finally {
    mock.timers.reset();
  }
});
