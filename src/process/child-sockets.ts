import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { Dispatcher } from "undici";
import { Pool } from "../util/undici-parts.js";
import { SOCKET_DIR_PREFIX } from "./stale-socket-dir.js";

/**
 * Unix domain sockets for `model:` children, in one private folder (mode 0700) per gateway
 * process: llama-server listens on a socket when its `--host` ends in `.sock`
 * (tools/server/server-http.cpp; it then ignores --port). Against loopback TCP this costs less
 * CPU per request on both sides, needs no free port (no port races), and no other local user
 * can connect to a child (docs/architecture.md, "Children on Unix sockets").
 *
 * Requests reach a socket through the one undici Agent: a socket child's endpoint has the
 * synthetic origin `http://<label>.sock.localhost`, and the Agent's factory (socketFactory)
 * builds the pool for such an origin with `socketPath` set. The mapping is a pure function of
 * the folder and the origin: nothing to register or forget, and an origin whose child is gone
 * maps to a file that no longer exists, so a late request fails like a refused connection.
 */

/** sun_path holds 108 bytes on Linux, the terminating NUL included. */
export const MAX_SOCKET_PATH = 107;
const HOST_SUFFIX = ".sock.localhost";
/** 6 random bytes, hex: a valid, lower-case host label whatever undici does to the origin. */
const LABEL = /^[0-9a-f]{12}$/;
const LABEL_CHARS = 12;

export class ChildSockets {
  /**
   * The private folder; removed by remove() at shutdown. The runtime record names it, so a
   * start after a SIGKILLed gateway removes it (reap-orphans.ts, stale-socket-dir.ts).
   */
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Makes a fresh folder under `parent` (mkdtemp: 0700, a new name every run, so sockets a
   * killed gateway left behind never collide with this run's). Returns the reason instead when
   * a socket path in it would not fit in sun_path: then children stay on TCP.
   */
  static create(parent: string = tmpdir()): ChildSockets | { readonly unusable: string } {
    const longest = join(parent, `${SOCKET_DIR_PREFIX}XXXXXX`, `${"x".repeat(LABEL_CHARS)}.sock`);
    if (Buffer.byteLength(longest) > MAX_SOCKET_PATH)
      return {
        unusable: `a socket path under ${parent} would be ${Buffer.byteLength(longest)} bytes, over the ${MAX_SOCKET_PATH} a Unix socket address holds`,
      };
    try {
      const dir = mkdtempSync(join(parent, SOCKET_DIR_PREFIX));
      chmodSync(dir, 0o700);
      return new ChildSockets(dir);
    } catch (error) {
      return { unusable: `cannot make a socket folder under ${parent}: ${(error as Error).message}` };
    }
  }

  /** A socket path no child of this run used before; removed first should it exist. */
  next(): string {
    const path = join(this.dir, `${randomBytes(LABEL_CHARS / 2).toString("hex")}.sock`);
    rmSync(path, { force: true });
    return path;
  }

  /** The socket behind an origin made by socketOrigin() for this folder, else null (TCP). */
  pathOf(origin: string | URL): string | null {
    const host = typeof origin === "string" ? hostOf(origin) : origin.hostname;
    if (host === null || !host.endsWith(HOST_SUFFIX)) return null;
    const label = host.slice(0, -HOST_SUFFIX.length);
    return LABEL.test(label) ? join(this.dir, `${label}.sock`) : null;
  }

  /** Deletes a child's socket once it exited (llama-server leaves the file behind). */
  release(path: string): void {
    if (path.startsWith(`${this.dir}/`)) rmSync(path, { force: true });
  }

  /** At shutdown, after every child was stopped. */
  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The origin requests to the child on `socketPath` carry (its Host header too). */
export function socketOrigin(socketPath: string): string {
  return `http://${basename(socketPath, ".sock")}${HOST_SUFFIX}`;
}

/**
 * undici Agent's `factory`: a pool over the socket for a socket child's origin, a plain pool
 * (TCP) for every other origin. With no folder (sockets off or unusable) everything is TCP.
 */
export function socketFactory(
  sockets: ChildSockets | null,
): (origin: string | URL, options: object) => Dispatcher {
  return (origin, options) => {
    const socketPath = sockets?.pathOf(origin) ?? null;
    return socketPath === null ? new Pool(origin, options) : new Pool(origin, { ...options, socketPath });
  };
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).hostname;
  } catch {
    return null;
  }
}
