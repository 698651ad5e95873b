import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { ConfigIdentity } from "./config-identity.js";
import { type ProcStat, parseProcStat } from "./proc-stat.js";
import { type PlanInput, planReap } from "./reap-orphans.js";
import {
  type ChildEntry,
  parseRuntimeRecord,
  RuntimeRecord,
  type RuntimeRecordData,
  runtimeRecordDir,
  runtimeRecordPath,
} from "./runtime-record.js";

const BOOT = "boot-a";
const SELF = 5000;

function proc(pid: number, startTime: number, pgid = pid, state = "S", ppid = 1): ProcStat {
  return { pid, state, ppid, pgid, startTime };
}

function child(pid: number, startTime: number, name = `m#${pid}`): ChildEntry {
  return { pid, pgid: pid, startTime, port: 40000 + pid, name };
}

function record(children: ChildEntry[], gatewayPid = 100, gatewayStart = 10): RuntimeRecordData {
  return { version: 1, gatewayPid, gatewayStart, bootId: BOOT, config: null, socketDir: null, children };
}

describe("parseProcStat", () => {
  const rest = "S 1 42 42 0 -1 4194560 10 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200";
  const cases: [string, string, Partial<ProcStat> | null][] = [
    ["plain name", `42 (node) ${rest}`, { state: "S", ppid: 1, pgid: 42, startTime: 987654 }],
    ["name with spaces and parens", `42 (a b) (c)) ${rest}`, { pgid: 42, startTime: 987654 }],
    ["zombie", `42 (x) Z${rest.slice(1)}`, { state: "Z" }],
    ["truncated", "42 (x) S 1 42", null],
    ["no parenthesis", "garbage", null],
  ];
  for (const [what, text, want] of cases) {
    test(what, () => {
      const got = parseProcStat(42, text);
      if (want === null) assert.equal(got, null);
      else assert.deepEqual({ ...got, ...want }, got);
    });
  }
});

describe("planReap", () => {
  const orphan = child(200, 500);
  type Case = [what: string, procs: ProcStat[], want: string[], input?: Partial<PlanInput>];
  const cases: Case[] = [
    ["gateway alive with its starttime: touch nothing", [proc(100, 10), proc(200, 500)], ["live-gateway"]],
    ["gateway pid reused by another process", [proc(100, 11), proc(200, 500)], ["reap 200:200"]],
    ["gateway is a zombie", [proc(100, 10, 100, "Z"), proc(200, 500)], ["reap 200:200"]],
    [
      "other boot: matching numbers mean nothing",
      [proc(100, 10), proc(200, 500)],
      ["skip 200 other-boot"],
      { bootId: "boot-b" },
    ],
    ["boot id unreadable", [proc(200, 500)], ["skip 200 other-boot"], { bootId: null }],
    ["leader and grandchild alive", [proc(200, 500), proc(201, 510, 200)], ["reap 200:200,201"]],
    ["child pid reused (starttime differs)", [proc(200, 900), proc(201, 910, 200)], ["skip 200 pid-reused"]],
    ["child pid reused by a zombie", [proc(200, 900, 200, "Z")], ["skip 200 pid-reused"]],
    ["leader died, grandchild left in its group", [proc(201, 510, 200)], ["reap 200:201"]],
    ["leader a zombie, grandchild alive", [proc(200, 500, 200, "Z"), proc(201, 510, 200)], ["reap 200:201"]],
    ["leaderless group with an older member is foreign", [proc(201, 400, 200)], ["skip 200 group-reused"]],
    ["nothing left", [proc(300, 1)], ["skip 200 gone"]],
    ["only zombies left", [proc(201, 510, 200, "Z")], ["skip 200 gone"]],
    ["group holds this gateway", [proc(SELF, 600, 200)], ["skip 200 self"]],
    [
      "not a group leader: its group may hold strangers",
      [proc(200, 500, 150)],
      ["skip 200 not-group-leader"],
      { record: record([{ ...orphan, pgid: 150 }]) },
    ],
    [
      "several children judged one by one",
      [proc(200, 500), proc(300, 701)],
      ["reap 200:200", "skip 300 pid-reused", "skip 400 gone"],
      { record: record([orphan, child(300, 700), child(400, 800)]) },
    ],
    ["no children", [], [], { record: record([]) }],
  ];
  for (const [what, procs, want, input] of cases) {
    test(what, () => {
      const got = planReap({ record: record([orphan]), procs, bootId: BOOT, selfPid: SELF, ...input });
      if (got.kind === "live-gateway") return assert.deepEqual(["live-gateway"], want);
      const lines = [
        ...got.targets.map((t) => `reap ${t.entry.pid}:${t.members.map((m) => m.pid).join(",")}`),
        ...got.skipped.map((s) => `skip ${s.pid} ${s.reason}`),
      ];
      assert.deepEqual(lines, want);
    });
  }
});

describe("parseRuntimeRecord", () => {
  const good = record([child(200, 500)]);
  const cases: [string, unknown, string][] = [
    ["valid", good, "ok"],
    ["not JSON", "{", "invalid"],
    ["other version", { ...good, version: 2 }, "invalid"],
    ["pid 1 would signal everything", { ...good, children: [{ ...child(200, 500), pgid: 1 }] }, "invalid"],
    ["pid 0 would signal our own group", { ...good, children: [{ ...child(200, 500), pid: 0 }] }, "invalid"],
    ["negative starttime", { ...good, children: [child(200, -1)] }, "invalid"],
    ["missing name", { ...good, children: [{ pid: 200, pgid: 200, startTime: 1, port: 1 }] }, "invalid"],
    ["empty boot id", { ...good, bootId: "" }, "invalid"],
    ["children not a list", { ...good, children: {} }, "invalid"],
    ["with its config's identity", { ...good, config: { path: "/etc/a.yaml", fileId: "1:2" } }, "ok"],
    ["config identity without its file id", { ...good, config: { path: "/etc/a.yaml" } }, "invalid"],
    ["with its socket folder", { ...good, socketDir: "/tmp/llamawrapper-a1B2c3" }, "ok"],
    ["socket folder not a string", { ...good, socketDir: 7 }, "invalid"],
    ["socket folder empty", { ...good, socketDir: "" }, "invalid"],
  ];
  for (const [what, value, want] of cases) {
    test(what, () => {
      const text = typeof value === "string" ? value : JSON.stringify(value);
      assert.equal(parseRuntimeRecord(text).kind, want);
    });
  }

  test("a record of an older version, without a config or socket folder, parses with both null", () => {
    const { config: _, socketDir: __, ...older } = good;
    assert.deepEqual(parseRuntimeRecord(JSON.stringify(older)), { kind: "ok", record: good });
  });
});

describe("RuntimeRecord", () => {
  const dirs: string[] = [];
  after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  async function tempDir() {
    const dir = await mkdtemp(join(tmpdir(), "runtime-record-"));
    dirs.push(dir);
    return dir;
  }
  // A fake /proc: the gateway SELF started at 10; its children are pids 200..299, started at pid*10.
  const fakeStat = (pid: number): ProcStat | null =>
    pid === SELF ? proc(SELF, 10) : pid >= 200 && pid < 300 ? proc(pid, pid * 10, pid, "S", SELF) : null;
  function open(path: string, errors: string[] = [], config: ConfigIdentity | null = null) {
    const rec = new RuntimeRecord(path, {
      onError: (message) => errors.push(message),
      readStat: fakeStat,
      readBootId: () => BOOT,
      selfPid: SELF,
      config,
    });
    return { rec, errors };
  }
  const readJson = async (path: string) => JSON.parse(await readFile(path, "utf8")) as RuntimeRecordData;

  test("one folder per user (<cache>/run), one file per gateway pid, whatever its config", () => {
    assert.equal(runtimeRecordDir("/c"), "/c/run");
    assert.equal(runtimeRecordPath("/c/run", 4242), "/c/run/gateway-4242.json");
  });

  test("open, add and remove write the whole state, and it parses back", async () => {
    const path = join(await tempDir(), "run", "r.json");
    const config = { path: "/etc/a.yaml", fileId: "2049:1234" };
    const { rec, errors } = open(path, [], config);
    await rec.open();
    await rec.setSocketDir("/tmp/llamawrapper-a1B2c3");
    await rec.add({ pid: 201, port: 8001, name: "a#0" });
    await rec.add({ pid: 202, port: 8002, name: "b#0" });
    await rec.remove(201);
    const data = await readJson(path);
    assert.deepEqual(data, {
      version: 1,
      gatewayPid: SELF,
      gatewayStart: 10,
      bootId: BOOT,
      config,
      socketDir: "/tmp/llamawrapper-a1B2c3",
      children: [{ pid: 202, port: 8002, name: "b#0", pgid: 202, startTime: 2020 }],
    });
    assert.deepEqual(parseRuntimeRecord(JSON.stringify(data)), { kind: "ok", record: data });
    assert.deepEqual(errors, []);
  });

  test("100 concurrent changes: writes never interleave and the last state wins", async () => {
    const dir = await tempDir();
    const path = join(dir, "r.json");
    const { rec, errors } = open(path);
    void rec.open();
    const pids = Array.from({ length: 100 }, (_, i) => 200 + i);
    await Promise.all(pids.map((pid) => rec.add({ pid, port: pid, name: String(pid) })));
    await Promise.all(pids.filter((pid) => pid % 2 === 0).map((pid) => rec.remove(pid)));
    const data = await readJson(path);
    assert.deepEqual(
      data.children.map((c) => c.pid),
      pids.filter((pid) => pid % 2 === 1),
    );
    assert.deepEqual(await readdir(dir), ["r.json"], "no temporary file is left");
    assert.deepEqual(errors, []);
  });

  test("a process that is not our child is never recorded", async () => {
    const path = join(await tempDir(), "r.json");
    const { rec, errors } = open(path);
    await rec.open();
    await rec.add({ pid: 999, port: 1, name: "stranger" });
    assert.deepEqual((await readJson(path)).children, []);
    assert.equal(errors.length, 1);
  });

  test("a failing write is reported, never thrown, and the next change retries", async () => {
    const dir = await tempDir();
    const blocker = join(dir, "file");
    await writeFile(blocker, "");
    // A path under a regular file cannot be created (ENOTDIR), like a full or read-only disk.
    const { rec, errors } = open(join(blocker, "r.json"));
    await rec.open();
    await rec.add({ pid: 201, port: 1, name: "a" });
    assert.equal(errors.length, 2);
    const good = join(dir, "ok.json");
    const retry = open(good);
    await retry.rec.add({ pid: 201, port: 1, name: "a" });
    await retry.rec.setSocketDir("/tmp/llamawrapper-a1B2c3");
    await retry.rec.open();
    assert.equal((await readJson(good)).children.length, 1, "a child added before open is kept");
    assert.equal((await readJson(good)).socketDir, "/tmp/llamawrapper-a1B2c3", "so is the socket folder");
  });

  test("close deletes the file only when no child is left", async () => {
    const path = join(await tempDir(), "r.json");
    const { rec } = open(path);
    await rec.open();
    await rec.add({ pid: 201, port: 1, name: "a" });
    await rec.close();
    assert.equal((await readJson(path)).children.length, 1, "an unreaped child keeps the record");
    await rec.remove(201);
    await rec.close();
    await assert.rejects(readFile(path), { code: "ENOENT" });
  });

  test("without /proc no record is kept", async () => {
    const path = join(await tempDir(), "r.json");
    const errors: string[] = [];
    const rec = new RuntimeRecord(path, {
      onError: (m) => errors.push(m),
      readStat: () => null,
      readBootId: () => null,
    });
    await rec.open();
    await assert.rejects(readFile(path), { code: "ENOENT" });
    assert.equal(errors.length, 1);
  });
});
