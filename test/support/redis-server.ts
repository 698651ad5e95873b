import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { waitFor } from "./deadline.js";

export interface RunningRedis {
  readonly url: string;
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL after a grace; resolves once it exited. */
  stop(): Promise<void>;
}

/** A port that was free a moment ago (redis-server cannot be told to pick one itself). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Why tests that need a real redis-server cannot run here, or null when they can: they skip with
 * this one-line reason (the Debian package is redis-server; .ci/run installs it).
 */
export function redisServerMissing(): string | null {
  const binary = process.env.REDIS_SERVER_BIN ?? "redis-server";
  const probe = spawnSync(binary, ["--version"], { stdio: "ignore", timeout: 10_000 });
  return probe.error === undefined && probe.status === 0
    ? null
    : `${binary} is not installed (Debian package: redis-server)`;
}

/**
 * A throw-away redis-server on a loopback port: no persistence, nothing written to disk.
 * `REDIS_SERVER_BIN` overrides the binary (default: redis-server on PATH).
 */
export async function startRedis(): Promise<RunningRedis> {
  const port = await freePort();
  const binary = process.env.REDIS_SERVER_BIN ?? "redis-server";
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  const keep = (chunk: Buffer) => {
    output += chunk.toString("utf8");
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("error", (error) => {
    output += `\n${error.message}`;
  });
  await waitFor("redis-server to accept connections", () => {
    if (child.exitCode !== null || child.pid === undefined)
      throw new Error(`redis-server did not start:\n${output}`);
    return output.includes("Ready to accept connections") ? true : undefined;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    process: child,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
