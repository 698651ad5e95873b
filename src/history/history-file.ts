import { createWriteStream, fstat, rename, stat, type WriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { RequestRecord } from "../http/request-record.js";

export interface HistoryFileOptions {
  /** Rotate once the file passes this many bytes: path → path.1 (one old file kept). */
  readonly maxBytes: number;
  /** How often to check that the file is still there, and to retry after a failure; 1 s by default. */
  readonly recheckMs?: number;
}

/** Silence between two warnings about the same failing disk. */
const WARN_EVERY_MS = 10_000;
/** Lines waiting in the stream past this are dropped: a stalled disk must not grow memory. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** The most a load may take per file (a hung network mount must not hold up the start). */
const READ_DEADLINE_MS = 10_000;

/**
 * Request history as append-only JSON lines, so a restart does not wipe the dashboard. Best
 * effort by design: the gateway serves whether or not the disk does. Appends never throw;
 * while the file cannot be written, lines are dropped with one warning per 10 s, and writing
 * resumes by itself once the disk works again. POSIX only, like the rest of the gateway:
 * rotation renames the file while it is still open, so no line waits for a reopen.
 */
export class HistoryFile {
  readonly #path: string;
  readonly #maxBytes: number;
  readonly #recheckMs: number;
  readonly #log: Logger;
  /** Every stream not yet closed: the current one and any still flushing after rotation. */
  readonly #open = new Set<WriteStream>();
  #stream: WriteStream | null = null;
  /** The current file's inode, once known: a different one at `path` means it was moved or removed. */
  #inode: number | null = null;
  /** The current file's size as far as we know: its size at open plus what we appended. */
  #bytes = 0;
  #retryAt = 0;
  #checkAt = 0;
  #checking = false;
  #rotating = false;
  #closed = false;
  #dropped = 0;
  #failing = false;
  #lastWarn = Number.NEGATIVE_INFINITY;

  constructor(path: string, options: HistoryFileOptions, log: Logger) {
    this.#path = path;
    this.#maxBytes = options.maxBytes;
    this.#recheckMs = options.recheckMs ?? 1_000;
    this.#log = log;
  }

  /** Queues one record as a line; returns at once and never throws. */
  append(record: RequestRecord): void {
    if (this.#closed) return;
    try {
      const now = performance.now();
      if (this.#stream === null && now >= this.#retryAt) this.#openStream(now);
      const stream = this.#stream;
      if (stream === null || stream.writableLength > MAX_BUFFERED_BYTES) {
        this.#drop(new Error("history file is not writable now"));
        return;
      }
      const line = `${JSON.stringify(record)}\n`;
      // After a failure, the first line that reaches the disk (not just the stream) ends it.
      if (this.#failing) stream.write(line, (error) => error || this.#recovered());
      else stream.write(line);
      this.#bytes += Buffer.byteLength(line);
      // Only once open: renaming a file that is not there yet would be a false alarm.
      if (this.#bytes > this.#maxBytes && this.#inode !== null && !this.#rotating) this.#rotate(stream);
      else this.#recheck(stream, now);
    } catch (error) {
      this.#drop(error);
    }
  }

  /**
   * The newest `limit` records from path.1 then path, oldest first. Lines that do not parse
   * (a torn last line after a crash) or lack required fields are skipped; a missing file is
   * an empty history, an unreadable one a warning and an empty part.
   */
  async load(limit: number): Promise<RequestRecord[]> {
    const newestFirst: RequestRecord[] = [];
    for (const file of [this.#path, `${this.#path}.1`]) {
      if (newestFirst.length >= limit) break;
      const lines = (await this.#read(file)).split("\n");
      for (let i = lines.length - 1; i >= 0 && newestFirst.length < limit; i -= 1) {
        const record = parseLine(lines[i] as string);
        if (record !== null) newestFirst.push(record);
      }
    }
    return newestFirst.reverse();
  }

  /** Flushes what was appended and closes the file; gives up (destroying the streams) after `timeoutMs`. */
  async close(timeoutMs = 5_000): Promise<void> {
    this.#closed = true;
    this.#stream?.end();
    this.#stream = null;
    const streams = [...this.#open];
    const closed = Promise.all(
      streams.map((s) => new Promise<void>((done) => s.once("close", () => done()))),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">((resolve) => {
      timer = setTimeout(resolve, timeoutMs, "late");
    });
    const outcome = await Promise.race([closed, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      this.#log.warn(
        { path: this.#path, timeoutMs },
        "history file did not flush in time; closing it anyway",
      );
      for (const stream of streams) stream.destroy();
    }
  }

  #openStream(now: number): void {
    const stream = createWriteStream(this.#path, { flags: "a", mode: 0o600 });
    this.#stream = stream;
    this.#inode = null;
    this.#bytes = 0;
    this.#checkAt = now + this.#recheckMs;
    this.#open.add(stream);
    stream.on("close", () => this.#open.delete(stream));
    stream.on("error", (error) => {
      if (this.#stream === stream) {
        this.#stream = null;
        this.#retryAt = performance.now() + this.#recheckMs;
      }
      this.#fail(error);
    });
    stream.on("open", (fd: number) => {
      // Async, so a few of our own first lines may be counted twice: rotation comes a little early.
      fstat(fd, (error, stats) => {
        if (error || this.#stream !== stream) return;
        this.#inode = stats.ino;
        this.#bytes += stats.size;
      });
    });
  }

  /** Moves the full file to path.1; the open stream follows the inode, so pending lines land there. */
  #rotate(stream: WriteStream): void {
    this.#rotating = true;
    rename(this.#path, `${this.#path}.1`, (error) => {
      this.#rotating = false;
      if (this.#stream !== stream) return;
      if (error) {
        this.#bytes = 0; // try again after another maxBytes rather than on every line
        this.#fail(error);
        return;
      }
      this.#stream = null;
      stream.end();
      if (!this.#closed) this.#openStream(performance.now());
    });
  }

  /**
   * Now and then, checks that `path` is still our file: one removed (with its folder) or
   * replaced behind our back would swallow every line, as writes to an unlinked file succeed.
   */
  #recheck(stream: WriteStream, now: number): void {
    if (this.#checking || this.#inode === null || now < this.#checkAt) return;
    this.#checking = true;
    this.#checkAt = now + this.#recheckMs;
    const inode = this.#inode;
    stat(this.#path, (error, stats) => {
      this.#checking = false;
      if (this.#stream !== stream || this.#rotating || (!error && stats.ino === inode)) return;
      this.#stream = null;
      stream.end();
      if (!this.#closed) this.#openStream(performance.now());
    });
  }

  #recovered(): void {
    if (!this.#failing) return;
    this.#failing = false;
    this.#log.info({ path: this.#path, dropped: this.#dropped }, "history file writable again");
    this.#dropped = 0;
  }

  #drop(error: unknown): void {
    this.#dropped += 1;
    this.#fail(error);
  }

  #fail(error: unknown): void {
    this.#failing = true;
    const now = performance.now();
    if (now - this.#lastWarn < WARN_EVERY_MS) return;
    this.#lastWarn = now;
    this.#log.warn(
      { err: error, path: this.#path, dropped: this.#dropped },
      "request history file not writable; dropping lines until it is",
    );
  }

  async #read(file: string): Promise<string> {
    try {
      return await readFile(file, { encoding: "utf8", signal: AbortSignal.timeout(READ_DEADLINE_MS) });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") {
        this.#log.warn({ err: error, path: file }, "cannot read request history; starting without it");
      }
      return "";
    }
  }
}

type Raw = Record<string, unknown>;
const NULLABLE_NUMBERS = ["ttfbMs", "queueMs", "upstreamMs", "tokensPerSecond"] as const;
const NULLABLE_TEXTS = [
  "route",
  "model",
  "instance",
  "routing",
  "keyName",
  "errorCode",
  "modelAsked",
  "userAgent",
] as const;

/**
 * A record from one line, or null. Only the fields every view needs are required; the rest
 * fall back to null, so lines written by an older version (fewer fields) still load.
 */
function parseLine(line: string): RequestRecord | null {
  let r: Raw;
  try {
    r = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof r !== "object" || r === null || typeof r.requestId !== "string") return null;
  if (
    typeof r.method !== "string" ||
    !Number.isInteger(r.status) ||
    !isNumber(r.at) ||
    !isNumber(r.durationMs)
  ) {
    return null;
  }
  const out: Raw = { requestId: r.requestId, at: r.at, method: r.method, status: r.status };
  out.durationMs = r.durationMs;
  for (const key of NULLABLE_NUMBERS) out[key] = isNumber(r[key]) ? r[key] : null;
  for (const key of NULLABLE_TEXTS) out[key] = typeof r[key] === "string" ? r[key] : null;
  const { promptTokens, completionTokens, cachedTokens } = (r.usage ?? {}) as Raw;
  const counted = isNumber(promptTokens) && isNumber(completionTokens);
  out.usage = counted
    ? { promptTokens, completionTokens, cachedTokens: isNumber(cachedTokens) ? cachedTokens : 0 }
    : null;
  out.cache = r.cache === "hit" || r.cache === "miss" || r.cache === "bypass" ? r.cache : null;
  out.stream = r.stream === true;
  return out as unknown as RequestRecord;
}

function isNumber(value: unknown): value is number {
  return typeof value === "number" && Number.isFinite(value);
}
