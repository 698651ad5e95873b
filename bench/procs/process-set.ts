import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";

/** One process the bench started, leader of its own process group. */
export interface Spawned {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** The last 64 KiB of whatever it printed on the pipes we kept. */
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Send stdout to this file instead of a pipe (the gateway's info log goes to a file). */
  readonly stdoutFile?: string;
}

const OUTPUT_KEEP = 64 * 1024;
/** setpriv makes the kernel signal our children if the bench dies without cleaning up. */
const SETPRIV = "/usr/bin/setpriv";

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/**
 * Every process the bench starts goes through here, so one call stops them all: at the end,
 * on an error, on Ctrl-C. Each runs in its own process group (stopping reaches whatever it
 * spawned in that group) and, where setpriv exists, with a parent-death signal, so even a
 * bench killed with SIGKILL leaves nothing behind.
 */
export class ProcessSet {
  readonly #running = new Set<Spawned>();
  readonly #usePdeathsig = existsSync(SETPRIV);

  spawn(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): Spawned {
    const fd = options.stdoutFile === undefined ? null : openSync(options.stdoutFile, "a");
    const [cmd, argv] = this.#usePdeathsig
      ? [SETPRIV, ["--pdeathsig", "TERM", "--", command, ...args]]
      : [command, [...args]];
    const child = spawn(cmd, argv, {
      detached: true,
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", fd ?? "pipe", "pipe"],
    });
    if (fd !== null) closeSync(fd);
    let output = "";
    const keep = (chunk: Buffer) => {
      output += chunk.toString("utf8");
      if (output.length > OUTPUT_KEEP) output = output.slice(-OUTPUT_KEEP);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.on("error", (error) => keep(Buffer.from(`spawn error: ${error.message}\n`)));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    const spawned: Spawned = { name, pid: child.pid ?? 0, child, output: () => output, exited };
    this.#running.add(spawned);
    void exited.then(() => {
      // The leader is gone; anything it left in its group goes too.
      if (spawned.pid > 0 && alive(spawned.pid)) signalGroup(spawned.pid, "SIGKILL");
      this.#running.delete(spawned);
    });
    return spawned;
  }

  /** SIGTERM (or `signal`) to the group, then SIGKILL after `graceMs`; resolves once reaped. */
  async stop(spawned: Spawned, graceMs = 10_000, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
    if (spawned.pid <= 0) return;
    if (spawned.child.exitCode === null && spawned.child.signalCode === null) {
      signalGroup(spawned.pid, signal);
      let timer: NodeJS.Timeout | undefined;
      const killed = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          signalGroup(spawned.pid, "SIGKILL");
          resolve();
        }, graceMs);
      });
      await Promise.race([spawned.exited, killed]);
      clearTimeout(timer);
      await spawned.exited;
    }
    if (alive(spawned.pid)) signalGroup(spawned.pid, "SIGKILL");
  }

  /** Stops everything still running, in reverse start order (proxies before their backends). */
  async stopAll(graceMs = 10_000): Promise<void> {
    const all = [...this.#running].reverse();
    await Promise.all(all.map((spawned) => this.stop(spawned, graceMs)));
  }

  get size(): number {
    return this.#running.size;
  }
}
