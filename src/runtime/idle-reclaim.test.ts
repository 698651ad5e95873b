import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type Collection, IdleReclaim } from "./idle-reclaim.js";

const MB = 2 ** 20;

/** A gateway as IdleReclaim sees it, with timers run by hand. */
function harness(options: { rss?: number } = {}) {
  const state = { inFlight: 0, started: 0, rss: options.rss ?? 70 * MB };
  const collections: Collection[] = [];
  interface FakeTimer {
    run: () => void;
    ms: number;
    cleared: boolean;
    unref(): FakeTimer;
  }
  const timers: FakeTimer[] = [];
  const reclaim = new IdleReclaim({
    activity: () => ({ inFlight: state.inFlight, started: state.started }),
    rss: () => state.rss,
    collect: (kind) => {
      collections.push(kind);
      if (kind === "major") state.rss = 75 * MB;
    },
    quietMs: 2_000,
    windowMs: 5_500,
    minGrowthBytes: 16 * MB,
    setTimer: (run, ms) => {
      const timer: FakeTimer = { run, ms, cleared: false, unref: () => timer };
      timers.push(timer);
      return timer;
    },
    clearTimer: (timer) => {
      for (const t of timers) if (t === timer) t.cleared = true;
    },
  });
  /** Requests that start and end; the last end tells the reclaimer. */
  const burst = (count: number, rssAfter: number) => {
    state.started += count;
    state.rss = rssAfter;
    reclaim.notifyEmpty();
  };
  /** Fires the one pending timer (there is never more than one). */
  const fire = (): number => {
    const pending = timers.filter((t) => !t.cleared);
    assert.equal(pending.length, 1, "exactly one timer pending");
    const timer = pending[0] as FakeTimer;
    timer.cleared = true;
    timer.run();
    return timer.ms;
  };
  const pending = () => timers.filter((t) => !t.cleared).length;
  /** The delay of the timer pending now. */
  const nextMs = () => timers.find((t) => !t.cleared)?.ms;
  return { state, collections, reclaim, burst, fire, pending, nextMs };
}

describe("IdleReclaim", () => {
  it("after a burst and a quiet spell: a minor collection, then a major one 5.5 s later, once", () => {
    const h = harness();
    h.burst(2000, 120 * MB);
    assert.equal(h.fire(), 2_000);
    assert.deepEqual(h.collections, ["minor"]);
    assert.equal(h.fire(), 5_500);
    assert.deepEqual(h.collections, ["minor", "major"]);
    assert.equal(h.pending(), 0, "nothing more until a request comes");
    // The same idle period: the last request's end again (no new request) does nothing.
    h.reclaim.notifyEmpty();
    h.fire();
    assert.deepEqual(h.collections, ["minor", "major"]);
  });

  it("never while a request is in flight; its end arms the timer again", () => {
    const h = harness();
    h.burst(10, 120 * MB);
    h.state.inFlight = 1;
    h.state.started += 1;
    h.fire();
    assert.deepEqual(h.collections, []);
    assert.equal(h.pending(), 0);
    h.state.inFlight = 0;
    h.reclaim.notifyEmpty();
    h.fire();
    h.fire();
    assert.deepEqual(h.collections, ["minor", "major"]);
  });

  it("a request between the minor and the major collection starts the wait over", () => {
    const h = harness();
    h.burst(10, 120 * MB);
    h.fire();
    assert.deepEqual(h.collections, ["minor"]);
    h.state.started += 1; // came and went within the window
    assert.equal(h.fire(), 5_500);
    assert.equal(h.nextMs(), 2_000, "waits for a quiet spell again");
    assert.deepEqual(h.collections, ["minor"]);
    h.fire();
    h.fire();
    assert.deepEqual(h.collections, ["minor", "minor", "major"]);
  });

  it("requests that keep coming keep it waiting", () => {
    const h = harness();
    h.burst(10, 120 * MB);
    for (let i = 0; i < 5; i++) {
      h.state.started += 3;
      h.fire();
    }
    assert.deepEqual(h.collections, []);
    h.fire();
    h.fire();
    assert.deepEqual(h.collections, ["minor", "major"]);
  });

  it("nothing when the memory has not grown since the last reclaim (health probes)", () => {
    const h = harness();
    h.burst(1, 80 * MB);
    h.fire();
    assert.deepEqual(h.collections, []);
    h.burst(2000, 120 * MB);
    h.fire();
    h.fire();
    assert.deepEqual(h.collections, ["minor", "major"]);
    // Measured from after the reclaim (75 MB): a probe adds little.
    h.burst(1, 80 * MB);
    h.fire();
    assert.deepEqual(h.collections, ["minor", "major"]);
  });

  it("close() cancels the pending timer and ignores later ends", () => {
    const h = harness();
    h.burst(10, 120 * MB);
    h.reclaim.close();
    assert.equal(h.pending(), 0);
    h.reclaim.notifyEmpty();
    assert.equal(h.pending(), 0);
    assert.deepEqual(h.collections, []);
  });
});
