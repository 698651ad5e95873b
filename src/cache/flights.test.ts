import assert from "node:assert/strict";
import { test } from "node:test";
import { GatewayError } from "../errors/gateway-error.js";
import { Flights } from "./flights.js";

const answer = { kind: "chat" as const, json: '{"choices":[]}' };

test("the first request leads; identical ones join and get its answer", async () => {
  const flights = new Flights();
  const flight = flights.lead("k");
  assert.ok(flight);
  assert.equal(flights.lead("k"), null, "a second leader for the same key");
  const signal = new AbortController().signal;
  const waiters = [flights.join("k", signal), flights.join("k", signal)];
  assert.deepEqual(flights.counts(), { flights: 1, waiters: 2 });
  flight.land({ kind: "answer", answer });
  for (const result of await Promise.all(waiters)) assert.deepEqual(result, { kind: "answer", answer });
  assert.deepEqual(flights.counts(), { flights: 0, waiters: 0 });
  assert.equal(flights.join("k", signal), null, "a landed flight is gone");
});

test("only the first landing counts; the error reaches every waiter", async () => {
  const flights = new Flights();
  const flight = flights.lead("k");
  assert.ok(flight);
  const waiting = flights.join("k", new AbortController().signal);
  const error = new GatewayError("backend_crashed", "gone");
  flight.land({ kind: "error", error });
  flight.land({ kind: "retry" });
  assert.deepEqual(await waiting, { kind: "error", error });
});

test("a waiter whose client leaves goes alone; the others still get the answer", async () => {
  const flights = new Flights();
  const flight = flights.lead("k");
  assert.ok(flight);
  const leaving = new AbortController();
  const left = flights.join("k", leaving.signal);
  const staying = flights.join("k", new AbortController().signal);
  const reason = new Error("client closed");
  leaving.abort(reason);
  await assert.rejects(left as Promise<unknown>, (error) => error === reason);
  assert.deepEqual(flights.counts(), { flights: 1, waiters: 1 });
  flight.land({ kind: "answer", answer });
  assert.deepEqual(await staying, { kind: "answer", answer });
});

test("an aborted signal never joins", async () => {
  const flights = new Flights();
  flights.lead("k");
  const gone = new AbortController();
  gone.abort(new Error("gone"));
  await assert.rejects(flights.join("k", gone.signal) as Promise<unknown>, /gone/);
  assert.deepEqual(flights.counts(), { flights: 1, waiters: 0 });
});
