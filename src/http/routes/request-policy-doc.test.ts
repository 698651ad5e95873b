import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { MAX_PROBS, REFUSED_FIELDS } from "./request-policy.js";
import { DEFAULT_REQUEST_LIMITS } from "./request-shape.js";

const doc = readFileSync(new URL("../../../docs/request-policy.md", import.meta.url), "utf8");

test("docs/request-policy.md and the code refuse the same fields", () => {
  const documented = [...doc.matchAll(/^\| `([a-z_]+)` \| refused \|/gm)].map((m) => m[1]);
  assert.deepEqual(documented.sort(), Object.keys(REFUSED_FIELDS).sort());
});

test("docs/request-policy.md states the logprobs ceiling the code enforces", () => {
  assert.match(doc, new RegExp(`\\| at most ${MAX_PROBS} \\|`));
});

test("docs/request-policy.md states the shape limits' defaults the code uses", () => {
  const documented = new Map(
    [...doc.matchAll(/^\| `(max[A-Za-z]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], (m[2] as string).trim()]),
  );
  const { maxSchemaBytes, ...counts } = DEFAULT_REQUEST_LIMITS;
  for (const [name, value] of Object.entries(counts)) assert.equal(documented.get(name), String(value), name);
  assert.equal(documented.get("maxSchemaSize"), `${maxSchemaBytes / 1024} KiB`);
  assert.equal(documented.size, 5);
});
