import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import pino, { type Logger } from "pino";
import { waitFor } from "../../test/support/deadline.js";
import { createLogger } from "./create-logger.js";

/** Closes the file the logger holds, so the test process can end. */
function closeSink(log: Logger): void {
  (log as unknown as Record<symbol, { destroy(): void }>)[pino.symbols.streamSym]?.destroy();
}

test("a log file is created (with its folder) and gets one JSON line per entry", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lw-log-"));
  try {
    const file = join(dir, "sub", "gateway.log");
    const log = createLogger({ level: "info", file, warn: () => assert.fail("no warning expected") });
    log.info({ requestId: "r1" }, "request");
    log.debug("not at this level");
    await waitFor(
      "the log line",
      () => (existsSync(file) && readFileSync(file, "utf8").includes("r1") ? true : undefined),
      5_000,
    );
    const lines = readFileSync(file, "utf8").trim().split("\n");
    assert.equal(lines.length, 1);
    assert.equal(JSON.parse(lines[0] ?? "").requestId, "r1");
    closeSink(log);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a sink that fails (disk full: /dev/full) neither throws nor buffers without bound, and says so", async () => {
  const warnings: string[] = [];
  let clock = 0;
  const log = createLogger({
    level: "info",
    file: "/dev/full",
    warn: (line) => warnings.push(line),
    now: () => (clock += 60_000), // every warning passes the rate limit
  });
  const line = "x".repeat(1_000);
  for (let i = 0; i < 50_000; i++) log.info({ i, line }, "request");
  // 50 MB were logged at once: past the 8 MiB cap lines are dropped, not buffered.
  await waitFor("a warning about dropped lines", () =>
    warnings.some((w) => w.includes("too many unwritten bytes")) ? true : undefined,
  );
  await waitFor("the write error itself", () => (warnings.some((w) => /ENOSPC/.test(w)) ? true : undefined));
  const dropped = Number(/(\d+) lines dropped/.exec(warnings.at(-1) ?? "")?.[1]);
  assert.ok(dropped > 40_000, `most of the 50k lines were dropped, not kept (dropped ${dropped})`);
  closeSink(log);
});

test("warnings about a failing sink are rate-limited", async () => {
  const warnings: string[] = [];
  const log = createLogger({ level: "info", file: "/dev/full", warn: (line) => warnings.push(line) });
  for (let i = 0; i < 100; i++) log.info({ i }, "request");
  await waitFor("a warning", () => (warnings.length > 0 ? true : undefined));
  for (let i = 0; i < 100; i++) log.info({ i }, "request");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.equal(warnings.length, 1);
  closeSink(log);
});

test("a process whose log sink is failing still exits (the exit-time flush does not retry forever)", () => {
  const module = new URL("./create-logger.ts", import.meta.url).href;
  const script = [
    `import { createLogger } from ${JSON.stringify(module)};`,
    'const log = createLogger({ level: "info", file: "/dev/full", warn: () => {} });',
    'for (let i = 0; i < 20; i++) log.info({ i }, "request");',
    'setTimeout(() => log.info("last words"), 200);',
  ].join("\n");
  const result = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: new URL("../../", import.meta.url).pathname,
    encoding: "utf8",
    timeout: 20_000,
  });
  assert.equal(result.signal, null, "it had to be killed: it never exited");
  assert.equal(result.status, 0, result.stderr);
});

test("lines written while a write is in flight all arrive whole and in order, multi-byte text included", async () => {
  const dir = mkdtempSync(join(tmpdir(), "lw-log-"));
  try {
    const file = join(dir, "gateway.log");
    const log = createLogger({ level: "info", file, warn: () => assert.fail("no warning expected") });
    for (let i = 0; i < 500; i++) log.info({ n: i, text: "é→🦊" }, "request");
    await waitFor(
      "500 lines",
      () => (existsSync(file) && readFileSync(file, "utf8").split("\n").length > 500 ? true : undefined),
      5_000,
    );
    const lines = readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(
      lines.map((line) => line.n),
      Array.from({ length: 500 }, (_, i) => i),
    );
    assert.ok(lines.every((line) => line.text === "é→🦊"));
    closeSink(log);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
