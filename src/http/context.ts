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

/** The work a request's body asks for (routes/request-work.ts), charged to its rate limits. */
export interface RequestWork {
  /** Prompt tokens plus the completion tokens it may generate. */
  readonly tokens: number;
  /** Completions it generates (prompts × n); 1 for a route that generates nothing. */
  readonly requests: number;
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
  /**
   * Aborted (with a GatewayError) when the gateway cuts the request: the shutdown drain ran
   * out. A stream then ends with that error in-band instead of a dropped connection.
   */
  readonly cut: AbortSignal;
  readonly facts: RequestFacts;
  /**
   * Runs `listener` once the response closed and the route's work settled, whichever comes
   * last (just before the access-log line): what a route learns from its last await (usage,
   * how the answer ended) is in ctx.facts by then, as it may not be when the socket closes.
   */
  readonly onDone: (listener: () => void) => void;
  /** The client's address: the socket's, or from X-Forwarded-For within server.trustProxy hops. */
  readonly clientAddress: string;
  /**
   * Who is asking and what they may use; set by the auth step before any route runs. A route
   * that resolves a model passes `ctx.access.mayUse` to knownModel: a model outside the key's
   * scope is 404 model_not_found, the very answer an unknown name gets.
   */
  access: Access;
  /**
   * Set by the rate-limit step when the caller is limited. That step runs before the body is
   * read, so it charges only what the headers tell; a route charges the rest here once it has
   * read the body (a chunked body included). Rejects with 429 when the work does not fit.
   */
  chargeWork?: (work: RequestWork) => Promise<void>;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
