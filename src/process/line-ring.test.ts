import assert from "node:assert/strict";
import { test } from "node:test";
import { LineRing } from "./line-ring.js";
import { parseRouterChildLine } from "./router-child-line.js";

test("keeps the last N complete lines, joining lines split across chunks", () => {
  const ring = new LineRing(3);
  assert.deepEqual(ring.push("one\ntw"), ["one"]);
  assert.deepEqual(ring.push("o\r\nthree\nfour\nfi"), ["two", "three", "four"]);
  assert.deepEqual(ring.tail(), ["two", "three", "four"]);
  assert.deepEqual(ring.tail(2), ["three", "four"]);
});

test("a child that never writes a newline cannot grow memory without bound", () => {
  const ring = new LineRing(2);
  ring.push("x".repeat(70 * 1024));
  assert.equal(ring.tail().length, 1);
});

test("recognises llama-server's router-child state lines, even after a colour reset", () => {
  assert.equal(parseRouterChildLine('cmd_child_to_router:state:{"state":"ready","payload":{}}'), "ready");
  assert.equal(parseRouterChildLine('\u001b[0mcmd_child_to_router:state:{"state":"loading"}'), "loading");
  assert.equal(parseRouterChildLine("srv  load_model: loading model"), null);
  assert.equal(parseRouterChildLine("cmd_child_to_router:state:{broken"), null);
});
