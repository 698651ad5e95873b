import { type ChildProcess, spawn } from "node:child_process";
import { type ChildAddress, probeHealth } from "./health-probe.js";
import type { Launch } from "./launch.js";
import { LineRing } from "./line-ring.js";
import { groupAlive, signalGroup, waitForExit } from "./process-group.js";
import { parseRouterChildLine } from "./router-child-line.js";

export type ReadyOutcome =
  | { readonly kind: "ready" }
  | {
      readonly kind: "exited";
      readonly code: number | null;
      readonly signal: string | null;
      readonly bindFailure: boolean;
    }
  | { readonly kind: "timeout" }
  | { readonly kind: "aborted" };

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
}

export interface SpawnOptions {
  readonly launch: Launch;
  readonly env: NodeJS.ProcessEnv;
  readonly address: ChildAddress;
  readonly apiKey: string;
  readonly logLines: number;
  /** Complete output lines as they arrive (admin log following); must not throw. */
  readonly onLines?: (lines: readonly string[]) => void;
}

/** What llama.cpp's router sends a child to make it shut down (server-models.cpp). */
const ROUTER_EXIT_COMMAND = "cmd_router_to_child:exit";

/** llama-server's message when its port (or socket path) is taken (it then exits at once). */
const BIND_FAILURE = "couldn't bind HTTP server socket";

/**
 * One spawned child process: its output ring, its exit, readiness detection and signalling.
 * It has no policy; the supervisor decides what to do with what happens here.
 */
export class RunningChild {
  readonly address: ChildAddress;
  readonly apiKey: string;
  readonly pid: number;
  readonly ring: LineRing;
  readonly exited: Promise<ExitInfo>;
  readonly #child: ChildProcess;
  #ready = false;
  #bindFailure = false;
  readonly #readyWaiters = new Set<() => void>();

  private constructor(child: ChildProcess, options: SpawnOptions) {
    this.#child = child;
    this.address = options.address;
    this.apiKey = options.apiKey;
    this.pid = child.pid ?? 0;
    this.ring = new LineRing(options.logLines);
    const onOutput = (chunk: Buffer) => {
      const lines = this.ring.push(chunk.toString("utf8"));
      for (const line of lines) {
        if (line.includes(BIND_FAILURE)) this.#bindFailure = true;
        if (parseRouterChildLine(line) === "ready") this.#markReady();
      }
      if (lines.length > 0) options.onLines?.(lines);
    };
    child.stdout?.on("data", onOutput);
    child.stderr?.on("data", onOutput);
    // Writing to stdin of a dead child raises EPIPE; it is expected and harmless.
    child.stdin?.on("error", () => {});
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        // The leader is gone; take any grandchildren still in its group with it.
        if (this.pid > 0) signalGroup(this.pid, "SIGKILL");
        resolve({ code, signal });
      });
    });
  }

  /**
   * Spawns detached (its own process group, so stop() reaches grandchildren) with stdin a pipe
   * that stays open: a router child exits when it reads EOF, i.e. when the gateway dies.
   */
  static spawn(options: SpawnOptions): Promise<RunningChild> {
    return new Promise((resolve, reject) => {
      const child = spawn(options.launch.command, [...options.launch.args], {
        detached: true,
        stdio: ["pipe", "pipe", "pipe"],
        env: options.env,
      });
      child.once("error", reject);
      child.once("spawn", () => {
        child.off("error", reject);
        child.on("error", () => {});
        resolve(new RunningChild(child, options));
      });
    });
  }

  get bindFailure(): boolean {
    return this.#bindFailure;
  }

  get isAlive(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  #markReady(): void {
    if (this.#ready) return;
    this.#ready = true;
    for (const wake of this.#readyWaiters) wake();
    this.#readyWaiters.clear();
  }

  /**
   * Waits until /health answers 200 (polled every `intervalMs`) or the router-child line says
   * ready, whichever comes first; or the child exits, the deadline passes, or `signal` aborts.
   */
  async waitReady(deadlineMs: number, intervalMs: number, signal: AbortSignal): Promise<ReadyOutcome> {
    const deadline = Date.now() + deadlineMs;
    let exit: ExitInfo | null = null;
    void this.exited.then((info) => {
      exit = info;
    });
    while (!this.#ready) {
      if (exit !== null) return this.#exitOutcome(exit);
      if (signal.aborted) return { kind: "aborted" };
      const left = deadline - Date.now();
      if (left <= 0) return { kind: "timeout" };
      const probe = await probeHealth(this.address, this.apiKey, Math.min(1000, left));
      if (probe === "ok") this.#markReady();
      else await this.#pause(Math.min(intervalMs, left), signal);
    }
    return { kind: "ready" };
  }

  #exitOutcome(exit: ExitInfo): ReadyOutcome {
    return { kind: "exited", code: exit.code, signal: exit.signal, bindFailure: this.#bindFailure };
  }

  /** Sleeps until the interval passes, the child exits, readiness is pushed, or abort. */
  #pause(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        this.#readyWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      this.#readyWaiters.add(done);
      void this.exited.then(done);
    });
  }

  /** Graceful: SIGTERM the group, wait `graceMs`, then SIGKILL the group; resolves once reaped. */
  async terminate(graceMs: number): Promise<ExitInfo> {
    if (this.isAlive) {
      // A router child's stdin monitor thread blocks shutdown until it reads a line or EOF
      // (server.cpp joins it after the main loop): tell it to exit, then close its stdin.
      this.#child.stdin?.end(`${ROUTER_EXIT_COMMAND}\n`);
      signalGroup(this.pid, "SIGTERM");
      if (!(await waitForExit(this.#child, graceMs))) signalGroup(this.pid, "SIGKILL");
    }
    return this.#reaped();
  }

  /** Forceful: SIGKILL the group now; resolves once reaped. */
  async kill(): Promise<ExitInfo> {
    if (this.isAlive) signalGroup(this.pid, "SIGKILL");
    return this.#reaped();
  }

  async #reaped(): Promise<ExitInfo> {
    const info = await this.exited;
    // A grandchild that ignored the group SIGTERM may outlive the leader; the exit handler sent
    // SIGKILL to the group, and this makes sure nothing of the group is left.
    if (this.pid > 0 && groupAlive(this.pid)) signalGroup(this.pid, "SIGKILL");
    this.#child.stdin?.destroy();
    this.#child.stdout?.destroy();
    this.#child.stderr?.destroy();
    return info;
  }
}
