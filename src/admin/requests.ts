import { GatewayError } from "../errors/gateway-error.js";
import { type RequestHistory, statusMatcher } from "../history/request-history.js";
import type { Handler } from "../http/context.js";
import { sendJson } from "../http/send.js";

/**
 * GET /admin/requests?model=&status=&limit=&before=: recent requests, newest first, from the
 * history ring (history.size). `status` is a class (`2xx`, `4xx`, `5xx`) or an exact code
 * (`499`: the client left); `before` pages to older ones by request id.
 */
export function requestsHandler(history: RequestHistory | null): Handler {
  return async (ctx) => {
    const query = new URLSearchParams(ctx.req.url?.split("?")[1] ?? "");
    const status = query.get("status") ?? undefined;
    if (status !== undefined && statusMatcher(status) === null) {
      throw new GatewayError(
        "invalid_request",
        `status must be a class like 4xx or a code like 404, not '${status}'`,
        {
          param: "status",
        },
      );
    }
    const rawLimit = query.get("limit");
    const limit = rawLimit === null ? undefined : Number(rawLimit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
      throw new GatewayError("invalid_request", "limit must be a positive integer", { param: "limit" });
    }
    const requests =
      history === null
        ? []
        : history.query({
            model: query.get("model") ?? undefined,
            status,
            limit,
            before: query.get("before") ?? undefined,
          });
    sendJson(ctx.res, 200, { requests, kept: history?.capacity ?? 0 });
  };
}
