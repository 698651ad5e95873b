import { execFile } from "node:child_process";

/** What a finished command printed, and how it ended. */
export interface CommandResult {
  /** Exit code; null when a signal ended it (then `timedOut` says whether it was ours). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut?: boolean;
}

/**
 * Runs a command to completion. Resolves for any process that started, however it ended;
 * rejects only when it could not start, with Node's error code: ENOENT means the tool is
 * not installed (not on PATH).
 */
export type RunCommand = (
  command: string,
  args: readonly string[],
  options: { readonly timeoutMs: number },
) => Promise<CommandResult>;

export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;

/** Vendor tools print a few kB; anything near this is not their normal output. */
const MAX_OUTPUT_BYTES = 4 * 2 ** 20;

/** The real runner: execFile, no shell, killed after the timeout. */
export const runCommand: RunCommand = (command, args, { timeoutMs }) =>
  new Promise((resolve, reject) => {
    execFile(
      command,
      [...args],
      { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, encoding: "utf8", windowsHide: true },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve({ code: 0, stdout, stderr });
          return;
        }
        // execFile sets a numeric code for a non-zero exit, a string code (ENOENT, EACCES,
        // ERR_CHILD_PROCESS_STDIO_MAXBUFFER) when it could not start or gave up on it, and
        // killed/signal when its timeout fired.
        if (typeof error.code === "number") resolve({ code: error.code, stdout, stderr });
        else if (typeof error.code === "string") reject(error);
        else resolve({ code: null, stdout, stderr, timedOut: error.killed === true });
      },
    );
  });
