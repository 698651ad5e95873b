import assert from "node:assert/strict";
import { test } from "node:test";
import { traceparentFrom } from "./traceparent.js";

test("a well-formed traceparent is kept; anything else is dropped", () => {
  const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  assert.equal(traceparentFrom(valid), valid);
  assert.equal(traceparentFrom(valid.toUpperCase()), valid);
  for (const bad of [
    undefined,
    "",
    [valid, valid],
    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\\nx",
    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
  ])
    assert.equal(traceparentFrom(bad), null, String(bad));
});
