import type { IncomingMessage, ServerResponse } from "node:http";
import type { ClientWatcher } from "../proxy/client-watch.js";
import type { Usage } from "../proxy/usage.js";
import type { Access } from "../security/access.js";
import type { CacheResult } from "./request-record.js";

/** What the access log records about one request; routes fill in what they learn. */
export interface RequestFacts {
  modelAsked: string | null;
  modelServed: string | null;
  instance: string | null;
  /** ms from request start to the first response byte from the backend. */
  ttfbMs: number | null;
  /** ms waiting for an instance (queue, model load). */
  queueMs: number | null;
  /** ms from sending to llama-server to the end of its answer. */
  upstreamMs: number | null;
  /** llama-server's generation speed for this answer (its timings), when it reported one. */
  tokensPerSecond: number | null;
  /** Whether the answer was streamed. */
  stream: boolean;
  errorCode: string | null;
  /** Token counts of the answer, for metrics and token rate limits; null when it had none. */
  usage: Usage | null;
  /** What the response cache did (X-Cache); null on routes without a cache. */
  cache: CacheResult | null;
  /** Where the scheduler sent it and why (X-Gateway-Route), when the model routes by conversation. */
  routing: string | null;
}

/** The facts of a request that has just arrived: nothing learned yet. */
export function emptyFacts(): RequestFacts {
  return {
    modelAsked: null,
    modelServed: null,
    instance: null,
    ttfbMs: null,
    queueMs: null,
    upstreamMs: null,
    tokensPerSecond: null,
    stream: false,
    errorCode: null,
    usage: null,
    cache: null,
    routing: null,
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
  /** A valid W3C `traceparent` the client sent, passed on to llama-server; null without one. */
  readonly traceparent: string | null;
  /** The request's path without its query string, computed once for every step and route. */
  readonly path: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /**
   * Aborted when the client goes away before its response finished. Made on first use
   * (request-state.ts): code that does not wait on anything never makes one.
   */
  readonly signal: AbortSignal;
  /** Why the request ended early (the client left), without a signal; null while it has not. */
  readonly leftWith: Error | null;
  /** Sets the one watcher told when the client leaves (a forward under way); null stops it. */
  watchClient(watcher: ClientWatcher | null): void;
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
  onDone(listener: () => void): void;
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
