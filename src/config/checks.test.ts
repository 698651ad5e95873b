// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these tests feed literal ${env:…} and ${PORT} placeholders.
import assert from "node:assert/strict";
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { formatProblems } from "./format-problems.js";
import { parseConfig } from "./load.js";
import type { ConfigResult, GatewayConfig } from "./types.js";

function parse(text: string, baseDir = "/srv/llw", checkFiles = false): ConfigResult {
  return parseConfig(text, { baseDir, env: {}, source: null, checkFiles });
}

function configOf(result: ConfigResult): GatewayConfig {
  if (!result.ok) assert.fail(`expected a valid config, got:\n${formatProblems(result.problems)}`);
  return result.config;
}

function lines(result: ConfigResult): string[] {
  if (result.ok) assert.fail("expected problems, got a valid config");
  return formatProblems(result.problems).split("\n");
}

/** A temp folder holding the given files; names ending in "/" become folders, mode 0o755 files are executable. */
function folder(files: Record<string, number>): string {
  const dir = mkdtempSync(join(tmpdir(), "llw-config-"));
  for (const [name, mode] of Object.entries(files)) {
    const path = join(dir, name);
    if (name.endsWith("/")) mkdirSync(path, { recursive: true });
    else {
      mkdirSync(join(path, ".."), { recursive: true });
      writeFileSync(path, "x");
      chmodSync(path, mode);
    }
  }
  return dir;
}

test("an alias that clashes with another model's id or alias is reported at the alias", () => {
  const text = `
models:
  qwen:
    model: q.gguf
    aliases: [fast, llama]
  llama:
    model: l.gguf
    aliases: [fast, self-ok]
    unlistedAliases: [llama, self-ok]
`;
  assert.deepEqual(lines(parse(text)), [
    'models.qwen.aliases.1: "llama" is already the id of model "llama"',
    'models.llama.aliases.0: "fast" is already an alias of model "qwen" (models.qwen.aliases.0)',
    'models.llama.unlistedAliases.0: "llama" is this model\'s own id',
    'models.llama.unlistedAliases.1: "self-ok" is already an alias of model "llama" (models.llama.aliases.1)',
  ]);
});

test("defaultModel must name a model id or alias", () => {
  const base = "models:\n  qwen:\n    model: q.gguf\n    unlistedAliases: [hidden]\n";
  assert.equal(configOf(parse(`${base}defaultModel: qwen\n`)).defaultModel, "qwen");
  assert.equal(configOf(parse(`${base}defaultModel: hidden\n`)).defaultModel, "hidden");
  assert.deepEqual(lines(parse(`${base}defaultModel: qwne\n`)), [
    'defaultModel: "qwne" is not a model id or alias (did you mean "qwen"?)',
  ]);
});

test("a missing model file is reported as the user wrote it", () => {
  const dir = folder({});
  assert.deepEqual(lines(parse("models:\n  qwen:\n    model: ./m.gguf\n", dir, true)), [
    "models.qwen.model: file not found: ./m.gguf",
  ]);
});

test("files are checked: model files readable, programs with a / executable, folders rejected", () => {
  const dir = folder({ "m.gguf": 0o644, "bin/llama-server": 0o644, "bin/run": 0o644, "models/": 0 });
  const text = `
llamaServer:
  binary: ./bin/llama-server
models:
  a:
    model: ./models
  b:
    cmd: [bin/run, --port, "\${PORT}"]
  c:
    cmd: [on-path-server, --port, "\${PORT}"]
  d:
    model: m.gguf
`;
  const expected = [
    "llamaServer.binary: not executable: ./bin/llama-server (EACCES)",
    "models.a.model: not a file: ./models",
    "models.b.cmd.0: not executable: bin/run (EACCES)",
  ];
  // Even root passes X_OK only when some execute bit is set, so this holds when tests run as root.
  assert.deepEqual(lines(parse(text, dir, true)), expected);
  configOf(parse(text, dir, false));
});

test("relative paths resolve against baseDir; bare program names are left for PATH", () => {
  const dir = folder({
    "models/q.gguf": 0o644,
    "m.gguf": 0o644,
    "bin/llama-server": 0o755,
    "bin/run": 0o755,
  });
  const text = `
llamaServer:
  binary: ./bin/llama-server
models:
  q:
    model: ./models/q.gguf
  m:
    model: m.gguf
  abs:
    model: ${join(dir, "m.gguf")}
  run:
    cmd: [bin/run, -m, ./relative-arg.gguf, --port, "\${PORT}"]
  path:
    cmd: [llama-server, --port, "\${PORT}"]
`;
  const config = configOf(parse(text, dir, true));
  assert.equal(config.llamaServer.binary, join(dir, "bin/llama-server"));
  assert.deepEqual(config.models.q?.launch, { kind: "model", model: join(dir, "models/q.gguf"), args: [] });
  assert.deepEqual(config.models.m?.launch, { kind: "model", model: join(dir, "m.gguf"), args: [] });
  assert.deepEqual(config.models.abs?.launch, { kind: "model", model: join(dir, "m.gguf"), args: [] });
  assert.deepEqual(config.models.run?.launch, {
    kind: "cmd",
    cmd: [join(dir, "bin/run"), "-m", "./relative-arg.gguf", "--port", "${PORT}"],
  });
  assert.deepEqual(config.models.path?.launch, { kind: "cmd", cmd: ["llama-server", "--port", "${PORT}"] });
  assert.equal(
    configOf(parse("llamaServer: { binary: llama-server }\nmodels: { m: { model: m.gguf } }", dir))
      .llamaServer.binary,
    "llama-server",
  );
});

test("a relative baseDir and source are made absolute", () => {
  const result = parseConfig("models:\n  m:\n    model: m.gguf\n", {
    baseDir: "conf",
    env: {},
    source: "conf/config.yaml",
    checkFiles: false,
  });
  const config = configOf(result);
  assert.equal(config.source, join(process.cwd(), "conf/config.yaml"));
  assert.deepEqual(config.models.m?.launch, {
    kind: "model",
    model: join(process.cwd(), "conf/m.gguf"),
    args: [],
  });
});
