import { lstat, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { ConfigIdentity } from "./config-identity.js";
import { type ProcStat, readBootId, readProcStat } from "./proc-stat.js";

/** One child a gateway started: enough to find it again, and to prove it is the same process. */
export interface ChildEntry {
  readonly pid: number;
  /** Children are spawned detached, so this equals pid; kept to say which group to signal. */
  readonly pgid: number;
  /** /proc starttime in clock ticks since boot: a reused pid has another one. */
  readonly startTime: number;
  /** Its loopback port; null for a child on a Unix socket. */
  readonly port: number | null;
  readonly name: string;
}

export interface RuntimeRecordData {
  readonly version: 1;
  readonly gatewayPid: number;
  readonly gatewayStart: number;
  readonly bootId: string;
  /** The config file it serves; null for an inline config or a record of an older version. */
  readonly config: ConfigIdentity | null;
  /**
   * Its children's Unix socket folder (child-sockets.ts), removed by the next start if this
   * gateway died without doing it; null without one, or in a record of an older version.
   */
  readonly socketDir: string | null;
  readonly children: readonly ChildEntry[];
}

export interface RuntimeRecordDeps {
  /** Called instead of throwing: a record that cannot be written must never stop the gateway. */
  readonly onError: (message: string, error: unknown) => void;
  /** Injectable for tests; default reads /proc. */
  readonly readStat?: (pid: number) => ProcStat | null;
  readonly readBootId?: () => string | null;
  readonly selfPid?: number;
  /** Written into the record so a second gateway on the same file can refuse to start. */
  readonly config?: ConfigIdentity | null;
}

/**
 * The per-user folder of records: one for every gateway this user runs, whatever config it
 * serves, so a start finds what any earlier, SIGKILLed run left behind, however that run was
 * given its config (another path, a symlink, a copy, another working directory).
 */
export function runtimeRecordDir(cacheDir: string): string {
  return join(cacheDir, "run");
}

/** One file per gateway process: no two live gateways ever write the same file. */
export function runtimeRecordPath(dir: string, gatewayPid: number): string {
  return join(dir, `gateway-${gatewayPid}.json`);
}

/**
 * The file where this gateway lists the children it started, so that its next run can stop
 * what a SIGKILLed run left behind (docs/architecture.md, "Promises": no orphans). Every write replaces the whole
 * file atomically (tmp + rename), one write at a time; a failed write is reported and the
 * next change writes the whole state again.
 */
export class RuntimeRecord {
  readonly path: string;
  readonly #deps: RuntimeRecordDeps;
  readonly #selfPid: number;
  readonly #children = new Map<number, ChildEntry>();
  #identity: Omit<RuntimeRecordData, "children" | "socketDir"> | null = null;
  #socketDir: string | null = null;
  #version = 0;
  #written = 0;
  #chain: Promise<void> = Promise.resolve();

  constructor(path: string, deps: RuntimeRecordDeps) {
    this.path = path;
    this.#deps = deps;
    this.#selfPid = deps.selfPid ?? process.pid;
  }

  /** Writes this gateway's identity. Call after reapOrphans, before the first child starts. */
  open(): Promise<void> {
    const stat = this.#stat(this.#selfPid);
    const bootId = (this.#deps.readBootId ?? readBootId)();
    if (stat === null || bootId === null) {
      // Without /proc nothing in a record could be proven later, so none is kept.
      this.#deps.onError("runtime record disabled: cannot read /proc", new Error("no /proc"));
      return this.#chain;
    }
    this.#identity = {
      version: 1,
      gatewayPid: this.#selfPid,
      gatewayStart: stat.startTime,
      bootId,
      config: this.#deps.config ?? null,
    };
    return this.#changed();
  }

  /**
   * Records a child just spawned. Call synchronously once spawn resolved, before any await:
   * until libuv reaps the child its pid cannot be reused, so the /proc read below (done now,
   * not in the write queue) surely sees our child, alive or a zombie. A process whose parent
   * is not this gateway is refused: the record must only ever name our own.
   */
  add(child: { readonly pid: number; readonly port: number | null; readonly name: string }): Promise<void> {
    const stat = this.#stat(child.pid);
    if (stat === null || stat.ppid !== this.#selfPid) {
      this.#deps.onError(`runtime record: pid ${child.pid} is not a child of this gateway`, null);
      return this.#chain;
    }
    this.#children.set(child.pid, { ...child, pgid: stat.pgid, startTime: stat.startTime });
    return this.#changed();
  }

  /**
   * Names the children's socket folder, right after it was made (before any child starts),
   * so that the next start removes it should this gateway be killed. Null: no folder.
   */
  setSocketDir(dir: string | null): Promise<void> {
    if (this.#socketDir === dir) return this.#chain;
    this.#socketDir = dir;
    return this.#changed();
  }

  /** Forgets a child once it was reaped (its whole group stopped). */
  remove(pid: number): Promise<void> {
    if (!this.#children.delete(pid)) return this.#chain;
    return this.#changed();
  }

  /** What the file says once the queued writes are done. */
  snapshot(): RuntimeRecordData | null {
    if (this.#identity === null) return null;
    return { ...this.#identity, socketDir: this.#socketDir, children: [...this.#children.values()] };
  }

  /**
   * At clean shutdown, after every child was stopped: deletes the file. If some child is still
   * listed it was not reaped, so the file stays for the next run to finish the job.
   */
  close(): Promise<void> {
    const run = this.#chain.then(async () => {
      if (this.#identity === null || this.#children.size > 0) return;
      this.#identity = null;
      await rm(this.path, { force: true }).catch((error: unknown) => {
        this.#deps.onError(`runtime record: cannot delete ${this.path}`, error);
      });
    });
    this.#chain = run;
    return run;
  }

  #stat(pid: number): ProcStat | null {
    return (this.#deps.readStat ?? readProcStat)(pid);
  }

  /** Queues one write of the whole state; writes already overtaken by a later one are skipped. */
  #changed(): Promise<void> {
    this.#version++;
    const run = this.#chain.then(() => this.#flush());
    this.#chain = run;
    return run;
  }

  async #flush(): Promise<void> {
    const data = this.snapshot();
    if (data === null || this.#written >= this.#version) return;
    const version = this.#version;
    const tmp = `${this.path}.${this.#selfPid}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      await writeFile(tmp, `${JSON.stringify(data)}\n`, { mode: 0o600 });
      // No fsync: a power loss changes the boot id, and a record from another boot is void anyway.
      await rename(tmp, this.path);
      this.#written = version;
    } catch (error) {
      this.#deps.onError(`runtime record: cannot write ${this.path}`, error);
      await rm(tmp, { force: true }).catch(() => {});
    }
  }
}

export type ReadRecordResult =
  | { readonly kind: "absent" }
  /** Another user's file (in a shared folder): neither trusted nor ours to delete. */
  | { readonly kind: "foreign" }
  | { readonly kind: "invalid"; readonly reason: string }
  | { readonly kind: "ok"; readonly record: RuntimeRecordData };

/**
 * Reads a record left by an earlier run. One that another user owns is refused: the record
 * decides what gets signalled, so only a file this user wrote may do that.
 */
export async function readRuntimeRecord(path: string): Promise<ReadRecordResult> {
  let text: string;
  try {
    const info = await lstat(path);
    if (!info.isFile()) return { kind: "invalid", reason: "not a regular file" };
    if (info.uid !== process.getuid?.()) return { kind: "foreign" };
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "absent" };
    return { kind: "invalid", reason: (error as Error).message };
  }
  return parseRuntimeRecord(text);
}

/** Validates a record's JSON field by field: nothing from the file is trusted untyped. */
export function parseRuntimeRecord(text: string): ReadRecordResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { kind: "invalid", reason: "not JSON" };
  }
  if (!isObject(raw) || raw.version !== 1) return { kind: "invalid", reason: "unknown version" };
  const { gatewayPid, gatewayStart, bootId, children } = raw;
  if (!isPid(gatewayPid) || !isCount(gatewayStart) || typeof bootId !== "string" || bootId === "") {
    return { kind: "invalid", reason: "bad gateway identity" };
  }
  // Records written before the field existed have none: they are reaped, never a conflict.
  const config = raw.config ?? null;
  if (config !== null && !isConfigIdentity(config)) return { kind: "invalid", reason: "bad config identity" };
  // Likewise: older records name no socket folder (reap-orphans.ts checks the path itself).
  const socketDir = raw.socketDir ?? null;
  if (socketDir !== null && (typeof socketDir !== "string" || socketDir === "")) {
    return { kind: "invalid", reason: "bad socket folder" };
  }
  if (!Array.isArray(children)) return { kind: "invalid", reason: "children is not a list" };
  const entries: ChildEntry[] = [];
  for (const child of children as unknown[]) {
    if (!isObject(child)) return { kind: "invalid", reason: "bad child entry" };
    const { pid, pgid, startTime, port, name } = child;
    // pid/pgid 0 or 1 would make kill(-pgid) hit our own group or every process: never allowed.
    if (
      !isPid(pid) ||
      !isPid(pgid) ||
      !isCount(startTime) ||
      !(port === null || isCount(port)) ||
      typeof name !== "string"
    ) {
      return { kind: "invalid", reason: "bad child entry" };
    }
    entries.push({ pid, pgid, startTime, port, name });
  }
  return {
    kind: "ok",
    record: { version: 1, gatewayPid, gatewayStart, bootId, config, socketDir, children: entries },
  };
}

function isConfigIdentity(value: unknown): value is ConfigIdentity {
  return isObject(value) && typeof value.path === "string" && typeof value.fileId === "string";
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPid(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 1;
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}
