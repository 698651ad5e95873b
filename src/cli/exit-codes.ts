/** The CLI's exit codes; documented in the README. */
export const EXIT = {
  ok: 0,
  /** A runtime failure: the gateway could not start or stopped on an error. */
  failure: 1,
  /** Wrong command-line usage. */
  usage: 2,
  /** The config file is invalid (every problem is printed). */
  invalidConfig: 3,
  /** llama-server is missing or could not be built. */
  llamaServer: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
