import type { IncomingMessage, ServerResponse } from "node:http";

/** What the access log records about one request; routes fill in what they learn. */
export interface RequestFacts {
  modelAsked: string | null;
  modelServed: string | null;
  instance: string | null;
  /** ms from request start to the first response byte from the backend. */
  ttfbMs: number | null;
  errorCode: string | null;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly requestId: string;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Aborted when the client goes away before its response finished. */
  readonly signal: AbortSignal;
  readonly facts: RequestFacts;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
