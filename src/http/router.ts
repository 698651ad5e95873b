import { GatewayError } from "../errors/gateway-error.js";
import type { Handler } from "./context.js";

export interface Route {
  readonly method: "GET" | "POST";
  readonly path: string;
  readonly handler: Handler;
}

/**
 * Exact-path routing: the OpenAI surface is a fixed set of paths, so a Map lookup is all it
 * takes (no regex walk on the hot path). A known path with the wrong method is a 405.
 */
export class Router {
  readonly #routes = new Map<string, Map<string, Handler>>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      let byMethod = this.#routes.get(route.path);
      if (byMethod === undefined) {
        byMethod = new Map();
        this.#routes.set(route.path, byMethod);
      }
      if (byMethod.has(route.method)) throw new Error(`duplicate route ${route.method} ${route.path}`);
      byMethod.set(route.method, route.handler);
    }
  }

  match(method: string, path: string): Handler {
    const byMethod = this.#routes.get(path);
    if (byMethod === undefined) throw new GatewayError("not_found", `no route for ${method} ${path}`);
    const handler = byMethod.get(method);
    if (handler === undefined) {
      throw new GatewayError(
        "method_not_allowed",
        `${path} accepts ${[...byMethod.keys()].join(", ")}, not ${method}`,
      );
    }
    return handler;
  }

  /** Every route, for tests that check each one (e.g. that admin routes are guarded). */
  list(): Array<{ method: string; path: string }> {
    const out: Array<{ method: string; path: string }> = [];
    for (const [path, byMethod] of this.#routes)
      for (const method of byMethod.keys()) out.push({ method, path });
    return out;
  }
}
