import { readdirSync, readFileSync } from "node:fs";

/** The fields of /proc/<pid>/stat that tell who a process is (proc(5)). */
export interface ProcStat {
  readonly pid: number;
  /** R, S, D, Z, T, ...; Z (zombie) is dead, only waiting to be reaped. */
  readonly state: string;
  readonly ppid: number;
  readonly pgid: number;
  /**
   * Clock ticks since boot at which the process started. Together with the pid and the boot
   * id it names one process for good: a reused pid gets a later starttime.
   */
  readonly startTime: number;
}

export const DEFAULT_PROC_ROOT = "/proc";

/**
 * Parses one /proc/<pid>/stat line. The command name sits in parentheses and may itself hold
 * spaces and ')' (a process can name itself anything), so fields are counted after the LAST ')'.
 */
export function parseProcStat(pid: number, text: string): ProcStat | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  // After ") ": field 3 (state) is index 0, so field N is index N - 3; starttime is field 22.
  const rest = text.slice(close + 2).split(" ");
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgid = Number(rest[2]);
  const startTime = Number(rest[19]);
  if (state === undefined || state === "" || ![ppid, pgid, startTime].every(Number.isSafeInteger))
    return null;
  return { pid, state, ppid, pgid, startTime };
}

/** The process's stat, or null when it does not exist (or vanished while being read). */
export function readProcStat(pid: number, procRoot = DEFAULT_PROC_ROOT): ProcStat | null {
  try {
    return parseProcStat(pid, readFileSync(`${procRoot}/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/** Every process visible now. Processes come and go while this runs; a vanished one is skipped. */
export function listProcStats(procRoot = DEFAULT_PROC_ROOT): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync(procRoot)) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name), procRoot);
    if (stat !== null) out.push(stat);
  }
  return out;
}

/**
 * A random id the kernel draws at each boot: starttimes count from boot, so a record from an
 * earlier boot names no living process, whatever its numbers say. Null when unreadable.
 */
export function readBootId(procRoot = DEFAULT_PROC_ROOT): string | null {
  try {
    const id = readFileSync(`${procRoot}/sys/kernel/random/boot_id`, "utf8").trim();
    return id === "" ? null : id;
  } catch {
    return null;
  }
}

/** Alive means present and not a zombie; a zombie has exited and holds nothing but its pid. */
export function isLive(stat: ProcStat | null): stat is ProcStat {
  return stat !== null && stat.state !== "Z" && stat.state !== "X";
}
