// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests feed literal ${env:…} and ${PORT} placeholders.
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatProblems } from "./format-problems.js";
import { parseConfig } from "./load.js";
import type { ConfigProblem } from "./types.js";

const options = { baseDir: "/srv/llw", env: {}, source: null, checkFiles: false } as const;

function problems(text: string): readonly ConfigProblem[] {
  const result = parseConfig(text, options);
  if (result.ok) assert.fail("expected problems, got a valid config");
  return result.problems;
}

function lines(text: string): string[] {
  return formatProblems(problems(text)).split("\n");
}

const MODEL = "models:\n  qwen:\n    model: q.gguf\n";

test("unknown keys are rejected at their own path with a did-you-mean hint", () => {
  assert.deepEqual(lines(`server:\n  prot: 80\n${MODEL}`), [
    'server.prot: unknown key (did you mean "port"?)',
  ]);
  assert.deepEqual(lines(`${MODEL}    alias: [x]\n    colour: red\n`), [
    'models.qwen.alias: unknown key (did you mean "aliases"?)',
    "models.qwen.colour: unknown key",
  ]);
  assert.deepEqual(lines(`${MODEL}defaultModle: qwen\n`), [
    'defaultModle: unknown key (did you mean "defaultModel"?)',
  ]);
  assert.deepEqual(lines(`${MODEL}scheduler:\n  maxLoaded: 1\n`), [
    'scheduler.maxLoaded: unknown key (did you mean "maxLoadedModels"?)',
  ]);
});

test("a config with three mistakes reports all three, each at its path", () => {
  const text = `
server:
  port: eighty
logging:
  level: loud
models:
  qwen:
    model: q.gguf
    instances: 0
`;
  const found = problems(text);
  assert.deepEqual(
    found.map((p) => p.path),
    ["server.port", "logging.level", "models.qwen.instances"],
  );
  assert.match(found[0]?.message ?? "", /expected number, received string/);
  assert.match(found[1]?.message ?? "", /"info"/);
  assert.match(found[2]?.message ?? "", />=1/);
});

test("invalid durations and sizes say what is accepted", () => {
  assert.deepEqual(lines(`server:\n  headersTimeout: 10x\n  bodyLimit: 10XB\n${MODEL}`), [
    'server.bodyLimit: invalid size "10XB": unknown unit "XB"; use a number with a unit (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), e.g. 10MiB, or a bare number of bytes',
    'server.headersTimeout: invalid duration "10x": use a number with a unit (ms, s, m, h, d), e.g. 500ms, 30s, 10m, 1h30m, or a bare number of milliseconds',
  ]);
  assert.deepEqual(lines(`server:\n  headersTimeout: 0\n  bodyLimit: [1]\n${MODEL}`), [
    "server.bodyLimit: expected a size (string or number)",
    "server.headersTimeout: must be at least 1 ms",
  ]);
});

test("hostile model ids and aliases are rejected", () => {
  const text = `
models:
  ../../etc/passwd:
    model: a.gguf
  $(id):
    model: b.gguf
  ok:
    model: c.gguf
    aliases: [a/../b]
    unlistedAliases: [/root]
`;
  const found = problems(text);
  assert.deepEqual(
    found.map((p) => p.path),
    ["models.../../etc/passwd", "models.$(id)", "models.ok.aliases.0", "models.ok.unlistedAliases.0"],
  );
  for (const problem of found) assert.match(problem.message, /^invalid name: /);
});

test("models must be present and non-empty", () => {
  assert.deepEqual(lines("server:\n  port: 1\n"), ["models: required: configure at least one model"]);
  assert.deepEqual(lines("models: {}\n"), ["models: configure at least one model"]);
  assert.deepEqual(lines("models:\n  qwen:\n"), ["models.qwen: expected object, received null"]);
});

test("each model sets exactly one of model and cmd, and cmd must carry ${PORT}", () => {
  assert.deepEqual(lines("models:\n  a:\n    instances: 2\n"), [
    "models.a: set exactly one of model (a GGUF file) or cmd (a full argv), or list upstreams",
  ]);
  assert.deepEqual(lines("models:\n  a:\n    model: a.gguf\n    cmd: [x, '${PORT}']\n"), [
    "models.a.cmd: set either model or cmd, not both",
  ]);
  assert.deepEqual(lines("models:\n  a:\n    cmd: [llama-server, --port, '8081']\n"), [
    "models.a.cmd: must contain ${PORT}: the gateway picks each instance's port and has no other way to tell the child",
  ]);
  assert.deepEqual(lines("models:\n  a:\n    cmd: []\n"), [
    "models.a.cmd: Too small: expected array to have >=1 items",
    "models.a.cmd: must contain ${PORT}: the gateway picks each instance's port and has no other way to tell the child",
  ]);
  assert.deepEqual(lines("models:\n  a:\n    cmd: [srv, '--port=${PORT}']\n    args: [-c, '1']\n"), [
    "models.a.args: args only applies with model; put the arguments into cmd",
  ]);
});

test("args may not set what the gateway passes itself", () => {
  assert.deepEqual(
    lines("models:\n  a:\n    model: a.gguf\n    args: [-c, '1', --port, '9', '--api-key=x', -m, y]\n"),
    [
      "models.a.args.2: --port is set by the gateway; use cmd for full control",
      "models.a.args.4: --api-key is set by the gateway; use cmd for full control",
      "models.a.args.5: -m is set by the gateway; use cmd for full control",
    ],
  );
});
