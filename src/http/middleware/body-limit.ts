import { GatewayError } from "../../errors/gateway-error.js";
import type { Step } from "./step.js";

/**
 * 413 before a byte of the body is read when Content-Length already says it is too large; a
 * chunked body is measured while it is read (read-body.ts). The connection is closed after the
 * answer, or Node would read the whole unwanted body to find the next request.
 */
export function bodyLimit(limitBytes: number): Step {
  return (ctx) => {
    const declared = Number(ctx.req.headers["content-length"]);
    if (!Number.isFinite(declared) || declared <= limitBytes) return;
    ctx.res.setHeader("connection", "close");
    throw new GatewayError("body_too_large", `request body is larger than the limit of ${limitBytes} bytes`);
  };
}
