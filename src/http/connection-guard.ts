import type { Server } from "node:http";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import { connectionsAllowedBy, LOW_CONNECTIONS, readDescriptorLimit } from "../util/descriptor-limit.js";
import { type ConnectionLimits, ConnectionTable } from "./connection-table.js";
import { plainAddress } from "./middleware/client-address.js";

/** At most one log line about closed connections this often: a flood must not flood the log too. */
const REPORT_EVERY_MS = 10_000;

export interface ConnectionGuard {
  /** Open client connections the guard counts. */
  readonly size: number;
  /** A reload's caps (server.maxConnections, maxConnectionsPerClient); they apply to newcomers. */
  setLimits(limits: ConnectionLimits): void;
}

export interface ConnectionGuardDeps {
  readonly limits: ConnectionLimits;
  readonly log: Logger;
  /** The process's descriptor limit, for the warning when the caps do not fit it. */
  readonly descriptorLimit?: () => number | null;
}

/** What to say at start (and reload) when the connection cap and the descriptor limit disagree. */
export function descriptorWarning(maxConnections: number, limit: number | null): string | null {
  if (limit === null) return null;
  const allowed = connectionsAllowedBy(limit);
  if (maxConnections > allowed) {
    return `server.maxConnections is ${maxConnections} but the open-file limit (${limit}) leaves room for about ${allowed}: past that, accepting connections and starting models fail with EMFILE. Raise the limit (ulimit -n, systemd LimitNOFILE) or lower maxConnections.`;
  }
  if (maxConnections === allowed && allowed < LOW_CONNECTIONS) {
    return `the open-file limit (${limit}) allows only ${allowed} client connections: raise it (ulimit -n, systemd LimitNOFILE) to serve more clients at once.`;
  }
  return null;
}

/**
 * Keeps the server's connection caps fairly (connection-table.ts decides): at a cap the
 * longest-idle connection is closed to admit a newcomer, so /health and new clients keep being
 * answered while hundreds of idle sockets are open, and one address holds at most its share.
 *
 * It replaces Node's `server.maxConnections`, which must stay unset: Node closes a newcomer at
 * that cap before any 'connection' listener sees it, which is exactly the lock-out this avoids.
 * Clients are told apart by the socket's address only: X-Forwarded-For is not known when a
 * connection opens, so behind a proxy every connection counts as the proxy's.
 */
export function guardConnections(server: Server, deps: ConnectionGuardDeps): ConnectionGuard {
  const { log } = deps;
  const descriptorLimit = deps.descriptorLimit ?? readDescriptorLimit;
  const table = new ConnectionTable<Socket>(deps.limits, { bytesRead: (socket) => socket.bytesRead });
  const tally = { evicted: 0, refused: 0, reportedAt: Number.NEGATIVE_INFINITY };

  const warnIfTight = (limits: ConnectionLimits) => {
    const warning = descriptorWarning(limits.maxConnections, descriptorLimit());
    if (warning !== null) log.warn({ maxConnections: limits.maxConnections }, warning);
  };
  warnIfTight(deps.limits);

  const report = (full: "total" | "client" | null, client: string) => {
    const now = performance.now();
    if (now - tally.reportedAt < REPORT_EVERY_MS) return;
    tally.reportedAt = now;
    log.warn(
      { evicted: tally.evicted, refused: tally.refused, full, client, open: table.size },
      "connection cap reached: idle connections closed to admit new ones, or newcomers closed when all were busy",
    );
    tally.evicted = 0;
    tally.refused = 0;
  };

  server.on("connection", (socket: Socket) => {
    const client = plainAddress(socket.remoteAddress ?? "unknown");
    const admission = table.admit(socket, client);
    for (const victim of admission.evicted) victim.destroy();
    tally.evicted += admission.evicted.length;
    if (!admission.admitted) {
      tally.refused++;
      socket.destroy();
    } else {
      socket.once("close", () => table.remove(socket));
    }
    if (admission.full !== null) report(admission.full, client);
  });
  server.on("request", (req, res) => {
    const socket = req.socket;
    table.requestStarted(socket);
    res.once("close", () => table.requestEnded(socket));
  });

  return {
    get size() {
      return table.size;
    },
    setLimits: (limits) => {
      table.setLimits(limits);
      warnIfTight(limits);
    },
  };
}
