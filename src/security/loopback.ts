import { isIP } from "node:net";

/**
 * Whether a host name or address stays on this machine: `localhost` and `*.localhost`
 * (RFC 6761 reserves them for loopback), 127.0.0.0/8, ::1 and IPv4-mapped 127.x.
 */
export function isLoopbackHost(host: string): boolean {
  const name = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1")
    .replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  const version = isIP(name);
  if (version === 4) return name.startsWith("127.");
  if (version === 6) return name === "::1" || name === "0:0:0:0:0:0:0:1" || name.startsWith("::ffff:127.");
  return false;
}

/** Whether listening on `host` keeps the gateway off the network. */
export function isLoopbackBind(host: string): boolean {
  return isLoopbackHost(host);
}
