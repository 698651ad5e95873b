import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";

const ROOT = new URL("../../", import.meta.url).pathname;
const BIN = join(ROOT, "src/cli/bin.ts");

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", BIN, ...args], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function configFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-cli-"));
  writeFileSync(join(dir, "config.yaml"), text);
  return join(dir, "config.yaml");
}

test("check prints every problem of a config with three mistakes, each with its path, and exits 3", () => {
  const path = configFile(
    ["server: { prot: 8080 }", "models:", "  qwen:", "    model: ./m.gguf", "    instances: zero", ""].join(
      "\n",
    ),
  );
  const { code, stdout } = cli("check", "--config", path);
  assert.equal(code, 3);
  assert.match(stdout, /3 problems/);
  assert.match(stdout, /^server\.prot: unknown key \(did you mean "port"\?\)/m);
  assert.match(stdout, /^models\.qwen\.instances: /m);
  assert.match(stdout, /^models\.qwen\.model: file not found: \.\/m\.gguf$/m);
});

test("check accepts a valid config with exit 0; the single-dash -config form works", () => {
  const dir = mkdtempSync(join(tmpdir(), "llamawrapper-cli-"));
  writeFileSync(join(dir, "m.gguf"), "");
  writeFileSync(
    join(dir, "config.yaml"),
    "models:\n  qwen:\n    model: ./m.gguf\n    aliases: [gpt-4o-mini]\n",
  );
  const { code, stdout } = cli("check", "-config", join(dir, "config.yaml"));
  assert.equal(code, 0, stdout);
  assert.match(stdout, /ok \(1 model: qwen\)/);
});

test("--help, --version, and usage errors", () => {
  const help = cli("--help");
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Exit codes:/);
  const version = cli("--version");
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  assert.equal(cli("bogus").code, 2);
  assert.equal(cli("check").code, 2);
  assert.equal(cli("--config", "/nonexistent/config.yaml").code, 3);
});
