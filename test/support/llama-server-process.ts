import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { waitFor } from "./deadline.js";

/** A free loopback port (closed again: another process may take it first, rarely). */
export async function freePort(): Promise<number> {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  server.close();
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

export interface LlamaServerProcess {
  readonly port: number;
  readonly child: ChildProcess;
  /** SIGKILL and wait for the exit (no-op once it exited). */
  kill(): Promise<void>;
}

/**
 * A llama-server started by a test itself (not through the gateway), on `port` or a free one,
 * resolved once /health answers 200. The caller kills it (t.after, or to simulate a crash).
 */
export async function startLlamaServer(
  binary: string,
  args: readonly string[],
  port?: number,
): Promise<LlamaServerProcess> {
  const chosen = port ?? (await freePort());
  const child = spawn(binary, [...args, "--host", "127.0.0.1", "--port", String(chosen)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-6000);
  });
  const exited = once(child, "exit");
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGKILL");
    await exited;
  };
  await waitFor(
    `llama-server on port ${chosen} to answer /health 200`,
    async () => {
      if (child.exitCode !== null) assert.fail(`llama-server exited with ${child.exitCode}:\n${stderr}`);
      const status = await fetch(`http://127.0.0.1:${chosen}/health`).then(
        (r) => r.status,
        () => 0, // not listening yet
      );
      return status === 200 ? true : undefined;
    },
    30_000,
    20,
  ).catch(async (error: Error) => {
    await kill();
    assert.fail(`${error.message}\n${stderr}`);
  });
  return { port: chosen, child, kill };
}
