// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests feed literal ${env:…} and ${PORT} placeholders.
import assert from "node:assert/strict";
import { test } from "node:test";
import { substituteEnv } from "./env-subst.js";

test("substituteEnv replaces references in nested string values", () => {
  const tree = {
    server: { host: "${env:HOST}", port: 8080 },
    auth: { apiKeys: [{ key: "k-${env:ALICE_KEY}-x" }] },
    flag: true,
    nothing: null,
  };
  const result = substituteEnv(tree, { HOST: "0.0.0.0", ALICE_KEY: "secret" });
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.value, {
    server: { host: "0.0.0.0", port: 8080 },
    auth: { apiKeys: [{ key: "k-secret-x" }] },
    flag: true,
    nothing: null,
  });
  assert.equal(tree.server.host, "${env:HOST}", "the input tree is not modified");
});

test("substituteEnv reports a missing variable with the path where it occurred", () => {
  const tree = {
    auth: { apiKeys: [{ key: "a" }, { key: "${env:ALICE_KEY}" }] },
    x: "${env:BOB}${env:CAROL}",
  };
  const result = substituteEnv(tree, { CAROL: "c" });
  assert.deepEqual(result.problems, [
    { path: "auth.apiKeys.1.key", message: "environment variable ALICE_KEY is not set" },
    { path: "x", message: "environment variable BOB is not set" },
  ]);
});

test("substituteEnv uses the default when the variable is unset or empty", () => {
  const result = substituteEnv(
    {
      a: "${env:UNSET:-fallback}",
      b: "${env:EMPTY:-d}",
      c: "${env:SET:-d}",
      d: "${env:UNSET:-}",
      e: "${env:EMPTY}",
    },
    { EMPTY: "", SET: "value" },
  );
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.value, { a: "fallback", b: "d", c: "value", d: "", e: "" });
});

test("substituteEnv leaves spawn-time placeholders and keys alone", () => {
  const tree = {
    cmd: ["llama-server", "--port", "${PORT}", "-m", "${MODEL}", "--api-key", "${API_KEY}"],
    "${env:K}": 1,
  };
  const result = substituteEnv(tree, { PORT: "1", MODEL: "m", API_KEY: "k", K: "key" });
  assert.deepEqual(result.problems, []);
  assert.deepEqual(result.value, tree);
});

test("substituteEnv reports malformed references", () => {
  const result = substituteEnv({ a: "${env:1BAD}", b: "${env:}" }, {});
  assert.equal(result.problems.length, 2);
  assert.match(result.problems[0]?.message ?? "", /^invalid environment reference \$\{env:1BAD\}/);
  assert.equal(result.problems[1]?.path, "b");
});

test("substituteEnv does not read inherited properties of the env object", () => {
  const result = substituteEnv({ a: "${env:toString}" }, {});
  assert.deepEqual(result.problems, [{ path: "a", message: "environment variable toString is not set" }]);
});

test("substituteEnv keeps a __proto__ key as data", () => {
  const tree = JSON.parse('{"__proto__": {"polluted": "${env:X}"}}') as unknown;
  const result = substituteEnv(tree, { X: "yes" });
  const value = result.value as Record<string, unknown>;
  assert.deepEqual(Object.keys(value), ["__proto__"]);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
