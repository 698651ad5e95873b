import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { waitFor } from "./deadline.js";

const BIN = new URL("../../src/cli/bin.ts", import.meta.url).pathname;
/** The repo root: `--import tsx` resolves tsx from the working directory. */
const ROOT = new URL("../../", import.meta.url).pathname;

export interface RunningGateway {
  readonly url: string;
  readonly process: ChildProcess;
  readonly dir: string;
  /**
   * Everything the gateway wrote so far (stdout JSON log lines and stderr). Log lines reach
   * stdout in batches, up to 100 ms late: use loggedOutput() to see every line logged so far.
   */
  output(): string;
  /**
   * The output once every line logged before the call has arrived: sends GET /health with a
   * marker request id and waits for its access-log line (lines keep their order).
   */
  loggedOutput(): Promise<string>;
  /** SIGTERM and wait for exit; SIGKILL after `graceMs`. Resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/**
 * Starts the real gateway CLI (through tsx) on a free port with `config` written as YAML into a
 * fresh temp dir, and resolves once it listens. Port 0: the gateway prints its real address.
 */
export async function startGateway(
  config: Record<string, unknown>,
  options: {
    env?: NodeJS.ProcessEnv;
    dir?: string;
    extraArgs?: readonly string[];
    /** Serve this path (e.g. a symlink to another gateway's config) instead of writing `config`. */
    configFile?: string;
    /** Start with these arguments and no --config at all (zero config: --models-dir DIR --port 0). */
    noConfig?: boolean;
  } = {},
): Promise<RunningGateway> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "llamawrapper-test-"));
  const server = { host: "127.0.0.1", port: 0, ...((config.server as object | undefined) ?? {}) };
  // Saved slot caches stay in the test's own folder, not in the user's cache folder.
  const kvCache = { dir: join(dir, "kv"), ...((config.kvCache as object | undefined) ?? {}) };
  const configFile = options.configFile ?? join(dir, "config.yaml");
  if (options.configFile === undefined && !options.noConfig)
    writeFileSync(configFile, stringify({ ...config, server, kvCache }));
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      BIN,
      ...(options.noConfig ? [] : ["--config", configFile]),
      ...(options.extraArgs ?? []),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  child.stderr.on("data", (chunk: Buffer) => {
    output += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await waitFor(
    "the gateway to listen",
    () => {
      if (child.exitCode !== null) throw new Error(`gateway exited with ${child.exitCode}:\n${output}`);
      return /listening on (http:\/\/[\d.]+:\d+)/.exec(output)?.[1];
    },
    20_000,
  );
  let markers = 0;
  return {
    url,
    process: child,
    dir,
    output: () => output,
    loggedOutput: async () => {
      const marker = `log-marker-${++markers}`;
      const res = await fetch(`${url}/health`, { headers: { "x-request-id": marker } });
      await res.arrayBuffer();
      return waitFor(`the log line of ${marker}`, () =>
        output.includes(`"requestId":"${marker}"`) ? output : undefined,
      );
    },
    stop: async (graceMs = 15_000) => {
      if (child.exitCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
