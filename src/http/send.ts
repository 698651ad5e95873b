import type { ServerResponse } from "node:http";
import type { GatewayError } from "../errors/gateway-error.js";
import { type ErrorDialect, renderError } from "../errors/render.js";

export function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    ...headers,
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Starts a server-sent-event stream: 200 with headers that keep caches and buffering proxies
 * (nginx's X-Accel-Buffering) from holding events back.
 */
export function openEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
  });
}

export interface ErrorAnswer {
  /** The route's error shape (http/error-dialect.ts); OpenAI's when not given. */
  readonly dialect?: ErrorDialect;
  /** Goes into an Anthropic error body as `request_id`. */
  readonly requestId?: string;
  /** More headers for the answer (e.g. `connection: close`). */
  readonly headers?: Record<string, string>;
}

/** An error answer, if nothing was sent yet; otherwise the connection is cut (never a fake 200). */
export function sendError(res: ServerResponse, error: GatewayError, answer: ErrorAnswer = {}): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const rendered = renderError(error, answer.dialect, answer.requestId);
  res.writeHead(rendered.status, {
    ...answer.headers,
    ...rendered.headers,
    "content-length": Buffer.byteLength(rendered.body),
  });
  res.end(rendered.body);
}
