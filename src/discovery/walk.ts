import { createHash } from "node:crypto";
import type { Dirent } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, relative, resolve } from "node:path";

/** One `.gguf` file under the folder, with what the fingerprint and the checks need. */
export interface GgufEntry {
  /** Absolute path, through the folder as given (symlinks not resolved). */
  readonly path: string;
  /** Relative to the folder, `/`-separated: the sort key. */
  readonly rel: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export interface FolderListing {
  readonly files: readonly GgufEntry[];
  /** Folders or files that could not be read; the rest of the walk goes on. */
  readonly problems: readonly { readonly path: string; readonly message: string }[];
}

export const isGgufName = (name: string): boolean => /\.gguf$/i.test(name);

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/**
 * Every `.gguf` file under `dir`, sorted by relative path (plain code-unit order, the same on
 * every machine and locale). Hidden files and folders are skipped: that is where rsync and
 * browsers put half-downloaded files (`.name.gguf.XXXXXX`). Symlinked folders are followed,
 * each real folder at most once, so a link back up the tree cannot loop. Throws only when
 * `dir` itself cannot be read.
 */
export async function listGgufFiles(dir: string): Promise<FolderListing> {
  const root = resolve(dir);
  const files: GgufEntry[] = [];
  const problems: { path: string; message: string }[] = [];
  const seen = new Set<string>();

  async function walk(folder: string, entries: Dirent[]): Promise<void> {
    for (const entry of entries) {
      if (entry.name.startsWith(".")) continue;
      const path = join(folder, entry.name);
      const gguf = isGgufName(entry.name);
      // Plain files that are not GGUF need no stat; links are followed to what they point to.
      if (!gguf && !entry.isDirectory() && !entry.isSymbolicLink()) continue;
      try {
        const info = await stat(path);
        if (info.isDirectory()) await enter(path);
        else if (info.isFile() && gguf) {
          const rel = relative(root, path).split("\\").join("/");
          files.push({ path, rel, size: info.size, mtimeMs: info.mtimeMs });
        }
      } catch (error) {
        // A dangling link or an unreadable folder; a dangling link to something else is no model.
        if (gguf || entry.isDirectory()) problems.push({ path, message: `cannot read: ${reason(error)}` });
      }
    }
  }

  async function enter(folder: string): Promise<void> {
    const real = await realpath(folder);
    if (seen.has(real)) return;
    seen.add(real);
    await walk(folder, await readdir(folder, { withFileTypes: true }));
  }

  const rootEntries = await readdir(root, { withFileTypes: true });
  seen.add(await realpath(root));
  await walk(root, rootEntries);
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return { files, problems };
}

/** A digest of names, sizes and mtimes: equal listings, equal fingerprints. */
export function fingerprintOf(files: readonly GgufEntry[]): string {
  const hash = createHash("sha256");
  for (const f of files) hash.update(`${f.rel}\0${f.size}\0${f.mtimeMs}\n`);
  return hash.digest("hex").slice(0, 32);
}
