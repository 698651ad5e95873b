import assert from "node:assert/strict";
import { appendFile, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, test } from "node:test";
import pino from "pino";
import { waitFor } from "../../test/support/deadline.js";
import { requestRecord } from "../../test/support/request-record.js";
import type { RequestRecord } from "../http/request-record.js";
import { HistoryFile } from "./history-file.js";

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "history-file-"));
  dirs.push(dir);
  return dir;
}

/** A logger whose lines the test can read back, parsed. */
function capturedLog() {
  const lines: Array<{ level: number; msg: string }> = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()));
        done();
      },
    }),
  );
  return { log, warnings: () => lines.filter((line) => line.level === 40), lines };
}

function record(n: number): RequestRecord {
  return requestRecord({
    requestId: `r${n}`,
    at: 1_700_000_000_000 + n,
    durationMs: 12.5,
    ttfbMs: 3,
    upstreamMs: 11,
    model: "llama",
    instance: "llama#0",
    keyName: "team",
    usage: { promptTokens: 10, completionTokens: 20, cachedTokens: 4 },
    tokensPerSecond: 42.1,
    cache: "miss",
    stream: true,
  });
}

const ids = (records: RequestRecord[]) => records.map((r) => r.requestId);
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test("append then load round-trips every field, oldest first, newest `limit`", async () => {
  const path = join(await tempDir(), "history.jsonl");
  const { log, warnings } = capturedLog();
  const file = new HistoryFile(path, { maxBytes: 1_000_000 }, log);
  for (let n = 1; n <= 5; n += 1) file.append(record(n));
  await file.close();
  const reader = new HistoryFile(path, { maxBytes: 1_000_000 }, log);
  const all = await reader.load(100);
  assert.deepEqual(all, [1, 2, 3, 4, 5].map(record));
  assert.deepEqual(ids(await reader.load(2)), ["r4", "r5"]);
  assert.deepEqual(await reader.load(0), []);
  assert.deepEqual(warnings(), []);
});

test("a missing file loads as an empty history, without a warning", async () => {
  const { log, warnings } = capturedLog();
  const file = new HistoryFile(join(await tempDir(), "none.jsonl"), { maxBytes: 1000 }, log);
  assert.deepEqual(await file.load(10), []);
  assert.deepEqual(warnings(), []);
  await file.close();
});

test("rotation keeps one old file, and load reads across both", async () => {
  const dir = await tempDir();
  const path = join(dir, "history.jsonl");
  const { log, warnings } = capturedLog();
  const lineBytes = Buffer.byteLength(`${JSON.stringify(record(10))}\n`);
  const options = { maxBytes: lineBytes * 3 };
  const file = new HistoryFile(path, options, log);
  for (let n = 10; n < 30; n += 1) {
    file.append(record(n));
    await tick(2); // let each rotation's rename land, as real traffic would
  }
  await file.close();
  assert.deepEqual(
    (await readdir(dir)).filter((name) => name !== "history.jsonl"),
    ["history.jsonl.1"],
  );
  const old = ids(await new HistoryFile(`${path}.1`, options, log).load(100));
  assert.ok(old.length >= 2 && old.length <= 10, `old file stayed near maxBytes: ${old.length} lines`);
  assert.ok(!old.includes("r10"), "each rotation replaced the previous old file");

  // A restart: the new process appends to what is left of the current file.
  const next = new HistoryFile(path, options, log);
  next.append(record(30));
  await next.close();
  const loaded = ids(await next.load(100));
  assert.deepEqual(loaded.slice(0, old.length), old, "path.1 first");
  assert.equal(loaded.at(-1), "r30", "then path");
  const numbers = loaded.map((id) => Number(id.slice(1)));
  assert.deepEqual(
    numbers,
    [...numbers].sort((a, b) => a - b),
  );
  assert.equal(loaded.length, new Set(loaded).size);
  assert.deepEqual(ids(await next.load(2)), ["r29", "r30"]);
  assert.deepEqual(warnings(), []);
});

test("a torn last line and lines without required fields are skipped", async () => {
  const path = join(await tempDir(), "history.jsonl");
  const { log } = capturedLog();
  const { requestId: _, ...noId } = record(3);
  const older = { requestId: "r4", at: 1, method: "GET", status: 404, durationMs: 1 };
  await writeFile(
    `${path}.1`,
    `${JSON.stringify(record(1))}\nnot json\n${JSON.stringify(noId)}\n${JSON.stringify(older)}\n`,
  );
  await writeFile(path, `${JSON.stringify(record(2))}\n\n[1,2]\nnull\n`);
  await appendFile(path, JSON.stringify(record(5)).slice(0, 40));
  const loaded = await new HistoryFile(path, { maxBytes: 1000 }, log).load(10);
  assert.deepEqual(ids(loaded), ["r1", "r4", "r2"]);
  // A line from an older version, with fewer fields, gets nulls for the missing ones.
  assert.deepEqual(loaded[1], {
    ...older,
    route: null,
    ttfbMs: null,
    queueMs: null,
    upstreamMs: null,
    model: null,
    instance: null,
    routing: null,
    keyName: null,
    usage: null,
    tokensPerSecond: null,
    cache: null,
    errorCode: null,
    stream: false,
    modelAsked: null,
    userAgent: null,
  });
});

test("a folder that disappears: appends never throw, one warning, writing resumes when it is back", async () => {
  const folder = join(await tempDir(), "history");
  await mkdir(folder);
  const path = join(folder, "history.jsonl");
  const { log, warnings, lines } = capturedLog();
  const file = new HistoryFile(path, { maxBytes: 1_000_000, recheckMs: 10 }, log);
  file.append(record(1));
  await waitFor("the first line on disk", async () =>
    (await file.load(10)).length === 1 ? true : undefined,
  );

  await rm(folder, { recursive: true });
  let n = 100;
  await waitFor("a warning about the missing folder", async () => {
    assert.doesNotThrow(() => file.append(record(n++)));
    await tick(5);
    return warnings().length > 0 ? true : undefined;
  });
  for (let i = 0; i < 10; i += 1) {
    assert.doesNotThrow(() => file.append(record(n++)));
    await tick(5);
  }
  assert.equal(warnings().length, 1, "warned once, not once per line");

  await mkdir(folder);
  let resumed = 1000;
  await waitFor("appends to resume", async () => {
    file.append(record(resumed++));
    await tick(5);
    return (await file.load(1)).length > 0 ? true : undefined;
  });
  file.append(record(5000));
  await file.close();
  const loaded = ids(await file.load(10_000));
  assert.equal(loaded.at(-1), "r5000", "close flushed the last line");
  assert.ok(!loaded.includes("r1"), "the removed file's lines are gone with it");
  assert.equal(warnings().length, 1);
  assert.ok(lines.some((line) => line.msg === "history file writable again"));
});

test("close flushes: a load after close sees every record, and later appends are ignored", async () => {
  const path = join(await tempDir(), "history.jsonl");
  const { log } = capturedLog();
  const file = new HistoryFile(path, { maxBytes: 10_000_000 }, log);
  for (let n = 0; n < 2000; n += 1) file.append(record(n));
  await file.close();
  file.append(record(9999));
  const loaded = await file.load(10_000);
  assert.equal(loaded.length, 2000);
  assert.equal(loaded.at(-1)?.requestId, "r1999");
  await file.close(); // twice is harmless
});
