import pino, { type Logger } from "pino";
import type { LogLevel } from "../config/types.js";

/** Log bytes held while the sink cannot take them; past this, new lines are dropped. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** While the sink keeps failing, one warning per this interval, not one per line. */
const WARN_EVERY_MS = 10_000;

export interface LoggerOptions {
  readonly level: LogLevel;
  /** Absolute path to append to; null = stdout. */
  readonly file: string | null;
  /** Where the sink's own trouble is reported (stderr in serve). */
  readonly warn: (message: string) => void;
  readonly now?: () => number;
}

/**
 * pino writing asynchronously (never blocking a request) to stdout or a file. A sink that fails
 * (disk full, file removed, a closed pipe) must neither crash the gateway nor grow its memory:
 * write errors are reported at most every 10 s, the unwritten bytes are capped, and lines past
 * the cap are dropped and counted. Writing resumes by itself once the sink takes bytes again.
 */
export function createLogger(options: LoggerOptions): Logger {
  const now = options.now ?? Date.now;
  const sink = pino.destination({
    dest: options.file ?? 1,
    sync: false,
    // Lines are handed over as Buffers (see `lines` below).
    contentMode: "buffer",
    mkdir: options.file !== null,
    maxLength: MAX_BUFFERED_BYTES,
  });
  let lastWarning = -Infinity;
  let dropped = 0;
  const complain = (reason: string) => {
    const at = now();
    if (at - lastWarning < WARN_EVERY_MS) return;
    lastWarning = at;
    const where = options.file ?? "stdout";
    options.warn(
      `llamawrapper: the log sink (${where}) is failing: ${reason}; ${dropped} lines dropped so far\n`,
    );
  };
  // Whether the last write failed; a successful one ('write') clears it.
  let failing = false;
  sink.on("error", (error: Error) => {
    failing = true;
    complain(error.message);
  });
  sink.on("write", () => {
    failing = false;
  });
  // pino flushes the sink synchronously on process exit, and sonic-boom's flushSync retries a
  // write that fails with anything but EAGAIN forever: a gateway with a full disk would never
  // exit. While the sink is failing, what it still holds is dropped instead.
  const flushSync = sink.flushSync.bind(sink);
  sink.flushSync = () => {
    if (!failing) flushSync();
  };
  sink.on("drop", () => {
    dropped++;
    complain("too many unwritten bytes");
  });
  return pino({ level: options.level, base: null }, bufferLines(sink));
}

type Sink = ReturnType<typeof pino.destination>;

/**
 * pino writes each line as a string. sonic-boom's text mode measures the whole pending text
 * again for every line it appends (Buffer.byteLength of the growing string) and encodes what it
 * wrote once more after each write; its buffer mode keeps a list of Buffers and joins them once
 * per write. Under load, when lines queue behind a write in flight, the difference was a
 * visible share of the gateway's CPU per request (issue 15). This hands pino's lines over as
 * Buffers and passes everything else to the sink.
 */
function bufferLines(sink: Sink): Sink {
  const write = (line: string) => sink.write(Buffer.from(line) as unknown as string);
  return new Proxy(sink, {
    get(target, property, receiver) {
      if (property === "write") return write;
      const value = Reflect.get(target, property, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
