import type { ChildSockets } from "./child-sockets.js";
import type { ChildAddress } from "./health-probe.js";
import type { Endpoint } from "./supervisor-types.js";

/**
 * Where each spawn of one child listens: a fresh socket in the gateway's folder for a `model:`
 * child (child-sockets.ts), else a free loopback port. A llama-server that could not bind its
 * socket (a build older than `.sock` hosts, or a `binary` of the user's that treats it as a
 * host name) gets a port from then on: the bind-failure retry then succeeds on TCP.
 */
export class ChildAddresses {
  readonly #sockets: ChildSockets | null;
  readonly #pickPort: () => Promise<number>;
  #socketsRefused = false;

  constructor(sockets: ChildSockets | null, pickPort: () => Promise<number>) {
    this.#sockets = sockets;
    this.#pickPort = pickPort;
  }

  async next(): Promise<ChildAddress> {
    if (this.#sockets !== null && !this.#socketsRefused) return { port: null, socket: this.#sockets.next() };
    return { port: await this.#pickPort(), socket: null };
  }

  /** The child on `address` could not bind it; true when that was a socket (TCP from now on). */
  bindFailed(address: ChildAddress): boolean {
    if (address.socket === null || this.#socketsRefused) return false;
    this.#socketsRefused = true;
    return true;
  }

  /** The child on `address` exited: llama-server leaves its socket file behind. */
  release(address: ChildAddress): void {
    if (address.socket !== null) this.#sockets?.release(address.socket);
  }
}

/** Where requests to a child on `address` go, with its key. */
export function endpointOf(address: ChildAddress, apiKey: string): Endpoint {
  const { port, socket } = address;
  return socket === null ? { port, apiKey } : { port: null, socket, apiKey };
}
