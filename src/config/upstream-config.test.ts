import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { formatProblems } from "./format-problems.js";
import { parseConfig } from "./load.js";

const dir = mkdtempSync(join(tmpdir(), "upstreams-"));
writeFileSync(join(dir, "box.key"), "sk-from-file\nignored second line\n");

function parse(text: string, env: Record<string, string> = {}) {
  return parseConfig(text, { baseDir: dir, env, source: null, checkFiles: true });
}

function lines(text: string, env: Record<string, string> = {}): string[] {
  const result = parse(text, env);
  if (result.ok) assert.fail("expected problems, got a valid config");
  return formatProblems(result.problems).split("\n");
}

test("a model served only by upstreams: keys from a file or the environment, names, defaults", () => {
  const result = parse(
    `models:
  far:
    upstreams:
      - url: http://gpu-box-1:8080/
        keyFile: box.key
        model: qwen-72b
      - url: https://gpu-box-2.internal/llama
        name: two
        keyEnv: BOX2_KEY
        maxConcurrent: 16
        healthPath: /v1/models
`,
    { BOX2_KEY: "sk-from-env" },
  );
  if (!result.ok) assert.fail(formatProblems(result.problems));
  const far = result.config.models.far;
  assert.ok(far !== undefined);
  assert.equal(far.launch.kind, "none");
  assert.equal(far.instances, 0);
  assert.deepEqual(far.upstreams, [
    {
      name: "gpu-box-1:8080",
      url: "http://gpu-box-1:8080",
      apiKey: "sk-from-file",
      model: "qwen-72b",
      maxConcurrent: 4,
      healthPath: "/health",
    },
    {
      name: "two",
      url: "https://gpu-box-2.internal/llama",
      apiKey: "sk-from-env",
      model: "far",
      maxConcurrent: 16,
      healthPath: "/v1/models",
    },
  ]);
});

test("what an upstream may not be", () => {
  assert.deepEqual(
    lines(`models:
  far:
    args: [-c, "1"]
    upstreams:
      - url: ftp://box/
      - url: http://box:1/?x=1
      - url: http://a:1
        keyEnv: UNSET_KEY
        keyFile: box.key
`),
    [
      "models.far.upstreams.0.url: must be an http:// or https:// URL without query or fragment, e.g. http://gpu-box-1:8080",
      "models.far.upstreams.1.url: must be an http:// or https:// URL without query or fragment, e.g. http://gpu-box-1:8080",
      "models.far.upstreams.2.keyFile: set keyEnv or keyFile, not both",
      "models.far.args: args only applies with model",
    ],
  );
  assert.deepEqual(
    lines(`models:
  far:
    upstreams:
      - url: http://a:1
        keyEnv: UNSET_KEY
      - url: http://a:1/other
        keyFile: missing.key
`),
    [
      "models.far.upstreams.0.keyEnv: the environment variable UNSET_KEY is not set",
      'models.far.upstreams.1.name: "a:1" already names upstream 0: give each a distinct name',
      "models.far.upstreams.1.keyFile: cannot read key file missing.key (ENOENT)",
    ],
  );
  assert.deepEqual(lines("models:\n  a:\n    upstreams: []\n"), [
    "models.a: set exactly one of model (a GGUF file) or cmd (a full argv), or list upstreams",
  ]);
});
