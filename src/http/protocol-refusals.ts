import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { Logger } from "pino";
import { GatewayError } from "../errors/gateway-error.js";
import { renderError } from "../errors/render.js";
import { errorDialectOf } from "./error-dialect.js";
import { pathOf } from "./middleware/step.js";

/**
 * Node's http server hands a CONNECT request to the server's "connect" event and, with no
 * listener, destroys the socket: the client gets no answer at all. The gateway is no proxy: it
 * answers 405 in OpenAI's shape and closes the connection (the socket belongs to no request
 * any more, so the answer is written by hand). Wire with `server.on("connect", ...)`.
 */
export function refuseConnect(log: Logger): (req: IncomingMessage, socket: Duplex) => void {
  return (req, socket) => {
    const requestId = randomUUID();
    const rendered = renderError(
      new GatewayError("method_not_allowed", "CONNECT is not supported: the gateway is not a proxy"),
    );
    const head = [
      "HTTP/1.1 405 Method Not Allowed",
      "allow: GET, POST, OPTIONS",
      "content-type: application/json",
      `content-length: ${Buffer.byteLength(rendered.body)}`,
      `x-request-id: ${requestId}`,
      "connection: close",
    ];
    if (socket.writable) socket.end(`${head.join("\r\n")}\r\n\r\n${rendered.body}`);
    else socket.destroy();
    log.info(
      { requestId, method: "CONNECT", status: 405, error: "method_not_allowed", url: req.url },
      "request",
    );
  };
}

/**
 * Node answers an `Expect` other than `100-continue` with a bare 417 unless the server listens
 * to "checkExpectation"; this answers it in the path's error shape (error-dialect.ts) and closes
 * the connection (the body, if the client sends one anyway, is not read). Wire with
 * `server.on("checkExpectation", ...)`.
 */
export function refuseExpectation(log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const requestId = randomUUID();
    const expect = String(req.headers.expect ?? "").slice(0, 64);
    const dialect = errorDialectOf(pathOf(req.url));
    const rendered = renderError(
      new GatewayError("expectation_failed", `Expect: ${expect} is not supported (only 100-continue)`),
      dialect,
      requestId,
    );
    res.writeHead(rendered.status, {
      ...rendered.headers,
      ...(dialect === "anthropic" ? { "request-id": requestId } : {}),
      "x-request-id": requestId,
      "content-length": String(Buffer.byteLength(rendered.body)),
      connection: "close",
    });
    res.end(rendered.body);
    log.info({ requestId, method: req.method, status: 417, error: "expectation_failed" }, "request");
  };
}
