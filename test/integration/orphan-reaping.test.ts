import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { lstatSync } from "node:fs";
import { chown, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import type { ConfigIdentity } from "../../src/process/config-identity.js";
import { readBootId, readProcStat } from "../../src/process/proc-stat.js";
import { signalGroup } from "../../src/process/process-group.js";
import { type ReapResult, reapOrphans } from "../../src/process/reap-orphans.js";
import { reapStaleRecords } from "../../src/process/reap-stale-records.js";
import type { ChildEntry, RuntimeRecordData } from "../../src/process/runtime-record.js";
import { waitFor } from "../support/deadline.js";
import { groupMembers, isAlive } from "../support/process-tree.js";

/** Process groups this file started (each leader's pid), grandchildren included. */
const groups: number[] = [];
let dir = "";
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "orphan-reaping-"));
});
after(async () => {
  // Every group this file started, grandchildren included, whatever a failed test left.
  for (const pgid of groups) if (groupMembers([pgid]).length > 0) signalGroup(pgid, "SIGKILL");
  await rm(dir, { recursive: true, force: true });
});

const IDLE = "setInterval(() => {}, 1000)";

/**
 * A detached process (its own group, like a gateway's child) that starts a grandchild in the
 * same group; a stubborn grandchild ignores SIGTERM. Resolves once the grandchild is running.
 */
async function leaderWithGrandchild(stubborn: boolean) {
  const grandchild = `${stubborn ? "process.on('SIGTERM', () => {});" : ""} console.log('gc', process.pid); ${IDLE}`;
  const script = `require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(grandchild)}], { stdio: ["ignore", "inherit", "inherit"] }); ${IDLE}`;
  const leader = spawn(process.execPath, ["-e", script], {
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  groups.push(leader.pid as number);
  const lines = createInterface({ input: leader.stdout as NodeJS.ReadableStream });
  for await (const line of lines) {
    const match = /^gc (\d+)$/.exec(line);
    if (match !== null) return { leader, grandchildPid: Number(match[1]) };
  }
  throw new Error("the leader ended before its grandchild started");
}

/** A detached process with no business here: it must survive every reap. */
async function innocent(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ["-e", IDLE], { detached: true, stdio: "ignore" });
  groups.push(child.pid as number);
  await once(child, "spawn");
  return child;
}

function startTimeOf(pid: number): number {
  const stat = readProcStat(pid);
  assert.ok(stat !== null, `pid ${pid} has no /proc entry`);
  return stat.startTime;
}

/** A gateway that died: a real pid with its real starttime, already exited and reaped. */
async function deadGateway(): Promise<{ pid: number; startTime: number }> {
  const child = await innocent();
  const pid = child.pid as number;
  const startTime = startTimeOf(pid);
  child.kill("SIGKILL");
  await once(child, "exit");
  return { pid, startTime };
}

function entry(pid: number, name: string, startTime = startTimeOf(pid)): ChildEntry {
  return { pid, pgid: pid, startTime, port: 1, name };
}

async function writeRecord(
  name: string,
  gateway: { pid: number; startTime: number },
  children: ChildEntry[],
  config: ConfigIdentity | null = null,
  folder = dir,
  socketDir: string | null = null,
) {
  const bootId = readBootId();
  assert.ok(bootId !== null);
  const data: RuntimeRecordData = {
    version: 1,
    gatewayPid: gateway.pid,
    gatewayStart: gateway.startTime,
    bootId,
    config,
    socketDir,
    children,
  };
  const path = join(folder, `${name}.json`);
  await writeFile(path, JSON.stringify(data));
  return path;
}

async function reap(path: string): Promise<{ result: ReapResult; logs: string[] }> {
  const logs: string[] = [];
  const result = await reapOrphans(path, {
    signalGroup,
    log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`),
    graceMs: 300,
  });
  return { result, logs };
}

const allGone = (pids: number[]) => (pids.every((pid) => !isAlive(pid)) ? true : undefined);

test("a dead gateway's children and grandchildren are stopped: SIGTERM, then SIGKILL for the stubborn", async () => {
  const gateway = await deadGateway();
  const meek = await leaderWithGrandchild(false);
  const stubborn = await leaderWithGrandchild(true);
  const meekPid = meek.leader.pid as number;
  const stubbornPid = stubborn.leader.pid as number;
  const path = await writeRecord("dead", gateway, [
    entry(meekPid, "meek#0"),
    entry(stubbornPid, "stubborn#0"),
  ]);
  const { result } = await reap(path);
  assert.equal(result.kind, "reaped");
  assert.deepEqual(
    result.kind === "reaped" ? result.reaped.map((r) => `${r.name} ${r.how} ${r.lingering.length}`) : [],
    ["meek#0 term 0", "stubborn#0 kill 0"],
  );
  const pids = [meekPid, meek.grandchildPid, stubbornPid, stubborn.grandchildPid];
  await waitFor("every orphan gone", () => allGone(pids), 5000);
  assert.deepEqual(groupMembers([meekPid, stubbornPid]), []);
  await assert.rejects(readFile(path), { code: "ENOENT" }, "the stale record is deleted");
});

/**
 * A stand-in gateway: keeps a real RuntimeRecord, spawns one detached child, records it, and
 * reports the child's pid. Being SIGKILLed, it leaves the child behind with nothing to stop it.
 */
async function gatewayWithChild(path: string) {
  const module = resolve("src/process/runtime-record.ts");
  const script = `
    import { spawn } from "node:child_process";
    import { once } from "node:events";
    import { RuntimeRecord } from ${JSON.stringify(module)};
    const record = new RuntimeRecord(process.argv[1], { onError: (m) => console.error(m) });
    await record.open();
    const child = spawn(process.execPath, ["-e", ${JSON.stringify(IDLE)}], { detached: true, stdio: "ignore" });
    await once(child, "spawn");
    await record.add({ pid: child.pid, port: 1234, name: "m#0" });
    console.log("child", child.pid);
    ${IDLE}`;
  const gateway = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script, path], {
    detached: true,
    stdio: ["ignore", "pipe", "inherit"],
  });
  groups.push(gateway.pid as number);
  for await (const line of createInterface({ input: gateway.stdout as NodeJS.ReadableStream })) {
    const match = /^child (\d+)$/.exec(line);
    if (match !== null) return { gateway, childPid: Number(match[1]) };
  }
  throw new Error("the stand-in gateway ended before starting its child");
}

test("a SIGKILLed gateway's recorded child is stopped by the next start", async () => {
  const path = join(dir, "e2e", "record.json");
  const { gateway, childPid } = await gatewayWithChild(path);
  groups.push(childPid);
  const { result: early } = await reap(path);
  assert.equal(early.kind, "live-gateway", "while the gateway lives, its record is not stale");
  gateway.kill("SIGKILL");
  await once(gateway, "exit");
  assert.ok(isAlive(childPid), "a detached child outlives a SIGKILLed gateway");
  const { result } = await reap(path);
  assert.deepEqual(
    result.kind === "reaped" ? result.reaped.map((r) => `${r.pid} ${r.name} ${r.port} ${r.how}`) : result,
    [`${childPid} m#0 1234 term`],
  );
  await waitFor("the orphan gone", () => allGone([childPid]), 5000);
});

test("a grandchild whose leader already died is found through the group and stopped", async () => {
  const gateway = await deadGateway();
  const { leader, grandchildPid } = await leaderWithGrandchild(true);
  const leaderPid = leader.pid as number;
  const path = await writeRecord("leaderless", gateway, [entry(leaderPid, "wrapper#0")]);
  leader.kill("SIGKILL");
  await once(leader, "exit");
  assert.ok(isAlive(grandchildPid), "the grandchild outlived its leader");
  const { result } = await reap(path);
  assert.equal(result.kind, "reaped");
  assert.deepEqual(result.kind === "reaped" ? result.reaped.map((r) => `${r.pid} ${r.how}`) : [], [
    `${leaderPid} kill`,
  ]);
  await waitFor("the grandchild gone", () => allGone([grandchildPid]), 5000);
});

test("a recorded pid now held by another process (other starttime) is not touched", async () => {
  const gateway = await deadGateway();
  const bystander = await innocent();
  const pid = bystander.pid as number;
  const path = await writeRecord("reused", gateway, [entry(pid, "old#0", startTimeOf(pid) - 1)]);
  const { result, logs } = await reap(path);
  assert.deepEqual(result, {
    kind: "reaped",
    reaped: [],
    skipped: [{ pid, name: "old#0", reason: "pid-reused" }],
  });
  assert.ok(logs.some((line) => line.includes("pid-reused")));
  assert.ok(isAlive(pid), "the bystander survives");
  bystander.kill("SIGKILL");
  await once(bystander, "exit");
});

test("a record whose gateway is still alive is left alone, children and file", async () => {
  const child = await innocent();
  const pid = child.pid as number;
  const self = { pid: process.pid, startTime: startTimeOf(process.pid) };
  const path = await writeRecord("live", self, [entry(pid, "theirs#0")]);
  const { result } = await reap(path);
  assert.equal(result.kind, "live-gateway");
  assert.ok(isAlive(pid), "a live gateway's child is not ours to stop");
  assert.ok((await readFile(path, "utf8")).includes("theirs#0"), "nor is its record ours to delete");
  child.kill("SIGKILL");
  await once(child, "exit");
});

test("no record: nothing to do; an unreadable record is dropped", async () => {
  assert.deepEqual((await reap(join(dir, "absent.json"))).result, { kind: "no-record" });
  const path = join(dir, "garbage.json");
  await writeFile(path, "{not json");
  assert.equal((await reap(path)).result.kind, "invalid-record");
  await assert.rejects(readFile(path), { code: "ENOENT" });
});

test("the folder scan: every dead gateway's orphans are stopped, live gateways only compared", async () => {
  const folder = join(dir, "scan");
  await mkdir(folder);
  const ours = { path: "/etc/llw/config.yaml", fileId: "1:1" };
  const self = { pid: process.pid, startTime: startTimeOf(process.pid) };
  const orphan = await innocent();
  const older = await innocent();
  const livesOn = await innocent();
  const orphanPid = orphan.pid as number;
  const olderPid = older.pid as number;
  const livePid = livesOn.pid as number;
  // A dead gateway that served another config, one of an older version (per-config file
  // name, no config identity), and two live ones: on our config by another path, on another.
  await writeRecord(
    "gateway-1001",
    await deadGateway(),
    [entry(orphanPid, "a#0")],
    { path: "/x", fileId: "9:9" },
    folder,
  );
  await writeRecord("5fb95f0774ec4380", await deadGateway(), [entry(olderPid, "b#0")], null, folder);
  await writeRecord(
    "gateway-1002",
    self,
    [entry(livePid, "c#0")],
    { path: "/srv/link.yaml", fileId: "1:1" },
    folder,
  );
  await writeRecord("gateway-1003", self, [], { path: "/etc/other.yaml", fileId: "2:2" }, folder);
  await writeFile(join(folder, "gateway-1004.json.77.tmp"), "{half a write");
  const logs: string[] = [];
  const result = await reapStaleRecords(folder, {
    signalGroup,
    log: (message) => logs.push(message),
    graceMs: 300,
    config: ours,
  });
  assert.deepEqual(result.reaped.map((r) => r.name).sort(), ["a#0", "b#0"]);
  assert.deepEqual(result.conflicts, [
    { gatewayPid: process.pid, config: { path: "/srv/link.yaml", fileId: "1:1" } },
  ]);
  await waitFor("the orphans gone", () => allGone([orphanPid, olderPid]), 5000);
  assert.ok(isAlive(livePid), "a live gateway's child is never touched");
  assert.deepEqual((await readdir(folder)).sort(), [
    "gateway-1002.json",
    "gateway-1003.json",
    "gateway-1004.json.77.tmp",
  ]);
  livesOn.kill("SIGKILL");
  await once(livesOn, "exit");
  assert.deepEqual(
    await reapStaleRecords(join(dir, "absent"), { signalGroup, log: () => {}, graceMs: 1, config: null }),
    {
      reaped: [],
      conflicts: [],
    },
  );
});

test("another user's record is neither trusted nor deleted", {
  skip: process.getuid?.() !== 0 && "needs root to chown",
}, async () => {
  const gateway = await deadGateway();
  const path = await writeRecord("foreign", gateway, []);
  await chown(path, 65534, 65534);
  assert.deepEqual((await reap(path)).result, { kind: "invalid-record", reason: "owned by another user" });
  assert.ok((await readFile(path, "utf8")).includes(String(gateway.pid)), "the file stays");
});

/** Unix socket files left behind as by a SIGKILLed llama-server: bound, never unlinked. */
function deadSockets(...paths: string[]): void {
  const script = `let n = 0; const all = process.argv.slice(1);
    for (const p of all) require("node:net").createServer().listen(p, () => { if (++n === all.length) process.kill(process.pid, "SIGKILL"); });`;
  spawnSync(process.execPath, ["-e", script, ...paths], { timeout: 10_000 });
  for (const path of paths) assert.ok(lstatSync(path).isSocket(), `${path} is a socket left behind`);
}

/** What a folder holds: its entries' names, "=>" for a symlink, "(socket)" for a socket. */
async function contents(folder: string): Promise<string[]> {
  return (await readdir(folder, { withFileTypes: true }))
    .map((e) => `${e.name}${e.isSocket() ? " (socket)" : e.isSymbolicLink() ? " =>" : ""}`)
    .sort();
}

test("a dead gateway's socket folder is removed, dead sockets and all; nothing not provably one is touched", async () => {
  // The OS temp folder, as the reaper sees it (ReapDeps.tmpDir): the test's own.
  const tmp = join(dir, "tmp");
  const records = join(dir, "socket-records");
  const elsewhere = join(dir, "elsewhere");
  await mkdir(tmp);
  await mkdir(records);
  await mkdir(elsewhere);
  const folder = async (parent: string, name: string, ...files: string[]) => {
    const path = join(parent, name);
    await mkdir(path, { recursive: true, mode: 0o700 });
    deadSockets(...files.filter((f) => f.endsWith(".sock")).map((f) => join(path, f)));
    for (const f of files.filter((f) => !f.endsWith(".sock"))) await writeFile(join(path, f), "keep");
    return path;
  };
  const ours = await folder(tmp, "llamawrapper-a1B2c3", "0123456789ab.sock", "ba9876543210.sock");
  const outside = await folder(elsewhere, "llamawrapper-d4E5f6", "0123456789ab.sock");
  const nested = await folder(ours.replace("a1B2c3", "nest00"), "llamawrapper-g7H8i9", "0123456789ab.sock");
  const otherName = await folder(tmp, "something-j1K2l3", "0123456789ab.sock");
  const prefixOnly = await folder(tmp, "llamawrapper-test-m4N5o6", "0123456789ab.sock");
  const target = await folder(elsewhere, "target", "0123456789ab.sock");
  const link = join(tmp, "llamawrapper-p7Q8r9");
  await symlink(target, link);
  const mixed = await folder(tmp, "llamawrapper-s1T2u3", "0123456789ab.sock", "notes.txt");
  const dotted = await folder(tmp, "llamawrapper-v4W5x6", "0123456789ab.sock");
  const live = await folder(tmp, "llamawrapper-y7Z8a9", "0123456789ab.sock");
  const self = { pid: process.pid, startTime: startTimeOf(process.pid) };
  const dead = [
    ["ours", ours],
    ["outside", outside],
    ["nested", nested],
    ["other-name", otherName],
    ["prefix-only", prefixOnly],
    ["symlink", link],
    ["mixed", mixed],
    ["dotted", `${tmp}/x/../llamawrapper-v4W5x6`],
    ["relative", "llamawrapper-a1B2c3"],
    ["gone", join(tmp, "llamawrapper-b1C2d3")],
  ];
  for (const [name, socketDir] of dead)
    await writeRecord(`gateway-${name}`, await deadGateway(), [], null, records, socketDir);
  await writeRecord("gateway-live", self, [], null, records, live);
  const logs: string[] = [];
  await reapStaleRecords(records, {
    signalGroup,
    log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`),
    graceMs: 300,
    config: null,
    tmpDir: tmp,
  });
  assert.deepEqual(await contents(tmp), [
    "llamawrapper-nest00",
    "llamawrapper-p7Q8r9 =>",
    "llamawrapper-s1T2u3",
    "llamawrapper-test-m4N5o6",
    "llamawrapper-v4W5x6",
    "llamawrapper-y7Z8a9",
    "something-j1K2l3",
  ]);
  assert.ok(
    logs.some((l) => l.startsWith("removed the socket folder of an earlier run") && l.includes(ours)),
  );
  for (const untouched of [outside, nested, otherName, prefixOnly, target, dotted, live])
    assert.deepEqual(await contents(untouched), ["0123456789ab.sock (socket)"], untouched);
  assert.ok(lstatSync(link).isSymbolicLink(), "a symlink is neither followed nor deleted");
  assert.deepEqual(await contents(mixed), ["notes.txt"], "its socket goes, the rest and the folder stay");
  assert.deepEqual(await readdir(records), ["gateway-live.json"], "every dead gateway's record is deleted");
  assert.equal(logs.filter((l) => l.startsWith("not removing a recorded socket folder")).length, 7);
});

test("a recorded socket folder owned by another user is left alone", {
  skip: process.getuid?.() !== 0 && "needs root to chown",
}, async () => {
  const tmp = await mkdtemp(join(dir, "tmp-"));
  const socketDir = join(tmp, "llamawrapper-f0r31g");
  await mkdir(socketDir, { mode: 0o700 });
  deadSockets(join(socketDir, "0123456789ab.sock"));
  await chown(socketDir, 65534, 65534);
  const path = await writeRecord("foreign-sockets", await deadGateway(), [], null, dir, socketDir);
  const logs: string[] = [];
  await reapOrphans(path, {
    signalGroup,
    log: (message, fields) => logs.push(`${message} ${JSON.stringify(fields)}`),
    graceMs: 300,
    tmpDir: tmp,
  });
  assert.deepEqual(await contents(socketDir), ["0123456789ab.sock (socket)"]);
  assert.ok(logs.some((l) => l.includes("owned by uid 65534")));
});
