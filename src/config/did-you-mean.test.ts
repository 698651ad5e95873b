import assert from "node:assert/strict";
import { test } from "node:test";
import { didYouMean, hint, levenshtein } from "./did-you-mean.js";

test("levenshtein counts single-character edits", () => {
  assert.equal(levenshtein("", ""), 0);
  assert.equal(levenshtein("port", "port"), 0);
  assert.equal(levenshtein("prot", "port"), 2);
  assert.equal(levenshtein("host", "hosts"), 1);
  assert.equal(levenshtein("kitten", "sitting"), 3);
  assert.equal(levenshtein("", "abc"), 3);
});

test("didYouMean suggests close typos, prefixes, and nothing for unrelated words", () => {
  const keys = ["host", "port", "bodyLimit", "headersTimeout", "shutdownTimeout"];
  assert.equal(didYouMean("prot", keys), "port");
  assert.equal(didYouMean("Port", keys), "port");
  assert.equal(didYouMean("bodylimit", keys), "bodyLimit");
  assert.equal(didYouMean("bodyLimt", keys), "bodyLimit");
  assert.equal(didYouMean("headers", keys), "headersTimeout");
  assert.equal(didYouMean("shutdown", keys), "shutdownTimeout");
  assert.equal(didYouMean("listen", keys), null);
  assert.equal(didYouMean("x", keys), null);
  assert.equal(didYouMean("", keys), null);
  assert.equal(didYouMean("port", []), null);
});

test("didYouMean prefers the closest candidate, then the first listed", () => {
  assert.equal(didYouMean("args", ["aliases", "args"]), "args");
  assert.equal(didYouMean("ab", ["abc", "abd"]), "abc");
});

test("hint formats a suggestion or nothing", () => {
  assert.equal(hint("prot", ["port"]), ' (did you mean "port"?)');
  assert.equal(hint("zzzz", ["port"]), "");
});
