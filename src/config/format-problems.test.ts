import assert from "node:assert/strict";
import { test } from "node:test";
import { formatProblems } from "./format-problems.js";

test("formatProblems writes one `path: message` line per problem", () => {
  const text = formatProblems([
    { path: "models.qwen.model", message: "file not found: ./m.gguf" },
    { path: "", message: "3:1: Map keys must be unique" },
    { path: "server.prot", message: 'unknown key (did you mean "port"?)' },
  ]);
  assert.equal(
    text,
    [
      "models.qwen.model: file not found: ./m.gguf",
      "3:1: Map keys must be unique",
      'server.prot: unknown key (did you mean "port"?)',
    ].join("\n"),
  );
  assert.equal(formatProblems([]), "");
});
