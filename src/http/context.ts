import type { IncomingMessage, ServerResponse } from "node:http";
import type { Usage } from "../proxy/usage.js";
import type { Access } from "../security/access.js";

/** What the access log records about one request; routes fill in what they learn. */
export interface RequestFacts {
  modelAsked: string | null;
  modelServed: string | null;
  instance: string | null;
  /** ms from request start to the first response byte from the backend. */
  ttfbMs: number | null;
  errorCode: string | null;
  /** Token counts of the answer, for metrics and token rate limits; null when it had none. */
  usage: Usage | null;
  /** Whether the answer came from the response cache; null where no cache was asked. */
  cacheHit: boolean | null;
}

/** The facts of a request that has just arrived: nothing learned yet. */
export function emptyFacts(): RequestFacts {
  return {
    modelAsked: null,
    modelServed: null,
    instance: null,
    ttfbMs: null,
    errorCode: null,
    usage: null,
    cacheHit: null,
  };
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** The request's path without its query string, computed once for every step and route. */
  readonly path: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Aborted when the client goes away before its response finished. */
  readonly signal: AbortSignal;
  readonly facts: RequestFacts;
  /** The client's address: the socket's, or from X-Forwarded-For within server.trustProxy hops. */
  readonly clientAddress: string;
  /**
   * Who is asking and what they may use; set by the auth step before any route runs. A route
   * that resolves a model calls `ctx.access.requireModel(model)` (403 outside the key's scope).
   */
  access: Access;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
