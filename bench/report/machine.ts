import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, loadavg, release, totalmem } from "node:os";
import { ROOT } from "../systems/paths.js";
import { versionOf } from "../systems/tools.js";

/** What the numbers were measured on: every absolute number in the report is labelled with this. */
export interface Machine {
  readonly date: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly node: string;
  readonly nginx: string | null;
  readonly wrk: string | null;
  readonly commit: string;
  readonly dirty: boolean;
  readonly gateway: string;
  /** 1-minute load average when the run started: other work on the machine. */
  readonly loadAtStart: number;
}

function cpuModel(): string {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8")
      .split("\n")
      .find((l) => l.startsWith("model name"));
    return line?.split(":")[1]?.trim() ?? "unknown";
  } catch {
    return "unknown";
  }
}

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", timeout: 10_000 }).trim();
  } catch {
    return "";
  }
}

export async function describeMachine(
  tools: { nginx: string | null; wrk: string | null },
  gateway: string,
): Promise<Machine> {
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    cpu: cpuModel(),
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    nginx: tools.nginx === null ? null : await versionOf(tools.nginx, ["-v"]),
    wrk: tools.wrk === null ? null : await versionOf(tools.wrk, ["-v"]),
    commit: git(["rev-parse", "--short=12", "HEAD"]) || "unknown",
    dirty: git(["status", "--porcelain", "--", "src"]) !== "",
    gateway,
    loadAtStart: loadavg()[0] ?? 0,
  };
}
