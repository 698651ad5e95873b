import type { LaunchSpec } from "../config/types.js";

export interface LaunchInput {
  readonly launch: LaunchSpec;
  /** The llama-server binary, used by the `model:` form. */
  readonly binary: string;
  /** The TCP port; null when the child listens on `socket`. */
  readonly port: number | null;
  /** A `model:` child's Unix socket path (child-sockets.ts); null: loopback TCP on `port`. */
  readonly socket: string | null;
  readonly apiKey: string;
  /** The model's id, for `${MODEL}` in the `cmd:` form. */
  readonly modelId: string;
  /** Wrap the command so the kernel kills it when the gateway dies (`setpriv --pdeathsig KILL`). */
  readonly deathSignalWrapper: string | null;
}

export interface Launch {
  readonly command: string;
  readonly args: readonly string[];
}

const PLACEHOLDERS = /\$\{(PORT|MODEL|API_KEY)\}/g;

/**
 * The argv for one child, never a shell string. Children bind a Unix socket in the gateway's
 * private folder (`--host` ending in `.sock`; llama-server then ignores --port) or loopback; the per-instance
 * key travels in LLAMA_API_KEY (llama-server reads it from the environment), so it does not show
 * in `ps`. The `cmd:` form gets `${PORT}`, `${MODEL}`, `${API_KEY}` substituted.
 */
export function buildLaunch(input: LaunchInput): Launch {
  let argv: string[];
  if (input.launch.kind === "model") {
    // --alias: responses name the model by its id, not by its file path on this machine.
    argv = [input.binary, "-m", input.launch.model, "--alias", input.modelId];
    if (input.socket !== null) argv.push("--host", input.socket);
    else argv.push("--host", "127.0.0.1", "--port", String(input.port));
    argv.push(...input.launch.args);
  } else if (input.launch.kind === "cmd") {
    // A user's command may not speak Unix sockets: `cmd:` children always get a TCP port.
    if (input.port === null) throw new Error(`model ${input.modelId}: a cmd child needs a TCP port`);
    const values: Record<string, string> = {
      PORT: String(input.port),
      MODEL: input.modelId,
      API_KEY: input.apiKey,
    };
    argv = input.launch.cmd.map((part) =>
      part.replace(PLACEHOLDERS, (_, name: string) => values[name] ?? ""),
    );
  } else {
    throw new Error(`model ${input.modelId} has no local process to launch`);
  }
  const [command, ...args] = argv;
  if (command === undefined) throw new Error("empty command");
  if (input.deathSignalWrapper === null) return { command, args };
  return { command: input.deathSignalWrapper, args: ["--pdeathsig", "KILL", "--", command, ...args] };
}
