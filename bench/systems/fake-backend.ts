import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ProcessSet, Spawned } from "../procs/process-set.js";
import { waitFor } from "../procs/wait.js";
import { FAKE_SERVER, ROOT, TSX_LOADER } from "./paths.js";

/**
 * The backends the scenarios need, as fake llama-server switches. Each is started once
 * directly (for "direct" and nginx) and once by the gateway as a `model:` child (fakeAsLlamaServer), with
 * the same switches, so all three systems talk to identical backends.
 */
export const BACKENDS = {
  /** Non-streaming answers with no think time: the proxy, not the model, sets the pace. */
  fast: ["--fake-tokens", "16"],
  /** 256 tokens, one every 4 ms (250 tokens/s, a fast GPU): for time to first token and gaps. */
  paced: ["--fake-tokens", "256", "--fake-token-delay-ms", "4"],
  /** Many slow streams at once: 64 tokens at 20 tokens/s each. */
  crowd: ["--fake-tokens", "64", "--fake-token-delay-ms", "50"],
} as const satisfies Record<string, readonly string[]>;

export type BackendName = keyof typeof BACKENDS;

/** The fake's argv; `port` is a number or the gateway's `${PORT}` placeholder. */
export function fakeArgv(name: BackendName, port: string): string[] {
  return [process.execPath, "--import", TSX_LOADER, FAKE_SERVER, "--port", port, ...BACKENDS[name]];
}

/**
 * The gateway runs the fakes as `model:` children, as it runs llama-server for a user: through
 * `llamaServer.binary` (a launcher script for the fake, written here) with a model file (a
 * placeholder: the fake reads none), so the gateway chooses the transport itself, a Unix socket
 * by default (docs/architecture.md, "Children on Unix sockets"). Returns the binary and the
 * model entries' fields for `backends`.
 */
export function fakeAsLlamaServer(dir: string): {
  readonly binary: string;
  readonly entry: (name: BackendName) => { readonly model: string; readonly args: readonly string[] };
} {
  const binary = join(dir, "fake-llama-server.sh");
  const quote = (text: string) => `'${text.replaceAll("'", "'\\''")}'`;
  writeFileSync(
    binary,
    `#!/bin/sh\nexec ${quote(process.execPath)} --import ${quote(TSX_LOADER)} ${quote(FAKE_SERVER)} "$@"\n`,
  );
  chmodSync(binary, 0o755);
  const model = join(dir, "fake-model.gguf");
  writeFileSync(model, "GGUF");
  return { binary, entry: (name) => ({ model, args: BACKENDS[name] }) };
}

export interface FakeBackend {
  readonly name: BackendName;
  readonly port: number;
  readonly process: Spawned;
}

/** Starts one fake on a free port (it prints the port it got) with `apiKey` required. */
export async function startFake(set: ProcessSet, name: BackendName, apiKey: string): Promise<FakeBackend> {
  const [command, ...args] = fakeArgv(name, "0");
  const spawned = set.spawn(`fake-${name}`, command as string, [...args, "--api-key", apiKey], { cwd: ROOT });
  const port = await waitFor(
    `the fake backend "${name}" to listen`,
    () => {
      if (spawned.child.exitCode !== null) throw new Error(`fake ${name} exited:\n${spawned.output()}`);
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(spawned.output());
      return match ? Number(match[1]) : undefined;
    },
    20_000,
  );
  return { name, port, process: spawned };
}
