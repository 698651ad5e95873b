import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

/** IPv4 clients of a dual-stack socket show up as ::ffff:a.b.c.d; buckets and logs want a.b.c.d. */
export function plainAddress(address: string): string {
  return address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * The client's address. With `trustProxy` = N hops, the proxies closest to us each appended
 * the address they saw to X-Forwarded-For, so the client is N entries from the right of
 * [X-Forwarded-For…, socket address]; entries further left were written by the client itself
 * and are never believed. With 0 the header is ignored, so a spoofed one picks no other bucket.
 */
export function clientAddressOf(req: IncomingMessage, trustProxy: number): string {
  const socket = plainAddress(req.socket.remoteAddress ?? "unknown");
  if (trustProxy === 0) return socket;
  const header = req.headers["x-forwarded-for"];
  const listed = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
  const chain = [...listed, socket];
  const candidate = chain[Math.max(0, chain.length - 1 - trustProxy)] ?? socket;
  return isIP(candidate) === 0 ? socket : plainAddress(candidate);
}
