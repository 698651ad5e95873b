import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { chmod, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** One saved slot in the index: `<dir>/<folder>/<file>`, both names chosen by the gateway. */
export interface KvEntry {
  /** The model's folder (a hash of its launch: another launch cannot read these files). */
  readonly folder: string;
  readonly file: string;
  /** The conversation key of the request that filled the slot. */
  readonly key: string;
  readonly tokens: number;
  readonly bytes: number;
  /** ms since epoch of its last save or restore: the least recent goes first. */
  usedAt: number;
}

const INDEX = "index.json";
/** Names the gateway gives: a folder is 16 hex digits, a file 24 hex digits and .bin. */
const FOLDER_NAME = /^[0-9a-f]{16}$/;
const FILE_NAME = /^[0-9a-f]{24}\.bin$/;

export interface KvFilesOptions {
  readonly dir: string;
  readonly maxBytes: number;
  readonly warn: (message: string, fields?: Record<string, unknown>) => void;
  readonly now?: () => number;
}

/**
 * The gateway's folder of saved slot KV caches and its index (`index.json`, written whole and
 * renamed into place). Every file in it is named by the gateway (clients never name one: the
 * request policy refuses id_slot and the slot API is not an API route); whatever is not in the
 * index is deleted when the gateway starts, and the total stays within maxBytes by deleting
 * the least recently used. Folders and files are private to the gateway's user (0700).
 */
export class KvFiles {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #warn: KvFilesOptions["warn"];
  readonly #now: () => number;
  /** By folder, then by key; a Map keeps the least recently used first overall in #order. */
  readonly #entries = new Map<string, KvEntry>();
  #bytes = 0;
  #writing: Promise<void> = Promise.resolve();
  /** The start's index read and clean-up; every change waits for it. */
  readonly ready: Promise<void>;

  /**
   * Opens (creating) the folder, reads its index and deletes what the index does not name, in
   * the background (`ready`): until then nothing is found, and changes wait for it.
   */
  constructor(options: KvFilesOptions) {
    this.#dir = options.dir;
    this.#maxBytes = options.maxBytes;
    this.#warn = options.warn;
    this.#now = options.now ?? Date.now;
    this.ready = this.#load().catch((error: unknown) => {
      this.#warn("could not read the saved slots' folder; none are kept from before", { err: error });
    });
  }

  get dir(): string {
    return this.#dir;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get count(): number {
    return this.#entries.size;
  }

  /** The absolute folder (with a trailing slash, as --slot-save-path wants) of one model's files. */
  folderPath(folder: string): string {
    if (!FOLDER_NAME.test(folder)) throw new Error(`not a kv folder name: ${folder}`);
    const path = join(this.#dir, folder);
    mkdirSync(path, { recursive: true, mode: 0o700 });
    return `${path}/`;
  }

  /** A fresh file name for a save. */
  newFileName(): string {
    return `${randomBytes(12).toString("hex")}.bin`;
  }

  /** The entry of the longest prefix of `keys` saved for `folder`, or null. */
  find(folder: string, keys: readonly string[]): KvEntry | null {
    for (let i = keys.length - 1; i >= 0; i--) {
      const entry = this.#entries.get(id(folder, keys[i] as string));
      if (entry !== undefined) return entry;
    }
    return null;
  }

  /** Indexes a file llama-server has just written, then deletes the least recently used over budget. */
  async add(entry: Omit<KvEntry, "usedAt">): Promise<void> {
    await this.ready;
    const full: KvEntry = { ...entry, usedAt: this.#now() };
    const previous = this.#entries.get(id(entry.folder, entry.key));
    if (previous !== undefined) await this.#drop(previous);
    this.#entries.set(id(entry.folder, entry.key), full);
    this.#bytes += entry.bytes;
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.values().next().value as KvEntry;
      await this.#drop(oldest);
    }
    await this.#persist();
  }

  /** It was just used (restored): it goes last in the eviction order. */
  touch(entry: KvEntry): void {
    const key = id(entry.folder, entry.key);
    if (this.#entries.get(key) !== entry) return;
    this.#entries.delete(key);
    entry.usedAt = this.#now();
    this.#entries.set(key, entry);
    void this.#persist();
  }

  /** Forgets and deletes it (a restore failed on it, or it was replaced). */
  async remove(entry: KvEntry): Promise<void> {
    await this.ready;
    if (this.#entries.get(id(entry.folder, entry.key)) !== entry) return;
    await this.#drop(entry);
    await this.#persist();
  }

  /** Deletes a file that never made it into the index (a save cut by its deadline). */
  async discard(folder: string, file: string): Promise<void> {
    if (!FOLDER_NAME.test(folder) || !FILE_NAME.test(file)) return;
    await unlink(join(this.#dir, folder, file)).catch(() => {});
  }

  /** Every indexed file's path, for tests and status. */
  paths(): string[] {
    return [...this.#entries.values()].map((entry) => join(this.#dir, entry.folder, entry.file));
  }

  async #drop(entry: KvEntry): Promise<void> {
    this.#entries.delete(id(entry.folder, entry.key));
    this.#bytes -= entry.bytes;
    await unlink(join(this.#dir, entry.folder, entry.file)).catch(() => {});
  }

  /** Writes the index whole, one write at a time. */
  #persist(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#writing = this.#writing.then(async () => {
      const path = join(this.#dir, INDEX);
      try {
        await writeFile(`${path}.tmp`, JSON.stringify({ version: 1, entries }), { mode: 0o600 });
        await rename(`${path}.tmp`, path);
      } catch (error) {
        this.#warn("could not write the saved slots' index; they will be deleted at the next start", {
          err: error,
        });
      }
    });
    return this.#writing;
  }

  async #load(): Promise<void> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    await chmod(this.#dir, 0o700);
    let listed: KvEntry[] = [];
    try {
      const index = JSON.parse(await readFile(join(this.#dir, INDEX), "utf8")) as { entries?: unknown };
      if (Array.isArray(index.entries)) listed = index.entries.filter(isEntry);
    } catch {
      // No index (first start) or an unreadable one: every file goes.
    }
    const wanted = new Set<string>();
    for (const entry of listed.sort((a, b) => a.usedAt - b.usedAt)) {
      const size = await stat(join(this.#dir, entry.folder, entry.file)).then(
        (s) => s.size,
        () => -1,
      );
      // A file that is gone or was changed behind the gateway's back is not restored.
      if (size !== entry.bytes) continue;
      this.#entries.set(id(entry.folder, entry.key), { ...entry });
      this.#bytes += entry.bytes;
      wanted.add(join(entry.folder, entry.file));
    }
    for (const name of await readdir(this.#dir)) {
      if (name === INDEX) continue;
      const path = join(this.#dir, name);
      if (!FOLDER_NAME.test(name)) {
        await rm(path, { recursive: true, force: true });
        continue;
      }
      const inside = await readdir(path).catch(() => [] as string[]);
      for (const file of inside)
        if (!wanted.has(join(name, file))) await rm(join(path, file), { force: true, recursive: true });
    }
    while (this.#bytes > this.#maxBytes) {
      const oldest = this.#entries.values().next().value as KvEntry;
      await this.#drop(oldest);
    }
    await this.#persist();
  }
}

function id(folder: string, key: string): string {
  return `${folder}/${key}`;
}

function isEntry(value: unknown): value is KvEntry {
  if (typeof value !== "object" || value === null) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.folder === "string" &&
    FOLDER_NAME.test(e.folder) &&
    typeof e.file === "string" &&
    FILE_NAME.test(e.file) &&
    typeof e.key === "string" &&
    typeof e.tokens === "number" &&
    typeof e.bytes === "number" &&
    typeof e.usedAt === "number"
  );
}
