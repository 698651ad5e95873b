import { GatewayError } from "../errors/gateway-error.js";
import type { Handler, RequestContext } from "./context.js";

type Method = "GET" | "POST";

/** A handler that also gets what follows its route's prefix (e.g. the id in /v1/models/{id}). */
export type PrefixHandler = (ctx: RequestContext, rest: string) => Promise<void>;

export type Route =
  | { readonly method: Method; readonly path: string; readonly handler: Handler }
  | {
      readonly method: Method;
      readonly prefix: string;
      /** The route as logs and metrics name it, e.g. `/v1/models/{id}`: never the raw path. */
      readonly pattern: string;
      readonly handler: PrefixHandler;
    };

/** A matched route: its handler and the pattern it is known by (its path, or a prefix route's pattern). */
export interface Match {
  readonly handler: Handler;
  readonly pattern: string;
}

interface PrefixEntry {
  readonly pattern: string;
  readonly handler: PrefixHandler;
}

/**
 * Exact-path routing first: the OpenAI surface is a fixed set of paths, so a Map lookup is all
 * the hot path takes. Only a miss tries the few prefix routes, whose remainder is a parameter
 * that may itself contain `/` (model ids like `org/model`). A known path with the wrong method
 * is a 405.
 */
export class Router {
  readonly #routes = new Map<string, Map<string, Match>>();
  readonly #prefixes = new Map<string, Map<string, PrefixEntry>>();

  constructor(routes: readonly Route[]) {
    for (const route of routes) {
      if ("prefix" in route)
        add(this.#prefixes, route.prefix, route.method, { pattern: route.pattern, handler: route.handler });
      else add(this.#routes, route.path, route.method, { pattern: route.path, handler: route.handler });
    }
  }

  /**
   * The handler for a path. Clients configured with a base URL without `/v1` (llama-server
   * accepts `/chat/completions` too) and paths with a trailing slash find the same route: on a
   * miss, the path without its trailing slash, then with `/v1` in front, are tried.
   */
  match(method: string, path: string): Match {
    const found = this.#find(method, path);
    if (found !== null) return found;
    const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    const alternative =
      (trimmed !== path ? this.#find(method, trimmed) : null) ??
      (trimmed.startsWith("/v1/") ? null : this.#find(method, `/v1${trimmed}`));
    if (alternative !== null) return alternative;
    throw new GatewayError("not_found", `no route for ${method} ${path}`);
  }

  /**
   * The pattern of the route a path would match, whatever the method, without running or
   * refusing anything: a request refused before routing (401, 429) is still counted under it.
   */
  patternOf(path: string): string | null {
    const found = this.#patternAt(path);
    if (found !== null) return found;
    const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    return (
      (trimmed !== path ? this.#patternAt(trimmed) : null) ??
      (trimmed.startsWith("/v1/") ? null : this.#patternAt(`/v1${trimmed}`))
    );
  }

  #patternAt(path: string): string | null {
    const exact = this.#routes.get(path);
    if (exact !== undefined) return exact.values().next().value?.pattern ?? null;
    for (const [prefix, byMethod] of this.#prefixes) {
      if (path.length > prefix.length && path.startsWith(prefix))
        return byMethod.values().next().value?.pattern ?? null;
    }
    return null;
  }

  #find(method: string, path: string): Match | null {
    const exact = this.#routes.get(path);
    if (exact !== undefined) return pick(exact, method, path);
    for (const [prefix, byMethod] of this.#prefixes) {
      if (path.length > prefix.length && path.startsWith(prefix)) {
        const entry = pick(byMethod, method, path);
        const rest = path.slice(prefix.length);
        return { pattern: entry.pattern, handler: (ctx) => entry.handler(ctx, rest) };
      }
    }
    return null;
  }

  /** Every route, for tests that check each one (e.g. that admin routes are guarded). */
  list(): Array<{ method: string; path: string }> {
    const out: Array<{ method: string; path: string }> = [];
    for (const [path, byMethod] of this.#routes)
      for (const method of byMethod.keys()) out.push({ method, path });
    for (const byMethod of this.#prefixes.values())
      for (const [method, entry] of byMethod) out.push({ method, path: entry.pattern });
    return out;
  }
}

function add<H>(table: Map<string, Map<string, H>>, key: string, method: string, handler: H): void {
  let byMethod = table.get(key);
  if (byMethod === undefined) {
    byMethod = new Map();
    table.set(key, byMethod);
  }
  if (byMethod.has(method)) throw new Error(`duplicate route ${method} ${key}`);
  byMethod.set(method, handler);
}

function pick<H>(byMethod: Map<string, H>, method: string, path: string): H {
  const handler = byMethod.get(method);
  if (handler === undefined) {
    throw new GatewayError(
      "method_not_allowed",
      `${path} accepts ${[...byMethod.keys()].join(", ")}, not ${method}`,
    );
  }
  return handler;
}
