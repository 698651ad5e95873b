import { readdirSync, readFileSync } from "node:fs";

/** Linux's USER_HZ: /proc times are in these ticks on every mainstream kernel. */
export const CLK_TCK = 100;

export interface ProcStat {
  readonly ppid: number;
  /** utime + stime, in ticks. */
  readonly ticks: number;
  /** cutime + cstime: children this process has reaped. */
  readonly childTicks: number;
  readonly rssBytes: number;
}

const PAGE = 4096;

/** /proc/PID/stat, or null when the process is gone. */
export function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const num = (i: number) => Number(fields[i - 3]);
  return {
    ppid: num(4),
    ticks: num(14) + num(15),
    childTicks: num(16) + num(17),
    rssBytes: num(24) * PAGE,
  };
}

function allPids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number);
}

/** `root` and every process below it, by walking the ppid links of all processes. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const pid of allPids()) {
    const stat = readStat(pid);
    if (stat === null) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push(pid);
    children.set(stat.ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Busy ticks of all CPUs together since boot (everything but idle and iowait). */
export function systemBusyTicks(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
  return (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0);
}

function treeTicks(root: number): number {
  let sum = 0;
  for (const pid of processTree(root)) {
    const stat = readStat(pid);
    if (stat !== null) sum += stat.ticks + stat.childTicks;
  }
  return sum;
}

/**
 * How busy the machine was with work that is not ours (other users' tests, builds) during a
 * window, in cores. The bench runs on shared machines: this number says how much to trust a
 * result. Processes of our tree that ended inside the window are counted through their
 * parent's reaped-children time.
 */
export class ForeignLoad {
  readonly #startSystem = systemBusyTicks();
  readonly #startOurs = treeTicks(process.pid);
  readonly #startedAt = performance.now();

  /** Average cores used by other processes since construction. */
  cores(): number {
    const seconds = (performance.now() - this.#startedAt) / 1000;
    const system = systemBusyTicks() - this.#startSystem;
    const ours = treeTicks(process.pid) - this.#startOurs;
    return Math.max(0, (system - ours) / CLK_TCK / seconds);
  }
}

export interface UsageReport {
  /** Largest RSS seen (sum over the watched pids). */
  readonly peakRssBytes: number;
  /** CPU time the watched pids used inside the window, in seconds. */
  readonly cpuSeconds: number;
  /** cpuSeconds / window: 1.0 is one full core. */
  readonly cpuCores: number;
}

/**
 * Watches the RSS and CPU time of some processes (a gateway, nginx's master and worker)
 * while a load runs. Sampling every 50 ms catches the peak of a multi-second load.
 */
export class UsageSampler {
  readonly #pids: readonly number[];
  readonly #startTicks: number;
  readonly #startedAt = performance.now();
  readonly #timer: NodeJS.Timeout;
  #peak = 0;

  constructor(pids: readonly number[], intervalMs = 50) {
    this.#pids = pids;
    this.#startTicks = this.#ticks();
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #ticks(): number {
    let sum = 0;
    for (const pid of this.#pids) sum += readStat(pid)?.ticks ?? 0;
    return sum;
  }

  #sample(): void {
    let rss = 0;
    for (const pid of this.#pids) rss += readStat(pid)?.rssBytes ?? 0;
    this.#peak = Math.max(this.#peak, rss);
  }

  stop(): UsageReport {
    clearInterval(this.#timer);
    this.#sample();
    const cpuSeconds = (this.#ticks() - this.#startTicks) / CLK_TCK;
    const seconds = (performance.now() - this.#startedAt) / 1000;
    return { peakRssBytes: this.#peak, cpuSeconds, cpuCores: cpuSeconds / seconds };
  }
}

/** Current RSS of some processes together. */
export function rssBytes(pids: readonly number[]): number {
  let sum = 0;
  for (const pid of pids) sum += readStat(pid)?.rssBytes ?? 0;
  return sum;
}
