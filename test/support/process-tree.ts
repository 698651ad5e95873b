import { readdirSync, readFileSync } from "node:fs";
import { waitFor } from "./deadline.js";

interface ProcInfo {
  readonly pid: number;
  readonly ppid: number;
  readonly pgid: number;
  readonly state: string;
}

function readProc(pid: number): ProcInfo | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name sits in parentheses and may contain spaces: parse after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { pid, state: rest[0] ?? "?", ppid: Number(rest[1]), pgid: Number(rest[2]) };
  } catch {
    return null;
  }
}

function allProcs(): ProcInfo[] {
  const out: ProcInfo[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProc(Number(name));
    if (info !== null) out.push(info);
  }
  return out;
}

/** Every living descendant of `pid` (zombies count: they were not reaped). */
export function descendants(pid: number): ProcInfo[] {
  const procs = allProcs();
  const found: ProcInfo[] = [];
  const frontier = [pid];
  while (frontier.length > 0) {
    const parent = frontier.pop() as number;
    for (const proc of procs) {
      if (proc.ppid === parent) {
        found.push(proc);
        frontier.push(proc.pid);
      }
    }
  }
  return found;
}

/** Processes still alive in the given process groups (grandchildren included). */
export function groupMembers(pgids: readonly number[]): ProcInfo[] {
  const wanted = new Set(pgids);
  return allProcs().filter((proc) => wanted.has(proc.pgid) && proc.state !== "Z");
}

export function isAlive(pid: number): boolean {
  const info = readProc(pid);
  return info !== null && info.state !== "Z";
}

/** Waits (bounded) until the process is gone: reaped, or a zombie its parent has yet to reap. */
export function waitGone(what: string, pid: number | undefined, timeoutMs = 10_000): Promise<true> {
  return waitFor(`${what} to stop`, () => (pid === undefined || !isAlive(pid) ? true : undefined), timeoutMs);
}

/**
 * The process groups of the children a gateway started: each llama-server (or wrapper) leads
 * its own group. Other descendants (tsx's esbuild service) share the test's own group, which
 * must never be waited on.
 */
export function childGroups(gatewayPid: number): number[] {
  return descendants(gatewayPid)
    .filter((proc) => proc.pid === proc.pgid)
    .map((proc) => proc.pgid);
}
