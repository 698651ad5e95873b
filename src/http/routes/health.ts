import { GatewayError } from "../../errors/gateway-error.js";
import type { Handler } from "../context.js";
import { sendJson } from "../send.js";

/** GET /health: the gateway's own health (not any model's); 503 while draining for shutdown. */
export function healthHandler(isDraining: () => boolean): Handler {
  return async (ctx) => {
    if (isDraining()) throw new GatewayError("shutting_down", "the gateway is shutting down");
    sendJson(ctx.res, 200, { status: "ok" });
  };
}
