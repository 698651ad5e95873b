import type { ServerResponse } from "node:http";
import type { GatewayError } from "../errors/gateway-error.js";
import { renderError } from "../errors/render.js";

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

/** An error answer, if nothing was sent yet; otherwise the connection is cut (never a fake 200). */
export function sendError(
  res: ServerResponse,
  error: GatewayError,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const rendered = renderError(error);
  res.writeHead(rendered.status, {
    ...headers,
    ...rendered.headers,
    "content-length": Buffer.byteLength(rendered.body),
  });
  res.end(rendered.body);
}
