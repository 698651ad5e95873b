import { rm } from "node:fs/promises";
import type { ConfigIdentity } from "./config-identity.js";
import {
  DEFAULT_PROC_ROOT,
  isLive,
  listProcStats,
  type ProcStat,
  readBootId,
  readProcStat,
} from "./proc-stat.js";
import { type ChildEntry, type RuntimeRecordData, readRuntimeRecord } from "./runtime-record.js";
import { removeStaleSocketDir } from "./stale-socket-dir.js";

export type SkipReason =
  /** The record is from another boot (or this boot's id is unreadable): nothing it names lives. */
  | "other-boot"
  /** Neither the child nor anything of its group is alive. */
  | "gone"
  /** The pid now belongs to a process with another starttime: not ours. */
  | "pid-reused"
  /** The leader is gone and its group holds a process older than it: not our group. */
  | "group-reused"
  /** Not a group leader, so its group cannot be proven ours. */
  | "not-group-leader"
  /** The group holds this very gateway. */
  | "self";

export interface ReapTarget {
  readonly entry: ChildEntry;
  /** The group's live processes when planned (the leader among them unless it already died). */
  readonly members: readonly ProcStat[];
}

export interface SkippedChild {
  readonly pid: number;
  readonly name: string;
  readonly reason: SkipReason;
}

export type ReapPlan =
  | { readonly kind: "live-gateway"; readonly gatewayPid: number }
  | {
      readonly kind: "reap";
      readonly targets: readonly ReapTarget[];
      readonly skipped: readonly SkippedChild[];
    };

export interface PlanInput {
  readonly record: RuntimeRecordData;
  /** A snapshot of every process (from /proc). */
  readonly procs: readonly ProcStat[];
  readonly bootId: string | null;
  readonly selfPid: number;
}

/**
 * Decides, from a record and a snapshot of /proc, which process groups are provably orphans of
 * an earlier run. Pure: no signals, no clocks. A process counts as ours only if the boot id
 * matches and its pid has the recorded starttime; a group whose leader died counts as ours only
 * while its pgid is not a foreign process's pid (the kernel does not hand out a pid still used
 * as a group id, so a leaderless group with that id is still the one our child led).
 */
export function planReap(input: PlanInput): ReapPlan {
  const { record, procs, bootId } = input;
  const byPid = new Map(procs.map((p) => [p.pid, p]));
  const sameBoot = bootId !== null && bootId === record.bootId;
  const gateway = byPid.get(record.gatewayPid);
  if (sameBoot && isLive(gateway ?? null) && gateway?.startTime === record.gatewayStart) {
    return { kind: "live-gateway", gatewayPid: record.gatewayPid };
  }
  const targets: ReapTarget[] = [];
  const skipped: SkippedChild[] = [];
  for (const entry of record.children) {
    const verdict = sameBoot ? judge(entry, byPid, procs, input.selfPid) : "other-boot";
    if (typeof verdict === "string") skipped.push({ pid: entry.pid, name: entry.name, reason: verdict });
    else targets.push({ entry, members: verdict });
  }
  return { kind: "reap", targets, skipped };
}

function judge(
  entry: ChildEntry,
  byPid: ReadonlyMap<number, ProcStat>,
  procs: readonly ProcStat[],
  selfPid: number,
): SkipReason | ProcStat[] {
  // Spawned detached, our children lead their own group; any other group may hold strangers.
  if (entry.pgid !== entry.pid) return "not-group-leader";
  const leader = byPid.get(entry.pid);
  // Present with another starttime: the pid was reused, and since the kernel does not reuse a
  // pid while it names a group, our group is gone too. A zombie still shows its starttime.
  if (leader !== undefined && leader.startTime !== entry.startTime) return "pid-reused";
  const members = procs.filter((p) => p.pgid === entry.pgid && isLive(p));
  if (members.length === 0) return "gone";
  if (members.some((p) => p.pid === selfPid)) return "self";
  // Everything in our child's group was forked after it; an older member means a foreign group.
  if (members.some((p) => p.startTime < entry.startTime)) return "group-reused";
  return members;
}

export interface ReapedChild {
  readonly pid: number;
  readonly pgid: number;
  readonly name: string;
  readonly port: number | null;
  /** term: the group was gone within the grace period; kill: it had to be SIGKILLed. */
  readonly how: "term" | "kill";
  /** Pids still alive after SIGKILL and the wait for it (stuck in the kernel, e.g. a GPU driver). */
  readonly lingering: readonly number[];
}

export type ReapResult =
  | { readonly kind: "no-record" }
  | { readonly kind: "invalid-record"; readonly reason: string }
  | {
      readonly kind: "live-gateway";
      readonly gatewayPid: number;
      /** The config file that gateway serves, as its record says. */
      readonly config: ConfigIdentity | null;
    }
  | {
      readonly kind: "reaped";
      readonly reaped: readonly ReapedChild[];
      readonly skipped: readonly SkippedChild[];
    };

export interface ReapDeps {
  /** process-group.ts's signalGroup: false when the group is gone. */
  readonly signalGroup: (pgid: number, signal: NodeJS.Signals) => boolean;
  readonly log: (message: string, fields: Readonly<Record<string, unknown>>) => void;
  /** How long a group gets after SIGTERM before SIGKILL. */
  readonly graceMs: number;
  /** How long to wait for SIGKILLed processes to vanish; default 2 s. */
  readonly killWaitMs?: number;
  readonly procRoot?: string;
  /** The OS temp folder a recorded socket folder must be directly in; default os.tmpdir(). */
  readonly tmpDir?: string;
}

const POLL_MS = 20;
const DEFAULT_KILL_WAIT_MS = 2000;

/**
 * Stops what an earlier, uncleanly ended gateway left behind, as its record at `path` says,
 * removes its children's socket folder (only a folder that is provably one: stale-socket-dir.ts)
 * and deletes the record. Call at startup, before RuntimeRecord.open() writes this run's
 * record. A record of a gateway that is still alive is left alone, file and children, as is
 * every process not proven ours. Two gateways starting at once may both reap one record: that
 * is harmless, since every signal is sent right after a fresh proof from /proc.
 */
export async function reapOrphans(path: string, deps: ReapDeps): Promise<ReapResult> {
  const procRoot = deps.procRoot ?? DEFAULT_PROC_ROOT;
  const read = await readRuntimeRecord(path);
  if (read.kind === "absent") return { kind: "no-record" };
  if (read.kind === "foreign") return { kind: "invalid-record", reason: "owned by another user" };
  if (read.kind === "invalid") {
    deps.log("ignoring an unreadable runtime record", { path, reason: read.reason });
    await removeRecord(path, deps);
    return { kind: "invalid-record", reason: read.reason };
  }
  const plan = planReap({
    record: read.record,
    procs: listProcStats(procRoot),
    bootId: readBootId(procRoot),
    selfPid: process.pid,
  });
  if (plan.kind === "live-gateway") {
    return { kind: "live-gateway", gatewayPid: plan.gatewayPid, config: read.record.config };
  }
  for (const skip of plan.skipped) deps.log("not reaping a recorded child", { ...skip });
  // All groups at once: the whole reap takes one grace period, not one per child.
  const reaped = await Promise.all(plan.targets.map((target) => stopGroup(target, deps, procRoot)));
  for (const child of reaped) deps.log("reaped an orphan of an earlier run", { ...child });
  // After the children: none of them listens on its socket any more.
  if (read.record.socketDir !== null) await removeSocketDir(read.record.socketDir, deps);
  await removeRecord(path, deps);
  return { kind: "reaped", reaped, skipped: plan.skipped };
}

async function stopGroup(target: ReapTarget, deps: ReapDeps, procRoot: string): Promise<ReapedChild> {
  const { entry } = target;
  const result = { pid: entry.pid, pgid: entry.pgid, name: entry.name, port: entry.port };
  send(entry.pgid, "SIGTERM", deps);
  await waitGone(target.members, deps.graceMs, procRoot);
  // Rescan: a member may have forked while handling SIGTERM. Same proof as in planReap.
  const rest = groupMembers(entry, procRoot);
  if (rest.length === 0) return { ...result, how: "term", lingering: [] };
  send(entry.pgid, "SIGKILL", deps);
  const lingering = await waitGone(rest, deps.killWaitMs ?? DEFAULT_KILL_WAIT_MS, procRoot);
  return { ...result, how: "kill", lingering: lingering.map((p) => p.pid) };
}

function groupMembers(entry: ChildEntry, procRoot: string): ProcStat[] {
  return listProcStats(procRoot).filter(
    (p) => p.pgid === entry.pgid && isLive(p) && p.startTime >= entry.startTime,
  );
}

/** Polls the given processes until none is alive or `ms` passed; returns those still alive. */
async function waitGone(procs: readonly ProcStat[], ms: number, procRoot: string): Promise<ProcStat[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = procs.filter((p) => {
      const now = readProcStat(p.pid, procRoot);
      return isLive(now) && now.startTime === p.startTime;
    });
    if (alive.length === 0 || Date.now() >= deadline) return alive;
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, deadline - Date.now())));
  }
}

/** A group we may not signal (EPERM: another user's) is reported, not thrown. */
function send(pgid: number, signal: NodeJS.Signals, deps: ReapDeps): void {
  try {
    deps.signalGroup(pgid, signal);
  } catch (error) {
    deps.log("cannot signal an orphaned process group", { pgid, signal, error: (error as Error).message });
  }
}

async function removeSocketDir(dir: string, deps: ReapDeps): Promise<void> {
  const outcome = await removeStaleSocketDir(dir, deps.tmpDir);
  switch (outcome.kind) {
    case "removed":
      deps.log("removed the socket folder of an earlier run", { dir, sockets: outcome.sockets });
      return;
    case "absent":
      return;
    case "refused":
      deps.log("not removing a recorded socket folder", { dir, reason: outcome.reason });
      return;
    case "kept":
      deps.log("cannot remove the socket folder of an earlier run", {
        dir,
        sockets: outcome.sockets,
        reason: outcome.reason,
      });
  }
}

async function removeRecord(path: string, deps: ReapDeps): Promise<void> {
  await rm(path, { force: true }).catch((error: unknown) => {
    deps.log("cannot delete the stale runtime record", { path, error: (error as Error).message });
  });
}
