import type { RequestContext } from "../context.js";

/**
 * One stage of the request pipeline (see pipeline.ts for the order). It rejects by throwing a
 * GatewayError, rendered by handle-request.ts; it returns "answered" when it sent the whole
 * response itself (a CORS preflight), and nothing otherwise.
 */
export type Step = (ctx: RequestContext) => StepOutcome | Promise<StepOutcome>;

// biome-ignore lint/suspicious/noConfusingVoidType: a step that returns nothing passes the request on.
type StepOutcome = void | "answered";

/**
 * Every path under /admin, and the /upstream/{model}/... passthrough (llama-server's own
 * endpoints, slots and props included), is an admin route, whatever routes exist: the guard is
 * by path, so a route added there later is guarded without a change here.
 */
export function isAdminPath(path: string): boolean {
  return path === "/admin" || path.startsWith("/admin/") || path.startsWith("/upstream/");
}

/** The dashboard's page, assets and data API (/dashboard/api/...): same-origin only, never rate limited. */
export function isDashboardPath(path: string): boolean {
  return path === "/dashboard" || path.startsWith("/dashboard/");
}

export function pathOf(url: string | undefined): string {
  const raw = url ?? "/";
  const query = raw.indexOf("?");
  return query === -1 ? raw : raw.slice(0, query);
}
