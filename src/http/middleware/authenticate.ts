import type { RateLimits } from "../../config/security-types.js";
import { GatewayError } from "../../errors/gateway-error.js";
import { type Access, keyAccess, openAccess, publicAccess } from "../../security/access.js";
import type { KeyEntry, KeyTable } from "../../security/key-table.js";
import { presentedKey } from "../../security/presented-key.js";
import { isAdminPath, isDashboardPath, type Step } from "./step.js";

export interface AuthenticateDeps {
  readonly keys: KeyTable;
  /** Limits of callers without a key (per client address). */
  readonly defaults: RateLimits;
  readonly publicMetrics: boolean;
  /** dashboard.public: the dashboard's data API answers without a key (read-only). */
  readonly publicDashboard?: boolean;
}

export type Requirement = "public" | "key" | "admin";

/**
 * What a path needs; by path, so a route added under /admin later is guarded without a change
 * here. The dashboard's page and assets hold no data and are public; its data API
 * (/dashboard/api/...) needs an admin key unless dashboard.public, except its config call,
 * which tells the page whether to ask for a key.
 */
export function requirementOf(path: string, publicMetrics: boolean, publicDashboard = false): Requirement {
  if (isAdminPath(path)) return "admin";
  if (path === "/health" || (publicMetrics && path === "/metrics")) return "public";
  if (isDashboardPath(path)) {
    if (!path.startsWith("/dashboard/api/") || path === DASHBOARD_CONFIG) return "public";
    return publicDashboard ? "public" : "admin";
  }
  return "key";
}

const DASHBOARD_CONFIG = "/dashboard/api/config";

/** One message for a missing, malformed and wrong key: the answer must not tell them apart. */
const UNAUTHORIZED =
  "Incorrect or missing API key. Send it as 'Authorization: Bearer KEY' or 'x-api-key: KEY'.";

/**
 * Decides `ctx.access`. With no keys configured at all the gateway is open (serve warns when that
 * faces the network); otherwise every route but /health (and /metrics if public) needs a key,
 * /admin/* an admin key, and a key with a route scope only its routes.
 */
export function authenticate(deps: AuthenticateDeps): Step {
  const open = openAccess(deps.defaults);
  const anonymous = publicAccess(deps.defaults);
  const byKey = new Map<KeyEntry, Access>();
  const accessOf = (entry: KeyEntry): Access => {
    let access = byKey.get(entry);
    if (access === undefined) {
      access = keyAccess(entry);
      byKey.set(entry, access);
    }
    return access;
  };

  return (ctx) => {
    const path = ctx.path;
    const needs = requirementOf(path, deps.publicMetrics, deps.publicDashboard);
    if (needs === "public") {
      ctx.access = anonymous;
      return;
    }
    if (deps.keys.isEmpty) {
      ctx.access = open;
      return;
    }
    const entry = deps.keys.identify(presentedKey(ctx.req.headers));
    if (entry === null) {
      ctx.res.setHeader("www-authenticate", 'Bearer realm="llamawrapper"');
      throw new GatewayError("invalid_api_key", UNAUTHORIZED);
    }
    ctx.access = accessOf(entry);
    if (needs === "admin" && entry.kind !== "admin") {
      throw new GatewayError("forbidden", "this route needs an admin key");
    }
    if (!entry.allowsRoute(path)) {
      throw new GatewayError("forbidden", "this API key may not use this route");
    }
  };
}
