/** The caps the connection guard keeps (server.maxConnections, server.maxConnectionsPerClient). */
export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
}

/** What the table needs to know about a connection it cannot see: bytes received so far. */
export interface ConnectionProbe<C> {
  bytesRead(connection: C): number;
}

export interface Admission<C> {
  /** false: the newcomer is to be closed; every connection that could make room is busy. */
  readonly admitted: boolean;
  /** Connections to close now to make room (already out of the table). */
  readonly evicted: readonly C[];
  /** Which cap was full, when one was: for the log. */
  readonly full: "total" | "client" | null;
}

interface Entry<C> {
  readonly connection: C;
  readonly client: string;
  /** Requests in flight on it (more than one only with pipelining). */
  busy: number;
  /** bytesRead when it last became quiet: any byte since means a request is on its way. */
  readMark: number;
}

/**
 * Who holds the server's connections, and which one goes when a newcomer finds a cap full. The
 * decisions only, no sockets or timers (tested in-process with plain objects).
 *
 * A connection is *quiet* when no request is in flight on it and it has received no byte since it
 * opened or since its last response ended: a socket that never sent anything, or a keep-alive one
 * between requests. Closing a quiet connection loses no request (HTTP clients retry a request on a
 * reused connection that closes before answering), so at a cap the newcomer is admitted by
 * closing the connection that has been quiet longest: first the newcomer's own client's at the
 * per-client cap, else anyone's at the total cap. Only when none is quiet is the newcomer refused.
 * So a flood of idle sockets cannot lock anyone out: a new client always gets in, and each
 * address holds at most maxConnectionsPerClient of the total.
 */
export class ConnectionTable<C> {
  private limits: ConnectionLimits;
  private readonly probe: ConnectionProbe<C>;
  private readonly entries = new Map<C, Entry<C>>();
  /** Quiet entries, longest quiet first (a Set keeps insertion order): all, and per client. */
  private readonly quiet = new Set<Entry<C>>();
  private readonly quietOf = new Map<string, Set<Entry<C>>>();
  private readonly countOf = new Map<string, number>();

  constructor(limits: ConnectionLimits, probe: ConnectionProbe<C>) {
    this.limits = limits;
    this.probe = probe;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Open connections of one client address. */
  count(client: string): number {
    return this.countOf.get(client) ?? 0;
  }

  /** A reload's new caps; they apply from the next newcomer on (nothing is closed at once). */
  setLimits(limits: ConnectionLimits): void {
    this.limits = limits;
  }

  /** A connection was accepted: admit it, maybe by closing quiet ones, or refuse it. */
  admit(connection: C, client: string): Admission<C> {
    const evicted: C[] = [];
    let full: Admission<C>["full"] = null;
    // A lowered cap (reload) may leave more than one too many: each newcomer closes the excess.
    while (this.count(client) >= this.limits.maxConnectionsPerClient) {
      full = "client";
      const victim = this.oldestQuiet(this.quietOf.get(client));
      if (victim === null) return { admitted: false, evicted, full };
      evicted.push(victim);
    }
    while (this.entries.size >= this.limits.maxConnections) {
      full ??= "total";
      const victim = this.oldestQuiet(this.quiet);
      if (victim === null) return { admitted: false, evicted, full };
      evicted.push(victim);
    }
    const entry: Entry<C> = { connection, client, busy: 0, readMark: this.probe.bytesRead(connection) };
    this.entries.set(connection, entry);
    this.countOf.set(client, this.count(client) + 1);
    this.markQuiet(entry);
    return { admitted: true, evicted, full };
  }

  /** A request arrived on the connection. */
  requestStarted(connection: C): void {
    const entry = this.entries.get(connection);
    if (entry === undefined) return;
    entry.busy++;
    this.unmarkQuiet(entry);
  }

  /** A response on the connection ended (finished or cut); with none left in flight it is quiet. */
  requestEnded(connection: C): void {
    const entry = this.entries.get(connection);
    if (entry === undefined || entry.busy === 0) return;
    entry.busy--;
    if (entry.busy > 0) return;
    entry.readMark = this.probe.bytesRead(connection);
    this.markQuiet(entry);
  }

  /** The connection closed (or was closed): it no longer counts. */
  remove(connection: C): void {
    const entry = this.entries.get(connection);
    if (entry === undefined) return;
    this.entries.delete(connection);
    this.unmarkQuiet(entry);
    const left = this.count(entry.client) - 1;
    if (left > 0) this.countOf.set(entry.client, left);
    else this.countOf.delete(entry.client);
  }

  /**
   * Takes the longest-quiet connection of `set` out of the table. One that has received bytes
   * since it went quiet is sending a request: it leaves the quiet sets instead (its request makes
   * it busy, or Node's headersTimeout closes it), so no later search looks at it again.
   */
  private oldestQuiet(set: Set<Entry<C>> | undefined): C | null {
    if (set === undefined) return null;
    for (const entry of set) {
      if (this.probe.bytesRead(entry.connection) !== entry.readMark) {
        this.unmarkQuiet(entry);
        continue;
      }
      this.remove(entry.connection);
      return entry.connection;
    }
    return null;
  }

  private markQuiet(entry: Entry<C>): void {
    this.quiet.add(entry);
    let own = this.quietOf.get(entry.client);
    if (own === undefined) {
      own = new Set();
      this.quietOf.set(entry.client, own);
    }
    own.add(entry);
  }

  private unmarkQuiet(entry: Entry<C>): void {
    this.quiet.delete(entry);
    const own = this.quietOf.get(entry.client);
    if (own === undefined) return;
    own.delete(entry);
    if (own.size === 0) this.quietOf.delete(entry.client);
  }
}
