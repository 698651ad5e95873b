import { randomUUID } from "node:crypto";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { GatewayError } from "../../errors/gateway-error.js";
import { renderError } from "../../errors/render.js";

/** Node's parser and timeout errors, mapped onto the error table. */
function errorFor(code: string | undefined): GatewayError {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return new GatewayError("request_timeout", "the request headers or body did not arrive in time");
    case "HPE_HEADER_OVERFLOW":
      return new GatewayError(
        "headers_too_large",
        "the request headers are larger than the limit (server.maxHeaderSize)",
      );
    default:
      return new GatewayError("invalid_request", "malformed HTTP request");
  }
}

/** The part of Node's socket that says whether a response is already on its way. */
interface HttpSocket extends Duplex {
  readonly _httpMessage?: { readonly headersSent: boolean } | null;
  readonly remoteAddress?: string;
}

/**
 * Node calls this for what never becomes a request: a head over server.maxHeaderSize (431),
 * headers or body too slow (408: slowloris), garbage. Node's own answer is a bare status line;
 * this one is the OpenAI-shaped body with a request id, and one access-log line, like any
 * other failure. As in Node's default, nothing is written once a response has started on the
 * socket (that would corrupt it), and the socket is destroyed: a slow client gets no more time.
 */
export function clientErrorHandler(log: Logger): (error: NodeJS.ErrnoException, socket: Duplex) => void {
  return (error, raw) => {
    const socket = raw as HttpSocket;
    if (error.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const failure = errorFor(error.code);
    const requestId = randomUUID();
    if (socket._httpMessage?.headersSent !== true) {
      const rendered = renderError(failure);
      const head = [
        `HTTP/1.1 ${rendered.status} ${statusText(rendered.status)}`,
        "content-type: application/json",
        `content-length: ${Buffer.byteLength(rendered.body)}`,
        `x-request-id: ${requestId}`,
        "connection: close",
      ];
      socket.write(`${head.join("\r\n")}\r\n\r\n${rendered.body}`);
    }
    log.info(
      { requestId, status: failure.status, error: failure.code, client: socket.remoteAddress ?? null },
      "request",
    );
    socket.destroy();
  };
}

function statusText(status: number): string {
  return status === 408
    ? "Request Timeout"
    : status === 431
      ? "Request Header Fields Too Large"
      : "Bad Request";
}
