import { readFile } from "node:fs/promises";
import { folderFingerprint } from "../discovery/discover.js";
import { hashText } from "./config-hash.js";

/**
 * What --watch compares: the config file's bytes and, with a models folder, the names, sizes
 * and mtimes of its .gguf files (the same value the loader hashes, so an unchanged state
 * after a reload does not trigger another).
 */
export function configState(path: string | null, modelsDir: () => string | null): () => Promise<string> {
  return async () => {
    const bytes = path === null ? Buffer.alloc(0) : await readFile(path);
    const dir = modelsDir();
    return hashText(Buffer.concat([bytes, Buffer.from(dir === null ? "" : await folderFingerprint(dir))]));
  };
}

/**
 * Calls `onChange` when `probe`'s value changes, by asking it every `intervalMs`. Polling, not
 * inotify: inotify misses edits through bind mounts and Kubernetes ConfigMap symlink swaps, and
 * a config file and a folder listing are small. A probe that fails (a file being replaced) is
 * skipped until it works again; the reload itself reports real problems. Returns a stop function.
 */
export function watchFile(
  probe: () => Promise<string>,
  initial: string | null,
  intervalMs: number,
  onChange: () => Promise<unknown>,
): () => void {
  let last = initial;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const state = await probe();
      if (state !== last) {
        last = state;
        await onChange();
      }
    } catch {
      // unreadable for now: try again next time
    } finally {
      busy = false;
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
