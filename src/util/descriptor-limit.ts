import { readFileSync } from "node:fs";

/** Descriptors kept for everything but client connections: children's pipes, log files, Redis. */
const RESERVED = 256;
/** Bounds of the automatic cap: a tiny limit still serves someone; a huge one is not all sockets. */
const MIN_CONNECTIONS = 64;
const MAX_CONNECTIONS = 16_384;
/** When the descriptor limit cannot be read (not Linux): the gateway's former fixed default. */
export const FALLBACK_CONNECTIONS = 4096;
/** Under this many connections, the limit is worth a warning at start. */
export const LOW_CONNECTIONS = 1024;

/**
 * The soft limit on open files of this process ("Max open files" in /proc/self/limits), or null
 * where that file does not exist or says "unlimited". Node has no getrlimit; it raises its soft
 * limit to the hard one at start, so this is the limit the gateway really runs under.
 */
export function readDescriptorLimit(path = "/proc/self/limits"): number | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return null;
  }
  const line = text.split("\n").find((l) => l.startsWith("Max open files"));
  const soft = /^Max open files\s+(\d+)/.exec(line ?? "")?.[1];
  return soft === undefined ? null : Number(soft);
}

/**
 * The client connections a descriptor limit allows: each busy connection also holds one upstream
 * connection to llama-server, so two descriptors per connection after a reserve for the rest.
 */
export function connectionsAllowedBy(limit: number | null): number {
  if (limit === null) return FALLBACK_CONNECTIONS;
  return Math.max(MIN_CONNECTIONS, Math.min(MAX_CONNECTIONS, Math.floor((limit - RESERVED) / 2)));
}
