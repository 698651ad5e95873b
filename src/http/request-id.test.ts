import assert from "node:assert/strict";
import { test } from "node:test";
import { requestIdFrom } from "./request-id.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("a sane X-Request-ID is kept as it is", () => {
  for (const id of ["abc", "trace-42", "0af7651916cd43dd8448eb211c80319c", "a.b_c:d-e", "x".repeat(128)]) {
    assert.equal(requestIdFrom(id), id);
  }
});

test("anything else gets a fresh UUID: missing, empty, too long, spaces, controls, several", () => {
  const insane = [undefined, "", "x".repeat(129), "a b", "a\u001b[31m", "a\nb", "ä", "<script>", ["a", "b"]];
  const ids = insane.map((header) => requestIdFrom(header));
  for (const id of ids) assert.match(id, UUID);
  assert.equal(new Set(ids).size, ids.length, "each one new");
});
