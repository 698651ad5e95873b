import { realpath, stat } from "node:fs/promises";

/**
 * Which config file a gateway serves, independent of the path it was given by: a symlink, a
 * relative path or a hard link all name the same file. Two gateways on the same file would
 * fight over its port and models, so the second one refuses to start.
 */
export interface ConfigIdentity {
  /** realpath(3) of the file: symlinks and `..` resolved. */
  readonly path: string;
  /** `dev:ino` as decimal strings (bigint stat: inode numbers may exceed 2^53). */
  readonly fileId: string;
}

/** The identity of the file at `path`, or null when it cannot be read (then no check is made). */
export async function readConfigIdentity(path: string): Promise<ConfigIdentity | null> {
  try {
    const real = await realpath(path);
    const info = await stat(real, { bigint: true });
    return { path: real, fileId: `${info.dev}:${info.ino}` };
  } catch {
    return null;
  }
}

/**
 * Same file when either matches: the inode catches hard links and bind mounts; the real path
 * catches a file an editor replaced (write to a temporary file, rename over: a new inode at
 * the same path) while the first gateway kept running.
 */
export function sameConfig(a: ConfigIdentity | null, b: ConfigIdentity | null): boolean {
  if (a === null || b === null) return false;
  return a.path === b.path || a.fileId === b.fileId;
}
