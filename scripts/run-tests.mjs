#!/usr/bin/env node
// Runs every test: unit tests next to the code (src/**/*.test.ts) and integration tests
// (test/**/*.test.ts), through Node's own runner with tsx. Node 20's --test takes no globs,
// so the files are listed here. Before the tests, makes sure the real llama-server is built
// (the setup build, cached per user) and the tiny models exist, since integration tests use them.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function findTests(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2);
const prepare = spawnSync(process.execPath, ["--import", "tsx", "scripts/prepare-test-assets.ts"], {
  stdio: "inherit",
});
if (prepare.status !== 0) process.exit(prepare.status ?? 1);

let files = [...findTests("src"), ...findTests("test")].sort();
if (filters.length > 0) files = files.filter((f) => filters.some((x) => f.includes(x)));
const result = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-reporter=spec", "--test-timeout=300000", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
