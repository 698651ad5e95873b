import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectionTable } from "./connection-table.js";

/** A stand-in connection: a name, and the bytes it has received so far. */
interface Fake {
  readonly name: string;
  bytesRead: number;
}

function setup(maxConnections: number, maxConnectionsPerClient = 1_000_000) {
  const table = new ConnectionTable<Fake>(
    { maxConnections, maxConnectionsPerClient },
    { bytesRead: (c) => c.bytesRead },
  );
  const open = (name: string, client = "10.0.0.1") => {
    const connection: Fake = { name, bytesRead: 0 };
    const admission = table.admit(connection, client);
    return { connection, admission, evicted: admission.evicted.map((c) => c.name) };
  };
  return { table, open };
}

test("under the caps everyone is admitted and nothing is closed", () => {
  const { table, open } = setup(3);
  for (const name of ["a", "b", "c"]) {
    const { admission } = open(name);
    assert.deepEqual(admission, { admitted: true, evicted: [], full: null });
  }
  assert.equal(table.size, 3);
  assert.equal(table.count("10.0.0.1"), 3);
});

test("at the cap, the connection quiet longest is closed to admit the newcomer", () => {
  const { table, open } = setup(3);
  const a = open("a").connection;
  open("b");
  open("c");
  const d = open("d", "10.0.0.2");
  assert.equal(d.admission.admitted, true);
  assert.deepEqual(d.evicted, ["a"], "the oldest one that never sent a byte");
  assert.equal(d.admission.full, "total");
  assert.equal(table.size, 3);
  table.remove(a); // its close event, after the guard destroyed it: no double count
  assert.equal(table.size, 3);
  assert.equal(table.count("10.0.0.1"), 2);
});

test("busy connections are never closed; when all are busy the newcomer is refused", () => {
  const { table, open } = setup(2);
  const a = open("a").connection;
  const b = open("b").connection;
  table.requestStarted(a);
  table.requestStarted(b);
  const c = open("c");
  assert.deepEqual(c.admission, { admitted: false, evicted: [], full: "total" });
  assert.equal(table.size, 2);
  // b's response ends: b is a keep-alive connection between requests, and may now go.
  table.requestEnded(b);
  const d = open("d");
  assert.equal(d.admission.admitted, true);
  assert.deepEqual(d.evicted, ["b"]);
});

test("a keep-alive connection is quiet from the end of its last response: longest quiet goes first", () => {
  const { table, open } = setup(3);
  const a = open("a").connection;
  open("b");
  open("c");
  // a is used and finishes last; b and c never sent anything. Quiet order: b, c, a.
  table.requestStarted(a);
  table.requestEnded(a);
  assert.deepEqual(open("d").evicted, ["b"]);
  assert.deepEqual(open("e").evicted, ["c"]);
  assert.deepEqual(open("f").evicted, ["a"]);
  assert.equal(table.size, 3);
});

test("a quiet connection that has started sending a request is not closed, and not looked at again", () => {
  const reads: string[] = [];
  const table = new ConnectionTable<Fake>(
    { maxConnections: 2, maxConnectionsPerClient: 2 },
    {
      bytesRead: (c) => {
        reads.push(c.name);
        return c.bytesRead;
      },
    },
  );
  const a: Fake = { name: "a", bytesRead: 0 };
  const b: Fake = { name: "b", bytesRead: 0 };
  table.admit(a, "x");
  table.admit(b, "x");
  a.bytesRead = 10; // half a request head: its request event has not come yet
  const c: Fake = { name: "c", bytesRead: 0 };
  assert.deepEqual(
    table.admit(c, "y").evicted.map((e) => e.name),
    ["b"],
  );
  reads.length = 0;
  const d: Fake = { name: "d", bytesRead: 0 };
  assert.deepEqual(
    table.admit(d, "y").evicted.map((e) => e.name),
    ["c"],
  );
  assert.ok(!reads.includes("a"), "a left the quiet list the first time it was seen sending");
  // Its request arrives and ends: quiet again, from its new byte count.
  table.requestStarted(a);
  table.requestEnded(a);
  const e: Fake = { name: "e", bytesRead: 0 };
  assert.deepEqual(
    table.admit(e, "y").evicted.map((v) => v.name),
    ["d"],
  );
  const f: Fake = { name: "f", bytesRead: 0 };
  assert.deepEqual(
    table.admit(f, "y").evicted.map((v) => v.name),
    ["a"],
  );
});

test("per-client cap: a client at its cap loses its own quiet connection, never another client's", () => {
  const { table, open } = setup(10, 2);
  open("other", "10.0.0.9");
  open("a1");
  open("a2");
  const a3 = open("a3");
  assert.equal(a3.admission.admitted, true);
  assert.deepEqual(a3.evicted, ["a1"]);
  assert.equal(a3.admission.full, "client");
  assert.equal(table.count("10.0.0.1"), 2);
  assert.equal(table.count("10.0.0.9"), 1);
});

test("per-client cap with all of that client's connections busy: the newcomer is refused", () => {
  const { table, open } = setup(10, 2);
  table.requestStarted(open("a1").connection);
  table.requestStarted(open("a2").connection);
  assert.deepEqual(open("a3").admission, { admitted: false, evicted: [], full: "client" });
  // Another client is not affected.
  assert.equal(open("b1", "10.0.0.2").admission.admitted, true);
  assert.equal(table.size, 3);
});

test("300 idle sockets of one client with a per-client cap of 256 leave room for everyone else", () => {
  const { table, open } = setup(300, 256);
  for (let i = 0; i < 300; i++) open(`flood-${i}`);
  assert.equal(table.count("10.0.0.1"), 256);
  for (let i = 0; i < 44; i++) assert.deepEqual(open(`other-${i}`, "10.0.0.2").evicted, []);
  // Total cap now full: the next newcomer pushes out the flood's longest-quiet socket.
  const late = open("late", "10.0.0.3");
  assert.equal(late.admission.admitted, true);
  assert.equal(late.evicted[0]?.startsWith("flood-"), true);
});

test("pipelined requests: the connection is quiet only when the last response ends", () => {
  const { table, open } = setup(1);
  const a = open("a").connection;
  table.requestStarted(a);
  table.requestStarted(a);
  table.requestEnded(a);
  assert.equal(open("b").admission.admitted, false);
  table.requestEnded(a);
  assert.deepEqual(open("c").evicted, ["a"]);
});

test("a lowered cap (reload) is reached again by closing quiet connections as newcomers arrive", () => {
  const { table, open } = setup(5);
  for (const name of ["a", "b", "c", "d"]) open(name);
  table.setLimits({ maxConnections: 2, maxConnectionsPerClient: 1_000_000 });
  const e = open("e");
  assert.equal(e.admission.admitted, true);
  assert.deepEqual(e.evicted, ["a", "b", "c"]);
  assert.equal(table.size, 2);
});

test("events for connections the table does not hold are ignored", () => {
  const { table } = setup(1);
  const ghost: Fake = { name: "ghost", bytesRead: 0 };
  table.requestStarted(ghost);
  table.requestEnded(ghost);
  table.remove(ghost);
  assert.equal(table.size, 0);
});
