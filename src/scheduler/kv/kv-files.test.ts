import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { KvFiles } from "./kv-files.js";

const FOLDER = "0123456789abcdef";

function open(dir: string, maxBytes = 1000, warnings: string[] = []) {
  let now = 1_000;
  const files = new KvFiles({ dir, maxBytes, warn: (m) => warnings.push(m), now: () => now++ });
  return files;
}

/** Writes a file as llama-server would, then indexes it. */
async function save(files: KvFiles, key: string, bytes: number): Promise<string> {
  await files.ready;
  const file = files.newFileName();
  writeFileSync(join(files.folderPath(FOLDER), file), Buffer.alloc(bytes));
  await files.add({ folder: FOLDER, file, key, tokens: bytes, bytes });
  return file;
}

describe("KvFiles: the saved slots' folder", () => {
  it("makes its folders private and names every file itself", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "kv-")), "kv");
    const files = open(dir);
    await files.ready;
    const path = files.folderPath(FOLDER);
    assert.equal(path, `${join(dir, FOLDER)}/`);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(path).mode & 0o777, 0o700);
    assert.match(files.newFileName(), /^[0-9a-f]{24}\.bin$/);
    assert.throws(() => files.folderPath("../etc"), /not a kv folder name/);
  });

  it("finds the longest saved prefix of a conversation", async () => {
    const files = open(mkdtempSync(join(tmpdir(), "kv-")));
    await save(files, "k1", 10);
    await save(files, "k3", 10);
    assert.equal(files.find(FOLDER, ["k1", "k2", "k3", "k4"])?.key, "k3");
    assert.equal(files.find(FOLDER, ["k1", "k2"])?.key, "k1");
    assert.equal(files.find("fedcba9876543210", ["k1"]), null, "another launch's folder is another model");
  });

  it("stays within its budget, deleting the least recently used files", async () => {
    const files = open(mkdtempSync(join(tmpdir(), "kv-")), 1000);
    const a = await save(files, "a", 400);
    const b = await save(files, "b", 400);
    const entryA = files.find(FOLDER, ["a"]);
    assert.ok(entryA !== null);
    files.touch(entryA); // a was restored: b is now the least recently used
    const c = await save(files, "c", 400);
    assert.equal(files.bytes, 800);
    const folder = join(files.dir, FOLDER);
    assert.deepEqual(readdirSync(folder).sort(), [a, c].sort());
    assert.equal(existsSync(join(folder, b)), false);
    assert.equal(files.find(FOLDER, ["b"]), null);
  });

  it("at start keeps what its index names and deletes everything else", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kv-"));
    const first = open(dir);
    const kept = await save(first, "kept", 100);
    const gone = await save(first, "gone", 100);
    await first.remove(first.find(FOLDER, ["gone"]) as never);
    // Left behind: a save cut by its deadline, a file from elsewhere, a folder not of the gateway.
    writeFileSync(join(dir, FOLDER, "aaaaaaaaaaaaaaaaaaaaaaaa.bin"), "partial");
    writeFileSync(join(dir, FOLDER, "notes.txt"), "x");
    mkdirSync(join(dir, "other"));
    writeFileSync(join(dir, "other", "x.bin"), "x");
    const second = open(dir);
    await second.ready;
    assert.deepEqual(readdirSync(join(dir, FOLDER)), [kept]);
    assert.deepEqual(readdirSync(dir).sort(), [FOLDER, "index.json"].sort());
    assert.equal(second.find(FOLDER, ["kept"])?.file, kept);
    assert.equal(second.find(FOLDER, ["gone"]), null);
    assert.equal(existsSync(join(dir, FOLDER, gone)), false);
  });

  it("drops an indexed file that is missing or changed size, and a budget that shrank", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kv-"));
    const first = open(dir, 10_000);
    await save(first, "a", 100);
    const b = await save(first, "b", 100);
    await save(first, "c", 100);
    writeFileSync(join(dir, FOLDER, b), "changed behind the gateway's back");
    const second = open(dir, 100);
    await second.ready;
    assert.equal(second.find(FOLDER, ["b"]), null);
    assert.equal(second.count, 1, "within the new budget: only the most recent");
    assert.equal(second.find(FOLDER, ["c"])?.key, "c");
  });

  it("an unreadable index means nothing is kept, with a clean folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "kv-"));
    const first = open(dir);
    const file = await save(first, "a", 10);
    writeFileSync(join(dir, "index.json"), "{not json");
    const second = open(dir);
    await second.ready;
    assert.equal(second.count, 0);
    assert.equal(existsSync(join(dir, FOLDER, file)), false);
  });
});
