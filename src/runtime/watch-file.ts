import { readFile } from "node:fs/promises";
import { hashText } from "./runtime.js";

/**
 * Calls `onChange` when the file's bytes change, by reading it every `intervalMs`. Polling,
 * not inotify: inotify misses edits through bind mounts and Kubernetes ConfigMap symlink swaps,
 * and a config file is small. A file that cannot be read is skipped until it can (an editor
 * replacing it); the reload itself reports real problems. Returns a function that stops it.
 */
export function watchFile(
  path: string,
  initialHash: string | null,
  intervalMs: number,
  onChange: () => Promise<unknown>,
): () => void {
  let last = initialHash;
  let busy = false;
  const timer = setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      const hash = hashText(await readFile(path));
      if (hash !== last) {
        last = hash;
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
