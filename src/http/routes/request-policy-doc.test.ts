import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MAX_PROBS, REFUSED_FIELDS } from "./request-policy.js";

const doc = readFileSync(new URL("../../../docs/request-policy.md", import.meta.url), "utf8");

test("docs/request-policy.md and the code refuse the same fields", () => {
  const documented = [...doc.matchAll(/^\| `([a-z_]+)` \| refused \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(REFUSED_FIELDS).sort());
});

test("docs/request-policy.md states the logprobs ceiling the code enforces", () => {
  assert.match(doc, new RegExp(`\\| at most ${MAX_PROBS} \\|`));
});
