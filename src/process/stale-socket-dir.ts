import { lstat, readdir, rmdir, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, normalize, resolve } from "node:path";

/** The name ChildSockets.create gives its folder, before mkdtemp's six random characters. */
export const SOCKET_DIR_PREFIX = "llamawrapper-";
/** Exactly what mkdtemp makes of the prefix: nothing else is ever taken for a socket folder. */
const SOCKET_DIR_NAME = /^llamawrapper-[A-Za-z0-9]{6}$/;

export type StaleSocketDirOutcome =
  | { readonly kind: "removed"; readonly sockets: number }
  /** Already gone (a graceful shutdown removed it, or the temp folder was cleaned). */
  | { readonly kind: "absent" }
  /** Not provably a socket folder of ours: nothing was touched. */
  | { readonly kind: "refused"; readonly reason: string }
  /** Its sockets were deleted, but the folder holds something else and stays. */
  | { readonly kind: "kept"; readonly sockets: number; readonly reason: string };

/**
 * Deletes the socket folder a dead gateway's runtime record names (child-sockets.ts; the
 * record is written by a process of this user, but a path in it is still only data). Touched
 * only when the path is a folder directly in the OS temp folder (`tmpRoot`), named like
 * mkdtemp's `llamawrapper-XXXXXX`, a directory itself (lstat: a symlink is refused, never
 * followed) and owned by this user. Only the Unix socket files in it are unlinked, then the
 * folder itself with rmdir (never a recursive delete): anything else in it stays, and so does
 * the folder. The temp folder is sticky, so only this user (or root) could swap the folder for
 * something else between the checks and the deletes.
 */
export async function removeStaleSocketDir(
  dir: string,
  tmpRoot: string = tmpdir(),
): Promise<StaleSocketDirOutcome> {
  if (!isAbsolute(dir) || normalize(dir) !== dir) return refused(`not a plain absolute path: ${dir}`);
  if (dirname(dir) !== resolve(tmpRoot))
    return refused(`not directly in the temp folder ${resolve(tmpRoot)}`);
  if (!SOCKET_DIR_NAME.test(basename(dir))) return refused(`not named ${SOCKET_DIR_PREFIX}XXXXXX`);
  const uid = process.getuid?.();
  if (uid === undefined) return refused("no user id on this platform");
  let sockets = 0;
  try {
    const info = await lstat(dir);
    if (!info.isDirectory()) return refused("not a directory (a symlink is never followed)");
    if (info.uid !== uid) return refused(`owned by uid ${info.uid}, not this user`);
    let others = 0;
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (!entry.isSocket()) {
        others++;
        continue;
      }
      await unlink(join(dir, entry.name)).catch(ignoreMissing);
      sockets++;
    }
    if (others > 0)
      return { kind: "kept", sockets, reason: `it holds ${others} entries that are not sockets` };
    await rmdir(dir);
    return { kind: "removed", sockets };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return { kind: "absent" };
    return { kind: "kept", sockets, reason: (error as Error).message };
  }
}

function refused(reason: string): StaleSocketDirOutcome {
  return { kind: "refused", reason };
}

function ignoreMissing(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
}
