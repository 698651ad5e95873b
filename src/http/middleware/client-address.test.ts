import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { test } from "node:test";
import { clientAddressOf } from "./client-address.js";

function req(remoteAddress: string, forwardedFor?: string | string[]): IncomingMessage {
  const headers = forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor };
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

test("trustProxy 0: the socket's address; X-Forwarded-For is ignored (a spoof picks no other bucket)", () => {
  assert.equal(clientAddressOf(req("10.0.0.7", "1.2.3.4"), 0), "10.0.0.7");
  assert.equal(clientAddressOf(req("::ffff:10.0.0.7"), 0), "10.0.0.7", "dual-stack IPv4 is shown plain");
  assert.equal(clientAddressOf(req("::1"), 0), "::1");
});

test("trustProxy N: the entry N from the right of [X-Forwarded-For…, socket]", () => {
  // The proxy (10.0.0.1) appended what it saw (203.0.113.9); the client wrote 6.6.6.6 itself.
  assert.equal(clientAddressOf(req("10.0.0.1", "6.6.6.6, 203.0.113.9"), 1), "203.0.113.9");
  assert.equal(clientAddressOf(req("10.0.0.1", ["6.6.6.6", "203.0.113.9"]), 1), "203.0.113.9");
  assert.equal(clientAddressOf(req("10.0.0.1", "6.6.6.6, 203.0.113.9, 10.0.0.2"), 2), "203.0.113.9");
});

test("trustProxy: fewer entries than hops, or garbage, falls back to what can be believed", () => {
  assert.equal(clientAddressOf(req("10.0.0.1"), 1), "10.0.0.1", "no header: the socket");
  assert.equal(
    clientAddressOf(req("10.0.0.1", "203.0.113.9"), 5),
    "203.0.113.9",
    "the leftmost entry at most",
  );
  assert.equal(clientAddressOf(req("10.0.0.1", "not-an-ip"), 1), "10.0.0.1");
  assert.equal(clientAddressOf(req("10.0.0.1", "::ffff:203.0.113.9"), 1), "203.0.113.9");
});
