import assert from "node:assert/strict";
import { test } from "node:test";
import { requestRecord } from "../../test/support/request-record.js";
import type { RequestRecord } from "../http/request-record.js";
import { RequestHistory, statusMatcher } from "./request-history.js";

function record(n: number, fields: Partial<RequestRecord> = {}): RequestRecord {
  return requestRecord({
    requestId: `r${n}`,
    at: 1_700_000_000_000 + n,
    ttfbMs: 5,
    queueMs: 0,
    upstreamMs: 9,
    model: "llama",
    instance: "llama#0",
    ...fields,
  });
}

const ids = (records: RequestRecord[]) => records.map((r) => r.requestId);

function filled(capacity: number, count: number, fields?: (n: number) => Partial<RequestRecord>) {
  const history = new RequestHistory(capacity);
  for (let n = 1; n <= count; n += 1) history.add(record(n, fields?.(n)));
  return history;
}

test("newest first, and the ring wraps keeping only the last `capacity` records", () => {
  const history = filled(3, 2);
  assert.equal(history.size, 2);
  assert.deepEqual(ids(history.query()), ["r2", "r1"]);
  for (let n = 3; n <= 7; n += 1) history.add(record(n));
  assert.equal(history.size, 3);
  assert.equal(history.capacity, 3);
  assert.deepEqual(ids(history.query()), ["r7", "r6", "r5"]);
});

test("an empty history answers an empty list", () => {
  const history = new RequestHistory(4);
  assert.equal(history.size, 0);
  assert.deepEqual(history.query(), []);
  assert.deepEqual(history.query({ before: "r1" }), []);
});

test("filters by model", () => {
  const history = filled(10, 6, (n) => ({ model: n % 2 === 0 ? "even" : "odd" }));
  assert.deepEqual(ids(history.query({ model: "even" })), ["r6", "r4", "r2"]);
  assert.deepEqual(ids(history.query({ model: "none" })), []);
});

test("filters by status class and exact code; 4xx includes 499", () => {
  const statuses = [200, 404, 499, 503, 201, 400, 500];
  const history = filled(10, statuses.length, (n) => ({ status: statuses[n - 1] as number }));
  assert.deepEqual(ids(history.query({ status: "2xx" })), ["r5", "r1"]);
  assert.deepEqual(ids(history.query({ status: "4xx" })), ["r6", "r3", "r2"]);
  assert.deepEqual(ids(history.query({ status: "5xx" })), ["r7", "r4"]);
  assert.deepEqual(ids(history.query({ status: "499" })), ["r3"]);
  assert.deepEqual(ids(history.query({ status: "404" })), ["r2"]);
  assert.deepEqual(ids(history.query({ status: "5xx", model: "other" })), []);
});

test("an invalid status filter is refused, and statusMatcher says so first", () => {
  for (const bad of ["", "2XX", "6xx", "xx", "20", "2000", "abc"]) {
    assert.equal(statusMatcher(bad), null, bad);
    assert.throws(() => new RequestHistory(2).query({ status: bad }), RangeError);
  }
});

test("limit: 100 by default, capped at the capacity, 0 allowed", () => {
  const history = filled(150, 150);
  assert.equal(history.query().length, 100);
  assert.equal(history.query({ limit: 5 }).length, 5);
  assert.deepEqual(ids(history.query({ limit: 2 })), ["r150", "r149"]);
  assert.equal(history.query({ limit: 1_000 }).length, 150);
  assert.equal(history.query({ limit: 0 }).length, 0);
  assert.equal(history.query({ limit: -3 }).length, 0);
  assert.equal(history.query({ limit: Number.NaN }).length, 100);
});

test("before pages to older records across the wrap point", () => {
  // capacity 5, 8 added: slots hold r6 r7 r8 r4 r5, so the newest-first scan crosses the wrap.
  const history = filled(5, 8);
  const first = history.query({ limit: 2 });
  assert.deepEqual(ids(first), ["r8", "r7"]);
  const second = history.query({ limit: 2, before: "r7" });
  assert.deepEqual(ids(second), ["r6", "r5"]);
  const third = history.query({ limit: 2, before: "r5" });
  assert.deepEqual(ids(third), ["r4"]);
  assert.deepEqual(history.query({ limit: 2, before: "r4" }), []);
});

test("before combines with filters, and an aged-out or unknown cursor gives an empty page", () => {
  const history = filled(6, 9, (n) => ({ status: n % 3 === 0 ? 500 : 200 }));
  assert.deepEqual(ids(history.query({ status: "5xx", before: "r8" })), ["r6"]);
  assert.deepEqual(history.query({ before: "r2" }), []);
  assert.deepEqual(history.query({ before: "nope" }), []);
});

test("subscribe hears each new record until unsubscribed", () => {
  const history = new RequestHistory(2);
  const heard: string[] = [];
  const stop = history.subscribe((r) => heard.push(r.requestId));
  history.add(record(1));
  history.add(record(2));
  stop();
  history.add(record(3));
  assert.deepEqual(heard, ["r1", "r2"]);
  stop(); // twice is harmless
});

test("a throwing listener does not break add or the other listeners", () => {
  const errors: unknown[] = [];
  const history = new RequestHistory(3, { onListenerError: (error) => errors.push(error) });
  const heard: string[] = [];
  history.subscribe(() => {
    throw new Error("boom");
  });
  history.subscribe((r) => heard.push(r.requestId));
  assert.doesNotThrow(() => history.add(record(1)));
  assert.deepEqual(heard, ["r1"]);
  assert.equal(history.size, 1);
  assert.equal((errors[0] as Error).message, "boom");
});

test("an error reporter that throws is contained too", () => {
  const history = new RequestHistory(1, {
    onListenerError: () => {
      throw new Error("reporter");
    },
  });
  history.subscribe(() => {
    throw new Error("listener");
  });
  assert.doesNotThrow(() => history.add(record(1)));
  assert.equal(history.size, 1);
});

test("a listener that unsubscribes itself mid-add does not skip the others", () => {
  const history = new RequestHistory(2);
  const heard: string[] = [];
  const stop = history.subscribe(() => stop());
  history.subscribe((r) => heard.push(r.requestId));
  history.add(record(1));
  history.add(record(2));
  assert.deepEqual(heard, ["r1", "r2"]);
});

test("a capacity below one is refused", () => {
  assert.throws(() => new RequestHistory(0), RangeError);
  assert.throws(() => new RequestHistory(Number.NaN), RangeError);
});
