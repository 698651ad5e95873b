import type { IncomingMessage } from "node:http";
import type { CorsConfig } from "../../config/security-types.js";
import { GatewayError } from "../../errors/gateway-error.js";
import { anyGlob } from "../../util/glob.js";
import { isAdminPath, isDashboardPath, type Step } from "./step.js";

function isPreflight(req: IncomingMessage): boolean {
  return req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
}

/** A page served by the gateway itself (a future dashboard) is same-origin: Origin names our Host. */
function isSameOrigin(origin: string, host: string | undefined): boolean {
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/**
 * Cross-origin access for browsers. Preflights are answered here, before auth: browsers send
 * them without credentials. A request from an origin that is neither ours nor allowed is
 * refused with 403 rather than merely left without CORS headers: a "simple" POST is sent
 * without a preflight, and a page must not be able to spend the GPU even if it cannot read the
 * answer. Admin routes are never CORS-enabled, whatever the configuration.
 */
export function cors(config: CorsConfig): Step {
  const wildcard = config.origins.includes("*");
  const allowsOrigin = anyGlob(
    config.origins.filter((origin) => origin !== "*"),
    "/",
  );
  const anyHeader = config.headers.includes("*");
  const fixed: Record<string, string> = {};
  if (config.credentials) fixed["access-control-allow-credentials"] = "true";
  const expose = config.exposeHeaders.join(", ");

  return (ctx) => {
    const { req, res } = ctx;
    const origin = req.headers.origin;
    if (origin === undefined) return;
    const admin = isAdminPath(ctx.path) || isDashboardPath(ctx.path);
    const allowed = !admin && (wildcard || allowsOrigin(origin));
    if (!allowed && !(isSameOrigin(origin, req.headers.host) && !isPreflight(req))) {
      throw new GatewayError(
        "forbidden",
        admin
          ? "admin and dashboard routes are not available to cross-origin requests"
          : "this origin is not allowed: add it to cors.origins",
      );
    }
    if (!allowed) return; // same-origin: no CORS headers needed
    res.setHeader("vary", "Origin");
    res.setHeader("access-control-allow-origin", wildcard && !config.credentials ? "*" : origin);
    for (const [name, value] of Object.entries(fixed)) res.setHeader(name, value);
    if (!isPreflight(req)) {
      if (expose !== "") res.setHeader("access-control-expose-headers", expose);
      return;
    }
    const asked = req.headers["access-control-request-headers"];
    res.writeHead(204, {
      "access-control-allow-methods": config.methods.join(", "),
      "access-control-allow-headers": anyHeader ? (asked ?? "") : config.headers.join(", "),
      "access-control-max-age": String(config.maxAgeSeconds),
      "content-length": "0",
    });
    res.end();
    return "answered";
  };
}
