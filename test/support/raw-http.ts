import { connect, type Socket } from "node:net";
import { waitFor } from "./deadline.js";

/** A response read off a raw socket: status, lower-case headers, body as text. */
export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** A client socket that keeps what it received, for requests no HTTP client would send. */
export interface RawConnection {
  readonly socket: Socket;
  /** Everything received so far. */
  received(): string;
  /** Whether the server closed (or reset) the connection. */
  closed(): boolean;
}

/** `localAddress`: another loopback address (127.0.0.2, ...) makes the gateway see another client. */
export async function openRaw(url: string, options: { localAddress?: string } = {}): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port), ...options });
  let text = "";
  let closed = false;
  socket.on("data", (chunk: Buffer) => {
    text += chunk.toString("latin1");
  });
  socket.on("error", () => {}); // a reset shows up as close
  socket.on("close", () => {
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  return { socket, received: () => text, closed: () => closed };
}

/** Parses the first response in `text`, or undefined while its head or body is incomplete. */
export function parseResponse(text: string): RawResponse | undefined {
  const end = text.indexOf("\r\n\r\n");
  if (end === -1) return undefined;
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const body = text.slice(end + 4);
  const length = headers["content-length"];
  if (length !== undefined && Buffer.byteLength(body, "latin1") < Number(length)) return undefined;
  return { status: Number(statusLine.split(" ")[1]), headers, body };
}

/** Waits for the connection's first complete response. */
export function responseOn(
  connection: RawConnection,
  what: string,
  timeoutMs = 10_000,
): Promise<RawResponse> {
  return waitFor(what, () => parseResponse(connection.received()), timeoutMs);
}

/** Waits until the server closed the connection. */
export function closedBy(connection: RawConnection, what: string, timeoutMs = 10_000): Promise<true> {
  return waitFor(what, () => (connection.closed() ? true : undefined), timeoutMs);
}
