import { createHash } from "node:crypto";
import { open, stat } from "node:fs/promises";
import type { ModelConfig } from "../config/types.js";

/** How much of each end of a file its identity reads. */
const SAMPLE_BYTES = 1024 * 1024;
/**
 * A file is looked at (stat) at most this often, in the background: a changed file is noticed
 * once a request after this interval has started a look and it finished.
 */
const RESTAT_MS = 1_000;

interface Recent {
  readonly binary: string;
  /** When the files were last looked at for `value`. */
  at: number;
  /** The fingerprint, once known; until then `first` gives it. */
  value: string | null;
  readonly first: Promise<string>;
  /** A look at the files is under way in the background. */
  refreshing: boolean;
}

interface FileIdentity {
  readonly checkedAt: number;
  /** size:mtime:inode, to see whether the content identity must be read again. */
  readonly stamp: string;
  readonly identity: Promise<string>;
}

/** Size plus a hash of the first and last MiB: the same file on another host gets the same identity. */
async function contentIdentity(path: string, size: number): Promise<string> {
  const handle = await open(path, "r");
  try {
    const hash = createHash("sha256").update(String(size));
    const head = Buffer.alloc(Math.min(SAMPLE_BYTES, size));
    await handle.read(head, 0, head.length, 0);
    hash.update(head);
    if (size > SAMPLE_BYTES) {
      const tail = Buffer.alloc(Math.min(SAMPLE_BYTES, size - SAMPLE_BYTES));
      await handle.read(tail, 0, tail.length, size - tail.length);
      hash.update(tail);
    }
    return hash.digest("hex");
  } finally {
    await handle.close();
  }
}

/**
 * The fingerprint of what produces a model's answers: the llama-server binary, the launch
 * settings (model file, args or cmd, environment) and the identity of every file they name
 * (the model, and any other `.gguf` argument: a projector, a LoRA). Part of every cache key, so
 * a reload that changes the args, or a model file replaced on disk, makes old entries
 * unreachable (they age out by LRU and ttl). File identities are the content's, not paths or
 * times, so gateway replicas on several hosts sharing a Redis cache agree.
 */
export class LaunchFingerprints {
  readonly #files = new Map<string, FileIdentity>();
  /** The last fingerprint per model config (a reload makes new config objects) and binary. */
  readonly #recent = new WeakMap<ModelConfig, Recent>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * The fingerprint. Once one is known it is returned as is, without a turn of the event loop:
   * the files are looked at again (stat, and the content when it changed) in the background
   * when a request finds the last look older than the re-stat interval, and the next requests
   * get the result. So no request waits on the file system but a model's first: a request
   * arriving a second after the last (an editor's pace) would otherwise pay two stat calls
   * through the thread pool, some 0.1–0.4 ms on its time to first token (BENCHMARKS.md,
   * issue 15). A changed file is seen a moment later than it would be by waiting; the
   * llama-server already running still serves what it loaded anyway.
   */
  of(model: ModelConfig, binary: string): string | Promise<string> {
    const now = this.#now();
    const recent = this.#recent.get(model);
    if (recent !== undefined && recent.binary === binary) {
      if (now - recent.at >= RESTAT_MS && !recent.refreshing) this.#refreshLater(model, recent, now);
      return recent.value ?? recent.first;
    }
    const first = this.#compute(model, binary);
    const entry: Recent = { binary, at: now, value: null, first, refreshing: false };
    this.#recent.set(model, entry);
    first.then(
      (value) => {
        entry.value ??= value;
      },
      () => {},
    );
    return first;
  }

  /** Looks at the files again in the background; the known fingerprint answers meanwhile. */
  #refreshLater(model: ModelConfig, recent: Recent, now: number): void {
    recent.refreshing = true;
    this.#compute(model, recent.binary).then(
      (value) => {
        recent.value = value;
        recent.at = now;
        recent.refreshing = false;
      },
      () => {
        recent.refreshing = false;
      },
    );
  }

  async #compute(model: ModelConfig, binary: string): Promise<string> {
    const { launch } = model;
    const argv =
      launch.kind === "model" ? [launch.model, ...launch.args] : launch.kind === "cmd" ? [...launch.cmd] : [];
    const files =
      launch.kind === "none" ? [] : [binary, ...argv.filter((arg, i) => i === 0 || arg.endsWith(".gguf"))];
    // Answers may come from remote upstreams too: which servers, asked for which model.
    const remotes = model.upstreams.map((upstream) => [upstream.url, upstream.model]);
    const identities = await Promise.all(
      [...new Set(files)].filter((file) => file.includes("/")).map((file) => this.#identity(file)),
    );
    return createHash("sha256")
      .update(JSON.stringify([binary, launch, model.env, identities, remotes]))
      .digest("hex");
  }

  #identity(path: string): Promise<string> {
    const known = this.#files.get(path);
    const now = this.#now();
    if (known !== undefined && now - known.checkedAt < RESTAT_MS) return known.identity;
    return this.#restat(path, known, now);
  }

  async #restat(path: string, known: FileIdentity | undefined, now: number): Promise<string> {
    let stamp: string;
    let size: number;
    try {
      const info = await stat(path);
      stamp = `${info.size}:${info.mtimeMs}:${info.ino}`;
      size = info.size;
    } catch {
      // Not a file (a program name, a missing file): its text alone is the identity.
      return `absent:${path}`;
    }
    if (known !== undefined && known.stamp === stamp) {
      this.#files.set(path, { ...known, checkedAt: now });
      return known.identity;
    }
    const identity = contentIdentity(path, size).catch(() => `unreadable:${stamp}`);
    this.#files.set(path, { checkedAt: now, stamp, identity });
    return identity;
  }
}
