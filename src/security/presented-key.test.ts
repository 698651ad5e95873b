import assert from "node:assert/strict";
import { test } from "node:test";
import { presentedKey } from "./presented-key.js";

test("Authorization: Bearer KEY, any case of the scheme, surrounding blanks allowed", () => {
  assert.equal(presentedKey({ authorization: "Bearer sk-1" }), "sk-1");
  assert.equal(presentedKey({ authorization: "bearer sk-1" }), "sk-1");
  assert.equal(presentedKey({ authorization: "BEARER \tsk-1 " }), "sk-1");
});

test("x-api-key: KEY (Anthropic clients)", () => {
  assert.equal(presentedKey({ "x-api-key": "sk-2" }), "sk-2");
  assert.equal(presentedKey({ "x-api-key": ["sk-2", "sk-3"] }), "sk-2");
});

test("malformed keys count as no key, so they get the answer a missing key gets", () => {
  for (const authorization of [
    "sk-1",
    "Basic dXNlcjpwYXNz",
    "Bearer",
    "Bearer ",
    "Bearer a b",
    "Bearersk-1",
  ]) {
    assert.equal(presentedKey({ authorization }), null, authorization);
  }
  assert.equal(presentedKey({ "x-api-key": "" }), null);
  assert.equal(presentedKey({ "x-api-key": "a b" }), null);
  assert.equal(presentedKey({}), null);
});

test("an Authorization header decides, even when x-api-key is also sent", () => {
  assert.equal(presentedKey({ authorization: "Bearer sk-1", "x-api-key": "sk-2" }), "sk-1");
  assert.equal(presentedKey({ authorization: "Basic xyz", "x-api-key": "sk-2" }), null);
});
