import type { Gpu, GpuReport, GpuSource } from "./gpu-types.js";
import {
  attachProcesses,
  nvidiaAppQueryArgs,
  nvidiaGpuQueryArgs,
  parseNvidiaAppsCsv,
  parseNvidiaGpuCsv,
} from "./nvidia-smi.js";
import { parseRocmSmiJson, ROCM_SMI_ARGS } from "./rocm-smi.js";
import {
  type CommandResult,
  DEFAULT_COMMAND_TIMEOUT_MS,
  type RunCommand,
  runCommand,
} from "./run-command.js";

export interface GpuInfoDeps {
  /** Runs a vendor tool; the real one by default, a fake in tests. */
  readonly run?: RunCommand;
  /** Milliseconds clock, Date.now by default. */
  readonly now?: () => number;
  /** How long a reading is served again instead of spawning the tools; 2000 by default. */
  readonly cacheMs?: number;
  readonly timeoutMs?: number;
}

export interface GpuInfo {
  /** The current reading. Never rejects: a missing or failing tool is an empty list and a reason. */
  read(): Promise<GpuReport>;
}

export const DEFAULT_GPU_CACHE_MS = 2_000;
export const NO_TOOL_REASON = "no nvidia-smi or rocm-smi on PATH";

/** One tool's answer: it is not installed, it failed (why), or these GPUs (and maybe a caveat). */
type Attempt =
  | { readonly kind: "absent" }
  | { readonly kind: "failed"; readonly reason: string }
  | { readonly kind: "ok"; readonly gpus: Gpu[]; readonly note?: string };

type Runner = (command: string, args: readonly string[]) => Promise<CommandResult | Attempt>;

function firstLine(text: string): string | undefined {
  return text
    .split("\n")
    .find((line) => line.trim() !== "")
    ?.trim();
}

/**
 * Why a command did not give a usable answer. nvidia-smi writes its own failures ("NVIDIA-SMI
 * has failed because it couldn't communicate with the NVIDIA driver") to stdout, not stderr,
 * so stdout is the fallback.
 */
function failure(command: string, result: CommandResult): Attempt {
  if (result.timedOut === true) return { kind: "failed", reason: `${command} timed out` };
  const how = result.code === null ? "was killed by a signal" : `exited with code ${result.code}`;
  const said = firstLine(result.stderr) ?? firstLine(result.stdout);
  return { kind: "failed", reason: said === undefined ? `${command} ${how}` : `${command} ${how}: ${said}` };
}

function isAttempt(value: CommandResult | Attempt): value is Attempt {
  return "kind" in value;
}

async function readNvidia(run: Runner): Promise<Attempt> {
  const result = await run("nvidia-smi", nvidiaGpuQueryArgs());
  if (isAttempt(result)) return result;
  if (result.code !== 0) return failure("nvidia-smi", result);
  const gpus = parseNvidiaGpuCsv(result.stdout);
  if (gpus.length === 0) return { kind: "failed", reason: "nvidia-smi listed no GPUs" };
  // Per-process memory is extra: without it the GPUs and their free memory still stand.
  const apps = await run("nvidia-smi", nvidiaAppQueryArgs());
  if (isAttempt(apps)) return { kind: "ok", gpus, note: "per-process memory unknown" };
  if (apps.code !== 0) {
    const why = failure("nvidia-smi --query-compute-apps", apps);
    return { kind: "ok", gpus, note: why.kind === "failed" ? why.reason : "per-process memory unknown" };
  }
  return { kind: "ok", gpus: attachProcesses(gpus, parseNvidiaAppsCsv(apps.stdout)) };
}

async function readRocm(run: Runner): Promise<Attempt> {
  const result = await run("rocm-smi", ROCM_SMI_ARGS);
  if (isAttempt(result)) return result;
  if (result.code !== 0) return failure("rocm-smi", result);
  try {
    const gpus = parseRocmSmiJson(result.stdout);
    return gpus.length > 0 ? { kind: "ok", gpus } : { kind: "failed", reason: "rocm-smi listed no GPUs" };
  } catch (error) {
    return { kind: "failed", reason: `rocm-smi printed unreadable output: ${(error as Error).message}` };
  }
}

/** NVIDIA first: a box with both stacks is rare, and nvidia-smi is the common case. */
const TOOLS: readonly { readonly source: GpuSource; readonly read: (run: Runner) => Promise<Attempt> }[] = [
  { source: "nvidia-smi", read: readNvidia },
  { source: "rocm-smi", read: readRocm },
];

/**
 * Reads the GPUs through whichever vendor tool is installed. A tool that is present but fails
 * (say nvidia-smi left behind on a box whose driver is gone) does not stop the next one from
 * being tried; only when none answers is the first failure's tool named as the source.
 */
export function createGpuInfo(deps: GpuInfoDeps = {}): GpuInfo {
  const run = deps.run ?? runCommand;
  const now = deps.now ?? Date.now;
  const cacheMs = deps.cacheMs ?? DEFAULT_GPU_CACHE_MS;
  const timeoutMs = deps.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
  let cached: GpuReport | undefined;
  let inFlight: Promise<GpuReport> | undefined;

  const runner: Runner = async (command, args) => {
    try {
      return await run(command, args, { timeoutMs });
    } catch (error) {
      const err = error as NodeJS.ErrnoException;
      if (err.code === "ENOENT") return { kind: "absent" };
      return { kind: "failed", reason: `${command} could not run: ${firstLine(String(err.message))}` };
    }
  };

  async function readOnce(): Promise<Omit<GpuReport, "readAt">> {
    const failures: { source: GpuSource; reason: string }[] = [];
    for (const tool of TOOLS) {
      const attempt = await tool.read(runner);
      if (attempt.kind === "ok") {
        return attempt.note === undefined
          ? { gpus: attempt.gpus, source: tool.source }
          : { gpus: attempt.gpus, source: tool.source, reason: attempt.note };
      }
      if (attempt.kind === "failed") failures.push({ source: tool.source, reason: attempt.reason });
    }
    const first = failures[0];
    if (first === undefined) return { gpus: [], source: null, reason: NO_TOOL_REASON };
    return { gpus: [], source: first.source, reason: failures.map((f) => f.reason).join("; ") };
  }

  return {
    read() {
      // A clock that stepped back makes the age negative: treat that as stale, not fresh.
      const age = cached === undefined ? -1 : now() - cached.readAt;
      if (cached !== undefined && age >= 0 && age < cacheMs) return Promise.resolve(cached);
      // Concurrent callers share one run of the tools rather than each spawning their own.
      inFlight ??= readOnce()
        .catch((error: unknown) => ({
          gpus: [],
          source: null,
          reason: `reading GPUs failed: ${String(error)}`,
        }))
        .then((report) => {
          cached = { ...report, readAt: now() };
          inFlight = undefined;
          return cached;
        });
      return inFlight;
    },
  };
}
